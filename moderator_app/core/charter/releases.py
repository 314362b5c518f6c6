"""Released charter versions: frozen copies plus a record of their content hashes.

A decision cites a clause id and a charter version. `charter/releases/<version>.toml` keeps each
released charter exactly as published, so a decision citing a clause removed since then still shows
its text; `charter/releases.toml` records each version's content hashes, so `charter check` notices
texts edited without a new version. Hashes cover the parsed content (comments and layout do not
count), one per clause plus one for everything else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moderator_app.core.charter.loader import (
    CHARTER_FILE,
    CharterError,
    build_charter,
    load_charter,
    read_charter_data,
)
from moderator_app.core.charter.model import Charter, Problem
from moderator_app.core.errors import UserError

RELEASES_FILE = "releases.toml"
RELEASES_DIR = "releases"
HEADER_HASH_KEY = "(header)"

_VERSION_PARTS = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-(.+))?$")


@dataclass(frozen=True)
class Release:
    """One published charter version, as recorded in releases.toml."""

    version: str
    released: dt.date
    file: str  # the frozen copy, relative to the charter directory
    content_hash: str
    clause_hashes: Mapping[str, str]  # clause id -> hash, plus HEADER_HASH_KEY


def _digest(value: object) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def content_hashes(data: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(hash of the whole content, hash per clause id and of the header) for parsed TOML."""
    header = {key: value for key, value in data.items() if key not in ("clause", "version")}
    parts = {HEADER_HASH_KEY: _digest(header)}
    clauses = data.get("clause")
    for position, clause in enumerate(clauses if isinstance(clauses, list) else [], start=1):
        clause_id = clause.get("id") if isinstance(clause, dict) else None
        key = clause_id if isinstance(clause_id, str) else f"#{position}"
        if key in parts:  # a duplicate id (reported by the loader) must not hide a clause
            key = f"{key}#{position}"
        parts[key] = _digest(clause)
    return _digest(parts), parts


