"""Apple Home: a real HomeKit controller (aiohomekit)."""
