"""Charter directories to check: the small coherent fixture, copied so tests may break it."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from moderator_app.core.charter.releases import freeze_release

HERE = Path(__file__).parent
MINIMAL_CHARTER = HERE / "fixtures" / "minimal" / "charter.toml"
FIXTURE_TEMPLATES = HERE / "fixtures" / "templates"
BROKEN = HERE / "broken"
RELEASE_DAY = dt.date(2026, 11, 30)


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    """A private copy of the fixture mail templates."""
    target = tmp_path / "templates" / "mail"
    shutil.copytree(FIXTURE_TEMPLATES, target)
    return target


@pytest.fixture
def make_charter_dir(tmp_path: Path) -> Callable[[Path], Path]:
    """A charter directory holding a copy of `source`, released under its own version."""

    def make(source: Path) -> Path:
        charter_dir = tmp_path / "charter"
        charter_dir.mkdir()
        shutil.copyfile(source, charter_dir / "charter.toml")
        freeze_release(charter_dir, "1.0.0", RELEASE_DAY)
        return charter_dir

    return make


@pytest.fixture
def charter_dir(make_charter_dir: Callable[[Path], Path]) -> Path:
    """The coherent minimal charter, released as 1.0.0."""
    return make_charter_dir(MINIMAL_CHARTER)
