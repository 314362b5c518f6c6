"""Secrets only through keyring; no storage at all when the backend is not secure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringLocked, PasswordSetError

from moderator_app.core.credentials import (
    SERVICE,
    Credentials,
    hub_token_name,
    is_secure,
    smtp_password_name,
)
from moderator_app.core.errors import UserError
from tests.core.conftest import MemoryKeyring


def test_token_round_trip_under_the_agreed_names(keyring_backend: MemoryKeyring) -> None:
    store = Credentials(keyring_backend)
    name = hub_token_name("alice", "https://hub.example.org")
    assert name == "alice@https://hub.example.org"
    assert smtp_password_name("mailer", "smtp.example.org") == "smtp:mailer@smtp.example.org"
    assert store.get(name) is None
    assert store.set(name, "s3cret") is True
    assert keyring_backend.secrets == {(SERVICE, name): "s3cret"}
    assert store.get(name) == "s3cret"
    assert store.delete(name) is True
    assert store.delete(name) is False  # nothing left to forget: not an error
    assert store.get(name) is None


class PlaintextKeyring(MemoryKeyring):
    """Named like keyrings.alt's plaintext file backend."""


class _Chainer(chainer.ChainerBackend):
    def __init__(self, backends: list[object]) -> None:
        self._chosen = backends

    @property
    def backends(self) -> list[object]:  # type: ignore[override]
        return self._chosen


@pytest.mark.parametrize(
    "backend",
    [
        fail.Keyring(),
        null.Keyring(),
        PlaintextKeyring(),
        _Chainer([fail.Keyring(), null.Keyring()]),
        _Chainer([]),
    ],
    ids=["fail", "null", "plaintext", "chainer-of-insecure", "empty-chainer"],
)
def test_insecure_backends_store_nothing(backend: object) -> None:
    store = Credentials(backend)  # type: ignore[arg-type]
    assert store.secure is False
    assert store.set("alice@hub", "s3cret") is False
    assert store.get("alice@hub") is None
    assert "no secure password storage" in store.no_storage_message()
    if isinstance(backend, MemoryKeyring):
        assert backend.secrets == {}


def test_chainer_with_a_secure_backend_is_secure() -> None:
    assert is_secure(_Chainer([null.Keyring(), MemoryKeyring()]))  # type: ignore[list-item]


class BrokenKeyring(MemoryKeyring):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error


@pytest.mark.parametrize(
    "error", [KeyringLocked("the collection is locked"), PasswordSetError("denied")]
)
def test_keyring_failures_become_user_errors(error: Exception) -> None:
    store = Credentials(BrokenKeyring(error))
    with pytest.raises(UserError, match="could not read the secret"):
        store.get("alice@hub")
    with pytest.raises(UserError, match="could not store the secret"):
        store.set("alice@hub", "x")


def test_bugs_in_a_backend_stay_bugs() -> None:
    store = Credentials(BrokenKeyring(ZeroDivisionError("bug")))
    with pytest.raises(ZeroDivisionError):
        store.get("alice@hub")


_SECRET_SERVICE_SCRIPT = textwrap.dedent(
    """
    from keyring.backends.SecretService import Keyring
    from moderator_app.core.credentials import Credentials, hub_token_name

    store = Credentials(Keyring())
    assert store.secure, store.describe()
    name = hub_token_name("alice", "http://127.0.0.1:8765")
    store.set(name, "token-from-the-real-secret-service")
    fresh = Credentials(Keyring())
    print(fresh.get(name))
    print(fresh.delete(name))
    print(fresh.get(name))
    """
)


@pytest.mark.secret_service
def test_real_secret_service_round_trip(tmp_path: Path) -> None:
    missing = [
        tool for tool in ("dbus-run-session", "gnome-keyring-daemon") if not shutil.which(tool)
    ]
    if missing:
        if os.environ.get("MODERATION_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Secret Service required but missing: {', '.join(missing)}")
        pytest.skip(f"no Secret Service here (missing {', '.join(missing)})")
    script = tmp_path / "secret_service_check.py"
    script.write_text(_SECRET_SERVICE_SCRIPT, encoding="utf-8")
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),  # the daemon keeps its keyring files under the test's HOME
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
    }
    (tmp_path / "run").mkdir(mode=0o700)
    # A fresh HOME has no login keyring: --unlock creates it, but only with a non-empty password
    # (an empty one makes the daemon try to prompt, and there is no display).
    command = (
        'printf "throwaway-test-password" | '
        "gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
        f'exec "{sys.executable}" "{script}"'
    )
    result = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["token-from-the-real-secret-service", "True", "None"]
