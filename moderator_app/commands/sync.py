"""`moderator-app sync`: push local decisions, pull changes, claim or release work."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import httpx

from moderator_app.commands import _context
from moderator_app.commands import mail as mail_commands
from moderator_app.core.errors import UserError
from moderator_app.core.hubclient import HubTimeouts
from moderator_app.core.sync import SyncProgress, SyncReport, run_sync

# Module-level so tests can shorten them; a hub that never answers costs about 35 s at most.
TIMEOUTS = HubTimeouts()


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sync", help="send local decisions to the hub and fetch what changed"
    )
    parser.add_argument(
        "--claim", type=int, default=0, metavar="N", help="also claim N pending proposals"
    )
    parser.add_argument("--question", metavar="SLUG", help="claim only from this question")
    parser.add_argument(
        "--release", action="store_true", help="give back claims on proposals not decided here"
    )
    _context.add_token_stdin(parser)
    parser.set_defaults(handler=run)


class TerminalProgress:
    """One self-overwriting line on a terminal; nothing when output is not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.active = stream.isatty()
        self.shown = False

    def __call__(self, progress: SyncProgress) -> None:
        if not self.active:
            return
        verb = {"push": "sent", "pull": "fetched", "claim": "claimed", "release": "released"}
        self.stream.write(f"\r{verb[progress.phase]} {progress.done} proposals…\x1b[K")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class RetryNotice:
    """On a terminal, one line per new try of a hub call, so a slow hub is not silence."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.active = stream.isatty()

    def __call__(self, attempt: int, attempts: int, reason: str) -> None:
        if not self.active:
            return
        # Clears a progress line first; the progress line is drawn again below this one.
        self.stream.write(
            f"\r\x1b[Kmoderator-app: hub not answering ({reason}), "
            f"retrying ({attempt}/{attempts})…\n"
        )
        self.stream.flush()


def summary(report: SyncReport) -> str:
    parts = [f"sent {report.pushed} decisions"]
    if report.pushed or report.applied:
        parts[0] += f" ({report.applied} applied, {report.conflicts} in conflict)"
    parts.append(f"fetched {report.pulled} changes")
    if report.claimed:
        parts.append(f"claimed {report.claimed}")
    if report.released:
        parts.append(f"released {report.released}")
    if report.unanswered:
        parts.append(f"{len(report.unanswered)} unanswered, will be sent again")
    return ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    if args.claim < 0:
        raise UserError("--claim needs a number of proposals, 0 or more")
    who = _context.account(args)
    token = _context.token(args, who, _context.credentials(args))
    progress = TerminalProgress(sys.stderr)
    timeouts = TIMEOUTS
    with (
        _context.open_cache(args) as database,
        httpx.Client(timeout=timeouts.httpx_timeout()) as http,
    ):
        try:
            report = run_sync(
                database,
                http,
                hub_url=who.hub_url,
                token=token,
                moderator=who.user,
                claim=args.claim,
                claim_question=args.question,
                release=args.release,
                progress=progress,
                attempts=timeouts.attempts,
                deadline_seconds=timeouts.deadline,
                on_retry=RetryNotice(sys.stderr),
            )
        finally:
            progress.finish()
    if not report.online:
        print(f"moderator-app: offline: {report.offline_reason}", file=sys.stderr)
        return 1
    print(summary(report))
    if report.conflicts:
        print(
            f"{report.conflicts} decisions conflict with the hub; review them with "
            "`moderator-app conflicts`"
        )
    mail_commands.send_after_sync(args)  # refusal mails the hub just confirmed
    return 0
