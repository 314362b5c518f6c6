"""`moderator-app decide`, `undo`, `conflicts` and `drop`: a moderator's local decisions (all
work offline). Proposals are named by the hub's id, as `proposals --json` shows it; `undo` and
`drop` also take a decision's UUID."""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

from moderator_app.commands import _context
from moderator_app.commands import mail as mail_commands
from moderator_app.commands.proposals import one_line
from moderator_app.core.queries import list_conflicts
from moderator_app.core.triage import (
    OUTCOMES,
    decide,
    drop_conflict,
    drop_conflicts_on_proposal,
    undo,
    undo_on_proposal,
)


def proposal_or_decision(text: str) -> int | str:
    """A hub proposal id (an integer) or a local decision id (a UUID, kept as text)."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a proposal id (a number) nor a decision id (a UUID)"
        ) from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "decide", help="record a decision on a proposal (sent to the hub at the next sync)"
    )
    parser.add_argument("proposal_id", type=int, metavar="PROPOSAL_ID", help="the hub's id")
    parser.add_argument("outcome", choices=OUTCOMES)
    parser.add_argument("--reason", metavar="CLAUSE", help="charter clause id (refuse only)")
    parser.add_argument("--content", metavar="TEXT", help="corrected text (accept only)")
    parser.add_argument("--note", metavar="TEXT", help="a note kept with the decision")
    parser.add_argument("--json", action="store_true", help="print the decision as JSON")
    parser.set_defaults(handler=run_decide)

    undo_parser = subparsers.add_parser("undo", help="take back a decision not yet sent")
    undo_parser.add_argument(
        "target",
        type=proposal_or_decision,
        metavar="PROPOSAL_ID|DECISION_ID",
        help="the hub's proposal id (its unsent decision is undone) or a decision id",
    )
    undo_parser.set_defaults(handler=run_undo)

    conflicts = subparsers.add_parser(
        "conflicts", help="list decisions the hub answered with a conflict, for review"
    )
    conflicts.add_argument("--json", action="store_true", help="machine-readable output")
    conflicts.set_defaults(handler=run_conflicts)

    drop = subparsers.add_parser(
        "drop", help="let the hub's state stand over a reviewed conflicted decision"
    )
    drop.add_argument(
        "target",
        type=proposal_or_decision,
        metavar="PROPOSAL_ID|DECISION_ID",
        help="the hub's proposal id (its conflicted decision is dropped) or a decision id",
    )
    drop.set_defaults(handler=run_drop)


def run_decide(args: argparse.Namespace) -> int:
    who = _context.account(args)
    who.require_deciding_role()
    charter = _context.charter_ref()
    with _context.open_cache(args) as database:
        decision = decide(
            database,
            args.proposal_id,
            args.outcome,
            moderator=who.user,
            charter=charter,
            clause_id=args.reason,
            edited_content=args.content,
            note=args.note,
            on_recorded=mail_commands.refusal_mail_hook_for(args),
        )
    if args.json:
        print(
            json.dumps(
                {
                    "id": decision.id,
                    "proposal_id": decision.proposal_id,
                    "outcome": decision.outcome,
                    "clause_id": decision.clause_id,
                    "charter_version": decision.charter_version,
                    "sync_state": decision.sync_state,
                }
            )
        )
    else:
        cited = f" ({decision.clause_id}, charter {decision.charter_version})"
        print(
            f"recorded {decision.outcome} on proposal {decision.proposal_id}"
            f"{cited if decision.clause_id else ''}: decision {decision.id}, "
            "sent at the next sync"
        )
    return 0


def run_undo(args: argparse.Namespace) -> int:
    who = _context.account(args)
    with _context.open_cache(args) as database:
        if isinstance(args.target, int):
            decision = undo_on_proposal(database, args.target, actor=who.user)
        else:
            decision = undo(database, args.target, actor=who.user)
    print(f"undone: {decision.outcome} on proposal {decision.proposal_id}")
    return 0


def run_conflicts(args: argparse.Namespace) -> int:
    with _context.open_cache(args) as database, database.session() as session:
        items = list_conflicts(session)
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    if not items:
        print("no conflicted decisions")
        return 0
    for item in items:
        by = item["hub_decision_moderator"]
        hub_now = one_line(item["hub_status"] + (f" by {by}" if by else ""), 24)
        print(
            f"{item['proposal_id']:>7}  yours: {item['outcome']:<8} hub: {hub_now:<24} "
            f"{item['conflict_kind'] or '-':<12} {one_line(item['hub_detail'] or '', 60)}"
        )
    print(
        "review each, then `moderator-app drop PROPOSAL_ID` to let the hub's state stand, or "
        "decide again"
    )
    return 0


def run_drop(args: argparse.Namespace) -> int:
    who = _context.account(args)
    with _context.open_cache(args) as database:
        if isinstance(args.target, int):
            dropped = drop_conflicts_on_proposal(database, args.target, actor=who.user)
        else:
            dropped = [drop_conflict(database, args.target, actor=who.user)]
    for decision in dropped:
        print(f"dropped: your {decision.outcome} on proposal {decision.proposal_id}")
    return 0
