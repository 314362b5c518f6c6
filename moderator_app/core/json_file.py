"""Small JSON settings files in the data directory: written atomically, readable by the owner only.

They never hold a secret (those live in the keyring), but they name accounts and addresses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moderator_app.core.errors import UserError
from moderator_app.core.paths import ensure_private_dir


def write_json_file(path: Path, data: Mapping[str, object]) -> None:
    """Replace `path` with `data` in one step (temporary file, fsync, rename), mode 0600."""
    ensure_private_dir(path.parent)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_json_file(path: Path) -> dict[str, Any] | None:
    """The JSON object in the file, or None when it does not exist.

    An unreadable file is a `UserError`; anything but a JSON object raises `ValueError`, for the
    caller to say which command writes the file again.
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from error
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds JSON {type(data).__name__}, not an object")
    return data
