"""Test helpers: scripted SMTP handlers for aiosmtpd, a seeded local cache, a hand-moved clock."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from moderator_app.core.charter import Charter
from moderator_app.core.database import Database
from moderator_app.core.mail.outbox import prechecks_flagged, refusal_mail_hook
from moderator_app.core.mail.render import MailRenderer
from moderator_app.core.mail.smtp import SmtpSender, SmtpSettings
from moderator_app.core.models import Decision, MailOutbox, Proposal
from moderator_app.core.triage import CharterRef, decide

LOOPBACK = "127.0.0.1"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@dataclass
class Received:
    message_id: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class ScriptedHandler:
    """Answers DATA from a script: each entry is an SMTP reply line, or "drop" to cut the
    connection before answering; when the script runs out, it accepts ("250 ..."). Recipients in
    `refuse_rcpt` get a 550 at RCPT. Only accepted messages are recorded."""

    script: list[str] = field(default_factory=list)
    refuse_rcpt: set[str] = field(default_factory=set)
    refuse_sender: bool = False
    received: list[Received] = field(default_factory=list)
    data_commands: int = 0
    sessions: int = 0  # SMTP sessions that carried at least one recipient
    hold: threading.Event | None = None  # when set: DATA waits until released
    holding: threading.Event = field(default_factory=threading.Event)
    hold_after: int = 0  # accept this many messages before holding
    delay: float = 0.0  # seconds each DATA takes before its answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse_sender:
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if not getattr(session, "counted", False):
            session.counted = True
            self.sessions += 1
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_commands += 1
            step = self.script.pop(0) if self.script else "250 2.0.0 Ok: queued"
        if self.delay:
            await asyncio.sleep(self.delay)
        hold = self.hold
        if hold is not None and len(self.received) >= self.hold_after:
            self.holding.set()
            while not hold.is_set():
                await asyncio.sleep(0.01)
            return "451 4.3.0 client went away"  # never reaches anyone; nothing recorded
        if step == "drop":
            server.transport.close()
            return "421 closing"
        if step.startswith("250"):
            raw = envelope.original_content or envelope.content
            parsed = message_from_bytes(raw, policy=policy.SMTP)
            assert isinstance(parsed, EmailMessage)
            with self.lock:
                self.received.append(
                    Received(str(parsed["Message-ID"]), list(envelope.rcpt_tos), parsed, raw)
                )
                step = f"{step} as {len(self.received)}"
        return step

    def counts(self) -> Counter[str]:
        return Counter(item.message_id for item in self.received)


class FreePortController(Controller):
    def _trigger_server(self) -> None:
        if isinstance(self.server, asyncio.Server) and self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    handler: ScriptedHandler
    controller: Controller

    @property
    def port(self) -> int:
        port: int = self.controller.port
        return port

    def settings(self, **overrides: Any) -> SmtpSettings:
        values: dict[str, Any] = {
            "host": LOOPBACK,
            "port": self.port,
            "security": "none",
            "username": None,
            "from_address": "moderation@platform.example",
            "from_name": "Équipe de modération",
            "timeout": 5.0,
        }
        values.update(overrides)
        return SmtpSettings(**values)

    def sender(self, **overrides: Any) -> SmtpSender:
        return SmtpSender(self.settings(**overrides), None)


def add_proposal(
    database: Database,
    proposal_id: int,
    *,
    email: str | None = "camille@example.org",
    reachable: bool = True,
    first_name: str = "Camille",
    content: str = "Il faut des formations au permis de conduire en détention",
    language: str = "fr",
) -> None:
    with database.write() as session:
        session.add(
            Proposal(
                id=proposal_id,
                external_id=f"p-{proposal_id}",
                question="insertion",
                content=content,
                original_content=None,
                language=language,
                country="FR",
                created_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
                status="pending",
                version=1,
                author_first_name=first_name,
                author_email=email,
                author_reachable=reachable,
                rewrite_url=f"https://platform.example/insertion/rewrite/p-{proposal_id}",
                seq=proposal_id,
            )
        )


def refuse(
    database: Database,
    charter: Charter,
    renderer: MailRenderer,
    proposal_id: int,
    clause_id: str = "off-topic",
    note: str | None = None,
) -> str:
    """Refuse through the core's decide() with the mail hook; returns the decision id."""
    decision = decide(
        database,
        proposal_id,
        "refuse",
        moderator="alice",
        charter=CharterRef.of(charter.version, [c.id for c in charter.clauses]),
        clause_id=clause_id,
        note=note,
        now=lambda: NOW,
        on_recorded=refusal_mail_hook(
            charter, renderer, now=lambda: NOW, automated_checks=prechecks_flagged(charter)
        ),
    )
    return decision.id


def confirm_by_hub(database: Database) -> None:
    """What the core's sync engine does when the hub answers "applied": the decisions become
    applied and their mails waiting_hub -> sendable (tests of the engine itself: tests/core)."""
    with database.write() as session:
        for decision in session.query(Decision).filter(Decision.sync_state == "unsent"):
            decision.sync_state = "applied"
        for mail in session.query(MailOutbox).filter(MailOutbox.state == "waiting_hub"):
            mail.state = "sendable"


def queue_sendable(
    database: Database, charter: Charter, renderer: MailRenderer, count: int, start: int = 1
) -> None:
    for proposal_id in range(start, start + count):
        add_proposal(database, proposal_id, email=f"author{proposal_id}@example.org")
        refuse(database, charter, renderer, proposal_id)
    confirm_by_hub(database)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
