"""The demo's keyring: a real keyring backend whose secrets live in one object, never on disk."""

from __future__ import annotations

import os
import subprocess
import sys

from moderator_app.core.credentials import Credentials
from moderator_app.demo.memory_keyring import MemoryKeyring


def test_secrets_round_trip_and_are_forgotten() -> None:
    credentials = Credentials(MemoryKeyring())
    assert credentials.secure
    assert credentials.get("demo@http://127.0.0.1:1") is None
    assert credentials.set("demo@http://127.0.0.1:1", "token-1")
    assert credentials.get("demo@http://127.0.0.1:1") == "token-1"
    assert credentials.delete("demo@http://127.0.0.1:1")
    assert not credentials.delete("demo@http://127.0.0.1:1")
    assert credentials.get("demo@http://127.0.0.1:1") is None


def test_each_instance_holds_its_own_secrets() -> None:
    first, second = MemoryKeyring(), MemoryKeyring()
    first.set_password("moderator-app", "alice", "secret")
    assert second.get_password("moderator-app", "alice") is None


def test_importing_the_demo_does_not_change_the_default_keyring() -> None:
    # keyring picks its default among every backend class imported so far: the demo's in-memory
    # backend must never be chosen for a real login just because the CLI imported the demo.
    script = (
        "import keyring\n"
        "import moderator_app.cli, moderator_app.demo.environment\n"
        "moderator_app.cli.build_parser()\n"
        "from keyring.backend import get_all_keyring\n"
        "names = [type(k).__name__ for k in get_all_keyring()]\n"
        "print(type(keyring.get_keyring()).__name__, *names)\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON_KEYRING")}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environ, check=True
    )
    assert "MemoryKeyring" not in result.stdout.split()
