"""Secrets (the hub token, later the SMTP password) stored only through `keyring`.

The backend is passed in (no global keyring state). When only a fail, null or plaintext backend
exists (or a chainer holding nothing better), there is no secure storage: nothing is stored and the
caller asks for the secret each time. Keyring failures become `UserError`.
"""

from __future__ import annotations

from typing import Any, Final

from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringError, PasswordDeleteError

from moderator_app.core.errors import UserError

SERVICE: Final = "moderator-app"

# Exceptions raised by the Secret Service stack below keyring, which it does not always wrap.
_BACKEND_ERROR_MODULES: Final = ("secretstorage", "jeepney", "dbus")


def hub_token_name(user: str, hub_url: str) -> str:
    return f"{user}@{hub_url}"


def smtp_password_name(user: str, host: str) -> str:
    return f"smtp:{user}@{host}"


def backend_name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def is_secure(backend: KeyringBackend) -> bool:
    """False for fail/null/plaintext backends and for a chainer that holds only such ones."""
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if "plaintext" in type(backend).__name__.lower():  # keyrings.alt's PlaintextKeyring & co
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(is_secure(child) for child in backend.backends)
    return True


def _is_backend_error(error: Exception) -> bool:
    if isinstance(error, KeyringError):
        return True
    return type(error).__module__.split(".")[0] in _BACKEND_ERROR_MODULES


class Credentials:
    """Named secrets of the service "moderator-app" in one keyring backend."""

    def __init__(self, backend: KeyringBackend, service: str = SERVICE) -> None:
        self.backend = backend
        self.service = service
        self.secure = is_secure(backend)

    def describe(self) -> str:
        return backend_name(self.backend)

    def no_storage_message(self) -> str:
        return (
            f"no secure password storage available (keyring backend {self.describe()}); "
            "secrets are not stored and will be asked for each time"
        )

    def get(self, name: str) -> str | None:
        """The stored secret, or None (also when there is no secure storage)."""
        if not self.secure:
            return None
        secret = self._call("read", self.backend.get_password, self.service, name)
        return secret if isinstance(secret, str) else None

    def set(self, name: str, secret: str) -> bool:
        """Store the secret; False (nothing stored) when there is no secure storage."""
        if not self.secure:
            return False
        if not secret:
            raise UserError("refusing to store an empty secret")
        self._call("store", self.backend.set_password, self.service, name, secret)
        return True

    def delete(self, name: str) -> bool:
        """Forget the secret; False when there was none to forget."""
        if not self.secure:
            return False
        try:
            self._call("delete", self.backend.delete_password, self.service, name)
        except _NothingToDelete:
            return False
        return True

    def _call(self, verb: str, function: Any, *args: str) -> Any:
        try:
            return function(*args)
        except PasswordDeleteError as error:
            raise _NothingToDelete from error
        except Exception as error:
            if not _is_backend_error(error):
                raise
            reason = " ".join(str(error).split()) or type(error).__name__
            raise UserError(
                f"the system keyring ({self.describe()}) could not {verb} the secret: {reason}"
            ) from error


class _NothingToDelete(Exception):
    pass


def default_backend() -> KeyringBackend:
    """The backend keyring picks for this session (honours PYTHON_KEYRING_BACKEND)."""
    import keyring

    try:
        return keyring.get_keyring()
    except Exception as error:
        if not _is_backend_error(error):
            raise
        raise UserError(f"the system keyring could not be opened: {error}") from error
