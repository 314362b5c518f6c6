"""A keyring backend that keeps secrets in this process's memory only: the demo's tokens vanish
with the demo, and nothing is written to the user's real keyring."""

from __future__ import annotations

from jaraco.classes.properties import classproperty
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Secrets in a dict, per instance (never shared through keyring's global backend)."""

    # keyring registers every KeyringBackend subclass it sees imported and would pick this one as
    # the default in any process that imported the demo. A priority that raises marks it not
    # viable, so it is used only where the demo passes an instance explicitly.
    @classproperty
    def priority(cls) -> float:
        raise RuntimeError("the demo's in-memory keyring is only used when passed explicitly")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self._secrets[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"no secret for {username}") from None