def version_key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key following semver precedence (a pre-release sorts before its release)."""
    match = _VERSION_PARTS.match(version)
    if match is None:
        return (0, 0, 0, 0, version)
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


def read_releases(charter_dir: Path) -> list[Release]:
    """The recorded releases, oldest first; [] when none were recorded yet."""
    file = charter_dir / RELEASES_FILE
    if not file.exists():
        return []
    data = read_charter_data(file)
    entries = data.get("release", [])
    releases: list[Release] = []
    problems: list[Problem] = []
    for position, entry in enumerate(entries if isinstance(entries, list) else [None], start=1):
        try:
            releases.append(_release_from(entry))
        except (KeyError, TypeError, ValueError):
            problems.append(Problem(file, f"release #{position} is malformed"))
    if problems:
        raise CharterError(problems)
    return sorted(releases, key=lambda release: version_key(release.version))


def _release_from(entry: object) -> Release:
    if not isinstance(entry, dict):
        raise TypeError("not a table")
    hashes = entry["clause_hashes"]
    fields = (entry["version"], entry["file"], entry["content_hash"])
    if not all(isinstance(value, str) for value in fields) or not isinstance(hashes, dict):
        raise TypeError("wrong types")
    if not all(isinstance(value, str) for value in hashes.values()):
        raise TypeError("wrong hash types")
    released = entry["released"]
    if not isinstance(released, dt.date):
        raise TypeError("released is not a date")
    return Release(entry["version"], released, entry["file"], entry["content_hash"], hashes)


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _write_releases(charter_dir: Path, releases: list[Release]) -> None:
    lines = [
        "# Released versions of charter.toml, written by `moderator-app charter release`.",
        "# Do not edit: `moderator-app charter check` compares charter.toml with these hashes.",
    ]
    for release in releases:
        lines += [
            "",
            "[[release]]",
            f"version = {_toml_string(release.version)}",
            f"released = {release.released.isoformat()}",
            f"file = {_toml_string(release.file)}",
            f"content_hash = {_toml_string(release.content_hash)}",
            "[release.clause_hashes]",
        ]
        lines += [
            f"{_toml_string(key)} = {_toml_string(value)}"
            for key, value in release.clause_hashes.items()
        ]
    target = charter_dir / RELEASES_FILE
    temporary = target.with_suffix(".toml.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(target)


def record_release(charter_dir: Path, today: dt.date) -> Release:
    """Freeze the current charter.toml as a released version (refused if that version exists)."""
    charter = load_charter(charter_dir)
    releases = read_releases(charter_dir)
    if any(release.version == charter.version for release in releases):
        raise UserError(
            f"Charter version {charter.version} is already released; raise 'version' first."
        )
    newest = releases[-1].version if releases else None
    if newest is not None and version_key(charter.version) <= version_key(newest):
        raise UserError(
            f"Charter version {charter.version} must be newer than the last release {newest}."
        )
    return freeze_release(charter_dir, charter.version, today)


def freeze_release(charter_dir: Path, version: str, today: dt.date) -> Release:
    """Copy charter.toml to releases/<version>.toml and record its hashes (no other checks)."""
    source = charter_dir / CHARTER_FILE
    total, parts = content_hashes(read_charter_data(source))
    releases = [r for r in read_releases(charter_dir) if r.version != version]
    relative = f"{RELEASES_DIR}/{version}.toml"
    (charter_dir / RELEASES_DIR).mkdir(exist_ok=True)
    shutil.copyfile(source, charter_dir / relative)
    release = Release(version, today, relative, total, parts)
    _write_releases(charter_dir, [*releases, release])
    return release


def load_charter_version(charter_dir: Path, version: str) -> Charter:
    """The charter as released under `version` (or the current one if it has that version).

    Decisions keep the version they cited, so their clause text stays available after a clause is
    reworded or removed. Raises UserError when the version is unknown or its copy was altered.
    """
    for release in read_releases(charter_dir):
        if release.version != version:
            continue
        copy = charter_dir / release.file
        data = read_charter_data(copy)
        if content_hashes(data)[0] != release.content_hash:
            raise UserError(f"{copy} was modified after charter {version} was released.")
        charter, problems = build_charter(data, copy)
        if problems:
            raise CharterError(problems)
        return charter
    current = load_charter(charter_dir)
    if current.version == version:
        return current
    raise UserError(f"Charter version {version} is not recorded in {charter_dir / RELEASES_FILE}.")


def release_problems(charter_dir: Path, data: Mapping[str, Any]) -> list[Problem]:
    """Problems between charter.toml (parsed `data`) and the releases record."""
    record = charter_dir / RELEASES_FILE
    charter_path = charter_dir / CHARTER_FILE
    try:
        releases = read_releases(charter_dir)
    except CharterError as error:
        return error.problems
    problems: list[Problem] = []
    for release in releases:
        copy = charter_dir / release.file
        try:
            copy_data = read_charter_data(copy)
        except CharterError:
            problems.append(Problem(record, f"released copy of {release.version} is unreadable"))
            continue
        if content_hashes(copy_data)[0] != release.content_hash:
            problems.append(Problem(copy, f"modified after version {release.version} was released"))
    version = data.get("version")
    if not isinstance(version, str):
        return problems  # reported by the loader
    released = {release.version: release for release in releases}
    if version in released:
        problems += _changed_without_new_version(charter_path, data, released[version])
    elif releases and version_key(version) < version_key(releases[-1].version):
        newest = releases[-1].version
        problems.append(Problem(charter_path, f"version {version} is older than release {newest}"))
    else:
        problems.append(
            Problem(
                charter_path,
                f"version {version} is not released: run 'moderator-app charter release'",
            )
        )
    return problems


def _changed_without_new_version(
    charter_path: Path, data: Mapping[str, Any], release: Release
) -> list[Problem]:
    total, parts = content_hashes(data)
    if total == release.content_hash:
        return []
    problems: list[Problem] = []
    if parts.get(HEADER_HASH_KEY) != release.clause_hashes.get(HEADER_HASH_KEY):
        problems.append(
            Problem(
                charter_path,
                f"header changed since release {release.version} without a new charter version",
            )
        )
    for clause_id, digest in parts.items():
        if clause_id == HEADER_HASH_KEY:
            continue
        old = release.clause_hashes.get(clause_id)
        if old is None:
            message = f"added since release {release.version} without a new charter version"
        elif old != digest:
            message = f"changed since release {release.version} without a new charter version"
        else:
            continue
        problems.append(Problem(charter_path, message, clause_id))
    for clause_id in release.clause_hashes:
        if clause_id != HEADER_HASH_KEY and clause_id not in parts:
            message = f"removed since release {release.version} without a new charter version"
            problems.append(Problem(charter_path, message, clause_id))
    if not problems:  # e.g. clauses reordered
        problems.append(
            Problem(
                charter_path,
                f"content changed since release {release.version} without a new charter version",
            )
        )
    return problems
