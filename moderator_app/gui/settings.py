"""Window state that persists: geometry, splitters, filters; one file per data directory.

QSettings with an explicit INI file inside the account's home (not the user-wide registry), so two
accounts opened with different `--home` never share or overwrite each other's state. Secrets never
go here (they live in the keyring).
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from moderator_app.gui.queue_model import QueueFilters

SETTINGS_FILE_NAME = "workbench.ini"


def settings_path(home: Path) -> Path:
    return home / SETTINGS_FILE_NAME


def _make_private(path: Path) -> None:
    """Owner-only, like everything else in the home. QSettings rewrites the file through a
    temporary one that takes the existing file's mode, so the file is created 0600 first (and a
    0644 one left by an older version is tightened)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
    except OSError:
        pass  # an unwritable home: QSettings keeps the state in memory, nothing is lost here


class WorkbenchSettings:
    """Typed access to the INI file; unreadable or hostile values fall back to defaults."""

    def __init__(self, home: Path) -> None:
        self.path = settings_path(home)
        _make_private(self.path)
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self._settings.sync()

    def save_bytes(self, key: str, value: QByteArray) -> None:
        self._settings.setValue(key, value)

    def load_bytes(self, key: str) -> QByteArray | None:
        value = self._settings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_filters(self, filters: QueueFilters) -> None:
        self._settings.beginGroup("filters")
        for name, value in asdict(filters).items():
            if name == "search":
                continue  # a search is a moment's question, not a preference
            self._settings.setValue(name, value)
        self._settings.endGroup()

    def load_filters(self) -> QueueFilters:
        defaults = QueueFilters()
        values: dict[str, object] = {}
        self._settings.beginGroup("filters")
        try:
            for field in fields(QueueFilters):
                if field.name == "search" or not self._settings.contains(field.name):
                    continue
                raw = self._settings.value(field.name)
                default = getattr(defaults, field.name)
                if isinstance(default, bool):
                    values[field.name] = str(raw).lower() in ("true", "1")
                elif isinstance(raw, str) and len(raw) <= 200:
                    values[field.name] = raw
        finally:
            self._settings.endGroup()
        return QueueFilters(**values)  # type: ignore[arg-type]

    def value(self, key: str, default: str = "") -> str:
        raw = self._settings.value(key, default)
        return raw if isinstance(raw, str) else default

    def set_value(self, key: str, value: str) -> None:
        self._settings.setValue(key, value)
