"""The hub's core, folder by folder as in hub/: fast, in one process, no network."""
