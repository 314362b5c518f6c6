"""Where the client keeps its data: the platform's standard location unless told otherwise."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

HOME_ENV_VAR = "MODERATOR_APP_HOME"
APP_NAME = "moderator-app"


def resolve_home(explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    """The data directory: `--home`, else $MODERATOR_APP_HOME, else the platform's user data dir."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    from_env = environ.get(HOME_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create the directory readable by its owner only (it holds the cache and the mail ledger)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def project_root() -> Path:
    """The source tree root, where charter/ and templates/ live next to the packages."""
    return Path(__file__).resolve().parents[2]
