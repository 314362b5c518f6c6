"""`moderator-app login` and `logout`: which hub and user this data directory works as."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx
from sqlalchemy import select

from moderator_app.commands import _context
from moderator_app.commands.sync import RetryNotice
from moderator_app.core.account import Account, forget_account, load_account, save_account
from moderator_app.core.credentials import hub_token_name
from moderator_app.core.database import cache_path
from moderator_app.core.errors import UserError
from moderator_app.core.hubclient import HubClient, HubTimeouts, HubUnreachable, normalise_hub_url
from moderator_app.core.models import ACTIVE_SYNC_STATES, Decision, HubSyncState

# Module-level so tests can shorten them: about 20 s at most against a hub that never answers.
LOGIN_TIMEOUTS = HubTimeouts(read=10.0, deadline=20.0, attempts=2)


def register(subparsers: Any) -> None:
    login = subparsers.add_parser("login", help="verify a hub token and remember the account")
    login.add_argument("--server", required=True, metavar="URL", help="the hub's address")
    login.add_argument("--user", required=True, metavar="NAME", help="your hub user name")
    _context.add_token_stdin(login)
    login.set_defaults(handler=run_login)

    logout = subparsers.add_parser("logout", help="forget the account and its stored token")
    logout.set_defaults(handler=run_logout)


def run_login(args: argparse.Namespace) -> int:
    hub_url = normalise_hub_url(args.server)
    user = args.user.strip()
    if not user:
        raise UserError("the user name is empty")
    store = _context.credentials(args)
    who = Account(hub_url=hub_url, user=user)
    token = (
        _context.read_token_from_stdin() if args.token_stdin else _context.token(args, who, store)
    )
    timeouts = LOGIN_TIMEOUTS
    with httpx.Client(timeout=timeouts.httpx_timeout()) as http:
        hub = HubClient(
            http,
            hub_url,
            token,
            attempts=timeouts.attempts,
            deadline_seconds=timeouts.deadline,
            on_retry=RetryNotice(sys.stderr),
        )
        try:
            me = hub.me()
        except HubUnreachable as error:
            # Nothing was logged in, so nothing "continues offline".
            raise UserError(
                f"cannot log in: hub {hub_url} did not answer ({error.reason}); check the "
                "address and your connection, then try again"
            ) from error
    if me.name != user:
        raise UserError(f"this token belongs to hub user {me.name!r}, not {user!r}")
    with _context.open_cache(args) as database, database.session() as session:
        cached = session.scalars(select(HubSyncState.hub_url)).all()
        others_waiting = session.scalars(
            select(Decision.moderator)
            .where(Decision.sync_state.in_(ACTIVE_SYNC_STATES), Decision.moderator != user)
            .limit(1)
        ).first()
    other = [url for url in cached if url != hub_url]
    if other:
        raise UserError(
            f"this data directory caches hub {other[0]}; use another --home for {hub_url}"
        )
    if others_waiting is not None:
        raise UserError(
            f"this data directory holds unsent decisions by {others_waiting}; sync them as "
            f"{others_waiting} first, or use another --home for {user}"
        )
    stored = store.set(hub_token_name(user, hub_url), token)
    save_account(_context.home(args), Account(hub_url=hub_url, user=user, role=me.role))
    if not stored:
        print(
            f"moderator-app: {store.no_storage_message()}; give it to each sync with --token-stdin",
            file=sys.stderr,
        )
    print(f"logged in to {hub_url} as {me.name} ({me.role})")
    return 0


def run_logout(args: argparse.Namespace) -> int:
    home = _context.home(args)
    who = load_account(home)
    if who is None:
        print("not logged in")
        return 0
    _context.credentials(args).delete(hub_token_name(who.user, who.hub_url))
    forget_account(home)
    waiting = 0
    if cache_path(home).exists():
        with _context.open_cache(args) as database, database.session() as session:
            waiting = len(
                session.scalars(
                    select(Decision.id).where(Decision.sync_state.in_(ACTIVE_SYNC_STATES))
                ).all()
            )
    kept = f"; {waiting} unsent decisions stay in the local cache" if waiting else ""
    print(f"logged out of {who.hub_url}{kept}")
    return 0
