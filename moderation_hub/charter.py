"""Reading the released charter's clause ids (charter/releases.toml and its release files).

The hub only needs which clause ids each released version has; it reads the TOML itself and never
imports the desktop application.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class CharterFileError(Exception):
    """The charter directory cannot be read; one sentence naming the file."""


def read_released_clauses(directory: Path) -> dict[str, set[str]]:
    """{version: clause ids} for every release listed in DIRECTORY/releases.toml."""
    releases = _toml(directory / "releases.toml")
    entries = releases.get("release")
    if not isinstance(entries, list) or not entries:
        raise CharterFileError(f"{directory / 'releases.toml'} lists no [[release]]")
    versions: dict[str, set[str]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
            raise CharterFileError(f"{directory / 'releases.toml'}: a release has no version")
        if not isinstance(entry.get("file"), str):
            raise CharterFileError(
                f"{directory / 'releases.toml'}: release {entry['version']} names no file"
            )
        path = directory / entry["file"]
        clauses = _toml(path).get("clause")
        if not isinstance(clauses, list):
            raise CharterFileError(f"{path} has no [[clause]]")
        ids = {c.get("id") for c in clauses if isinstance(c, dict)}
        if not ids or not all(isinstance(i, str) for i in ids):
            raise CharterFileError(f"{path}: every [[clause]] needs an id")
        versions[entry["version"]] = {str(i) for i in ids}
    return versions


def _toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise CharterFileError(f"cannot read {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CharterFileError(f"{path} is not valid TOML: {error}") from None
