"""The window's state file: owner-only like the rest of the data directory."""

from __future__ import annotations

import stat
from pathlib import Path

from PySide6.QtCore import QByteArray

from moderator_app.gui.queue_model import QueueFilters
from moderator_app.gui.settings import WorkbenchSettings, settings_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_file_is_created_and_rewritten_owner_only(tmp_path: Path) -> None:
    settings = WorkbenchSettings(tmp_path)
    settings.save_bytes("window/geometry", QByteArray(b"\x01\x02"))
    settings.save_filters(QueueFilters(status="all"))
    settings.sync()
    path = settings_path(tmp_path)
    assert mode(path) == 0o600
    settings.save_filters(QueueFilters(status="refused"))
    settings.sync()  # rewritten through a temporary file
    assert mode(path) == 0o600
    assert WorkbenchSettings(tmp_path).load_filters().status == "refused"


def test_a_readable_state_file_from_an_older_version_is_tightened(tmp_path: Path) -> None:
    path = settings_path(tmp_path)
    path.write_text("[filters]\nstatus=all\n")
    path.chmod(0o644)
    settings = WorkbenchSettings(tmp_path)
    assert mode(path) == 0o600
    assert settings.load_filters().status == "all"
