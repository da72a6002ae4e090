"""The config file: its model, its errors in words, and where it lives."""
