"""Revisions, oldest first; add a new revision on top of the head, never edit an existing one."""
