"""`moderator-app decide` and `undo`: record a decision locally (works offline)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from moderator_app.commands import _context
from moderator_app.commands import mail as mail_commands
from moderator_app.core.triage import OUTCOMES, decide, undo


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
    undo_parser.add_argument("decision_id", metavar="DECISION_ID")
    undo_parser.set_defaults(handler=run_undo)


def run_decide(args: argparse.Namespace) -> int:
    who = _context.account(args)
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
        decision = undo(database, args.decision_id, actor=who.user)
    print(f"undone: {decision.outcome} on proposal {decision.proposal_id}")
    return 0
