"""The whole: the command line, systemd, crashes, the layers, the docs."""
