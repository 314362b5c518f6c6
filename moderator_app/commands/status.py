"""`moderator-app status`: what waits to be sent, what is held, when the last sync was."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from moderator_app.commands import _context
from moderator_app.core.account import load_account
from moderator_app.core.queries import status


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("status", help="counts of pending work, unsent decisions, mails")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    who = load_account(_context.home(args))
    with _context.open_cache(args) as database, database.session() as session:
        current = status(
            session,
            hub_url=who.hub_url if who else None,
            user=who.user if who else None,
            now=datetime.now(UTC),
        )
    data = current.as_json()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    if who is None:
        print("not logged in")
    for key, value in data.items():
        shown = value if value is not None else ("never" if key == "last_sync" else "-")
        print(f"{key.replace('_', ' ')}: {shown}")
    return 0
