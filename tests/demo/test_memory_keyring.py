"""The demo's keyring: a real keyring backend whose secrets live in one object, never on disk."""

from __future__ import annotations

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
