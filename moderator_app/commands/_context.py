"""What the commands share: the data directory, the cache, the account, the token, the charter.

Not a command module itself (it registers nothing).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from keyring.backend import KeyringBackend

from moderator_app.core.account import Account, require_account
from moderator_app.core.credentials import Credentials, default_backend, hub_token_name
from moderator_app.core.database import Database, cache_path, open_database
from moderator_app.core.errors import UserError
from moderator_app.core.paths import resolve_home
from moderator_app.core.triage import CharterRef


def home(args: argparse.Namespace) -> Path:
    return resolve_home(args.home, args.environ)


def open_cache(args: argparse.Namespace) -> Database:
    return open_database(cache_path(home(args)))


def account(args: argparse.Namespace) -> Account:
    return require_account(home(args))


def credentials(args: argparse.Namespace) -> Credentials:
    backend: KeyringBackend | None = getattr(args, "keyring_backend", None)
    return Credentials(backend if backend is not None else default_backend())


def add_token_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token-stdin",
        action="store_true",
        help="read the hub token from standard input (never give it on the command line)",
    )


def read_token_from_stdin() -> str:
    token = sys.stdin.readline().strip()
    if not token:
        raise UserError("no token on standard input")
    return token


def token(args: argparse.Namespace, who: Account, store: Credentials) -> str:
    """The hub token: from stdin if asked, else the keyring, else a prompt on a terminal."""
    if getattr(args, "token_stdin", False):
        return read_token_from_stdin()
    stored = store.get(hub_token_name(who.user, who.hub_url))
    if stored:
        return stored
    if sys.stdin.isatty():
        if not store.secure:
            print(f"moderator-app: {store.no_storage_message()}", file=sys.stderr)
        entered = getpass.getpass(f"Hub token for {who.user}@{who.hub_url}: ").strip()
        if entered:
            return entered
    if not store.secure:
        raise UserError(
            "no secure storage for the hub token on this system; give it with --token-stdin"
        )
    raise UserError("no hub token stored; run `moderator-app login` again")


def charter_ref() -> CharterRef:
    """The charter decisions cite: its version and clause ids."""
    from moderator_app.core.charter import default_charter_dir, load_charter

    charter = load_charter(default_charter_dir())
    return CharterRef.of(charter.version, [clause.id for clause in charter.clauses])
