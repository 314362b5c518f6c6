"""Moderator Workbench: the desktop client moderators triage proposals in."""

__version__ = "0.1.0"
