"""massage-hub: the core that drives the room (no Flask, no paho in here)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
