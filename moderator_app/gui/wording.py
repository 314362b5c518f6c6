"""Counts in the window's English: "1 mail", "2 mails"."""

from __future__ import annotations


def count_of(count: int, noun: str, plural: str | None = None) -> str:
    """The count and the noun, singular for exactly one."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
