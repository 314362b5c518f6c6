"""`moderator-app proposals`: the cached proposals, filtered or searched."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from moderator_app.commands import _context
from moderator_app.core.queries import HUB_STATUSES, list_proposals

# Control characters would move the cursor or hide text on a terminal; bidirectional controls
# would reorder what follows them. The JSON output keeps the text exactly.
_UNPRINTABLE = (
    {codepoint: " " for codepoint in range(32)}
    | {codepoint: " " for codepoint in range(0x7F, 0xA0)}
    | dict.fromkeys((0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)))
)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("proposals", help="list cached proposals")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--status", choices=HUB_STATUSES, help="only proposals in this state")
    parser.add_argument("--search", metavar="TEXT", help="full-text search in the content")
    parser.add_argument("--limit", type=_positive, default=50, metavar="N", help="at most N")
    parser.set_defaults(handler=run)


def one_line(text: str, width: int) -> str:
    """`text` safe to print on one terminal line, cut to `width` characters."""
    flat = text.translate(_UNPRINTABLE)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def run(args: argparse.Namespace) -> int:
    with _context.open_cache(args) as database, database.session() as session:
        items = list_proposals(
            session,
            now=datetime.now(UTC),
            status=args.status,
            search=args.search,
            limit=args.limit,
        )
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    for item in items:
        decision = item["decision"]
        local = f"{decision['outcome']}:{decision['sync_state']}" if decision else "-"
        claim = item["claimed_by"] or "-"
        print(
            f"{item['id']:>7}  {item['status']:<9} {claim:<12.12} {local:<18} "
            f"{one_line(item['content'], 70)}"
        )
    return 0
