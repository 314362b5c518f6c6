"""The moderation hub: holds the queue, enforces claims, records decisions exactly once."""

__version__ = "0.1.0"
