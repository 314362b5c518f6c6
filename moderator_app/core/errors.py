"""Errors a user can act on, kept apart from bugs.

Anything raised as a `UserError` reaches the user as one sentence (CLI: one line on stderr and exit
code 1; GUI: a message box). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A failure the user can act on: bad input, offline hub, locked or corrupt database, ..."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
