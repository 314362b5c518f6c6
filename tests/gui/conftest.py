"""GUI tests run headless unless told otherwise (QT_QPA_PLATFORM=offscreen)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moderator_app.core.database import Database, cache_path, open_database
from moderator_app.core.models import Claim, Proposal

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def make_proposal(number: int, **overrides: object) -> Proposal:
    values: dict[str, object] = {
        "id": number,
        "external_id": f"ext-{number}",
        "question": "insertion",
        "content": f"Il faut proposer une formation numéro {number} aux personnes détenues",
        "original_content": None,
        "language": "fr",
        "country": "FR",
        "created_at": T0 + timedelta(minutes=number),
        "status": "pending",
        "version": 1,
        "author_first_name": f"Auteur{number}",
        "author_email": f"auteur{number}@example.org",
        "author_reachable": True,
        "rewrite_url": None,
        "seq": number,
    }
    values.update(overrides)
    return Proposal(**values)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Database]:
    database = open_database(cache_path(tmp_path))
    yield database
    database.close()


def fill_cache(database: Database, count: int, claimed_by: str | None = None) -> None:
    with database.write() as session:
        for number in range(1, count + 1):
            session.add(make_proposal(number))
        session.flush()
        if claimed_by:
            for number in range(1, count + 1):
                session.add(
                    Claim(
                        proposal_id=number, moderator=claimed_by, expires_at=T0 + timedelta(days=9)
                    )
                )


@pytest.fixture(scope="session")
def qapp_args(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Headless runs get a 1920x1080 screen (the default offscreen one is 800x800, smaller than
    the window), so geometry is restored as on a desktop."""
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return ["moderator-app-tests"]
    config = tmp_path_factory.mktemp("qpa") / "screens.json"
    screen = {"name": "test", "x": 0, "y": 0, "width": 1920, "height": 1080}
    config.write_text(json.dumps({"screens": [{**screen, "logicalDpi": 96, "dpr": 1}]}))
    return ["moderator-app-tests", "-platform", f"offscreen:configfile={config}"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The offscreen platform plugin warns that it cannot resize native windows; that says
    # nothing about the workbench, every other Qt warning still fails the test.
    for item in items:
        if "tests/gui/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(r"This plugin does not support"))


def show_active(qtbot: object, window: object) -> None:
    """Show a window and make it the active one: window shortcuts only reach the active window."""
    window.show()  # type: ignore[attr-defined]
    window.activateWindow()  # type: ignore[attr-defined]
    qtbot.waitUntil(window.isActiveWindow)  # type: ignore[attr-defined]
