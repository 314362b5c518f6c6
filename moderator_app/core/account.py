"""The account a data directory is logged in as: hub URL and user name (never the token)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moderator_app.core.errors import UserError
from moderator_app.core.json_file import read_json_file, write_json_file

ACCOUNT_FILE_NAME = "account.json"


# Hub roles that may take moderation decisions; support staff read and resend mails only.
DECIDING_ROLES = frozenset({"moderator", "lead"})


@dataclass(frozen=True)
class Account:
    hub_url: str
    user: str
    role: str | None = None  # as the hub said at login; None in files written before roles

    def require_deciding_role(self) -> None:
        """Refuse early, offline, what the hub would refuse at every later sync."""
        if self.role is not None and self.role not in DECIDING_ROLES:
            raise UserError(
                f"hub user {self.user} is {self.role}: only moderators and leads take "
                "decisions (support staff find and resend mails with `moderator-app mail`)"
            )


def account_path(home: Path) -> Path:
    return home / ACCOUNT_FILE_NAME


def load_account(home: Path) -> Account | None:
    path = account_path(home)
    try:
        data = read_json_file(path)
        if data is None:
            return None
        role = data.get("role")
        return Account(
            hub_url=str(data["server"]),
            user=str(data["user"]),
            role=None if role is None else str(role),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path} is damaged; run `moderator-app login` again") from error


def require_account(home: Path) -> Account:
    account = load_account(home)
    if account is None:
        raise UserError("not logged in; run `moderator-app login --server URL --user NAME` first")
    return account


def save_account(home: Path, account: Account) -> None:
    """Write atomically, readable by the owner only."""
    write_json_file(
        account_path(home),
        {"server": account.hub_url, "user": account.user, "role": account.role},
    )


def forget_account(home: Path) -> bool:
    try:
        account_path(home).unlink()
    except FileNotFoundError:
        return False
    return True
