"""The durable outbox of refusal mails: queue with the decision, send once, find, resend.

Life of a mail (`mail_outbox.state`):
  waiting_hub  queued in the decision's own transaction (`queue_refusal_mail`);
  sendable     the hub confirmed the decision (moved by the core's sync engine), or a resend;
  sent         the SMTP server accepted it (recorded only after its positive reply);
  failed       the server refused it for good (5xx, bad address) or transient failures ran out;
  cancelled    the hub answered "conflict": the refusal does not stand, nothing is sent;
  not_sent     the author cannot be mailed (no verified address); `last_error` says why.

The Message-ID is fixed when the mail is queued, so a retry after a crash or a dropped connection
is the same message. Each try is a `mail_attempt` row with the server's reply. One process sends at
a time per cache (an advisory file lock next to it), so two windows never send the same mail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from moderator_app.core.charter.model import Charter
from moderator_app.core.database import Database
from moderator_app.core.errors import UserError
from moderator_app.core.mail.render import MailRenderer, clean_text, format_date
from moderator_app.core.mail.smtp import (
    InvalidAddress,
    SendResult,
    SmtpConnectError,
    SmtpConnection,
    SmtpSender,
    build_message,
    checked_address,
)
from moderator_app.core.models import (
    AuditEntry,
    Decision,
    MailAttempt,
    MailOutbox,
    Proposal,
    Question,
)

Clock = Callable[[], datetime]

DEFAULT_MESSAGE_ID_DOMAIN = "moderator-workbench.invalid"
MAX_RESENDS_PER_ADDRESS_PER_HOUR = 3
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
MAX_TRANSIENT_ATTEMPTS = 12  # 11 waits: 1 min doubling, capped at 6 h: about 20 hours
SEND_CHUNK = 200
MAX_REASON_CHARS = 1_000

_DOMAIN = re.compile(r"^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$")

NOT_REACHABLE = "the author's e-mail address is not verified (not reachable)"
NO_ADDRESS = "the author left no e-mail address"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _new_message_id(domain: str) -> str:
    """A unique, ASCII-only Message-ID in `domain` (punycode for an international domain)."""
    try:
        ascii_domain = domain.strip().lower().encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = DEFAULT_MESSAGE_ID_DOMAIN
    if not _DOMAIN.match(ascii_domain):
        ascii_domain = DEFAULT_MESSAGE_ID_DOMAIN
    return f"<{uuid.uuid4().hex}@{ascii_domain}>"


def reference_for(decision: Decision) -> str:
    """The decision's reference number, as quoted by an author who contests it."""
    return f"R-{decision.proposal_id}-{decision.id.replace('-', '')[:8].upper()}"


def _language(proposal: Proposal, question: Question | None, charter: Charter) -> str:
    for candidate in (proposal.language, question.language if question else None):
        if candidate in charter.languages:
            return candidate
    return charter.languages[0]


# -- queueing ----------------------------------------------------------------------------------


def refusal_context(
    proposal: Proposal,
    question: Question | None,
    charter: Charter,
    *,
    clause_id: str,
    language: str,
    decided_at: datetime,
    charter_version: str,
    reference: str,
    note: str | None,
    automated_checks: bool,
) -> dict[str, object]:
    """The template variables of a refusal mail (MAIL_VARIABLES), from the cached data."""
    clause = charter.clause(clause_id)
    return {
        "first_name": proposal.author_first_name,
        "proposal_text": proposal.content,
        "question_title": question.title if question else proposal.question,
        "submitted_date": format_date(proposal.created_at.date(), language),
        "decision_date": format_date(decided_at.date(), language),
        "clause_id": clause.id,
        "clause_number": clause.number,
        "clause_title": clause.title.get(language, ""),
        "clause_text": clause.text.get(language, ""),
        "clause_tips": clause.tips.get(language, ""),
        "charter_version": charter_version,
        "charter_url": charter.public_url.get(language, ""),
        "rewrite_url": proposal.rewrite_url or "",
        "contest_text": charter.contest_text.get(language, ""),
        "contest_url": charter.contest_url.get(language, ""),
        "reference": reference,
        "automated_checks": automated_checks,
        "personal_note": note or "",
    }


@dataclass(frozen=True)
class MailPreview:
    """The refusal mail a moderator is about to cause, for the workbench's decision bar."""

    to_address: str | None  # None: nobody will receive it (see `not_sent_reason`)
    not_sent_reason: str | None
    language: str
    subject: str
    text: str
    html: str


def preview_refusal_mail(
    session: Session,
    proposal_id: int,
    clause_id: str,
    charter: Charter,
    renderer: MailRenderer,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> MailPreview:
    """The mail exactly as `decide(..., refuse)` with the mail hook would queue it now.

    Only the reference number differs: it is fixed when the decision is recorded (its id), so the
    preview shows "R-<proposal>-········". Raises KeyError for an unknown clause, UserError for a
    proposal not in the cache.
    """
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise UserError(f"proposal {proposal_id} is not in the local cache")
    question = session.get(Question, proposal.question)
    language = _language(proposal, question, charter)
    context = refusal_context(
        proposal,
        question,
        charter,
        clause_id=clause_id,
        language=language,
        decided_at=now or utc_now(),
        charter_version=charter.version,
        reference=f"R-{proposal.id}-········",
        note=note,
        automated_checks=_prechecks_point_at(charter, proposal, clause_id),
    )
    rendered = renderer.render(charter.clause(clause_id).mail_template, language, context)
    state, reason, address = _recipient(proposal)
    return MailPreview(
        to_address=address if state != "not_sent" else None,
        not_sent_reason=reason,
        language=language,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
    )


def queue_refusal_mail(
    session: Session,
    decision: Decision,
    proposal: Proposal,
    charter: Charter,
    renderer: MailRenderer,
    *,
    now: datetime,
    automated_checks: bool = False,
    message_id_domain: str = DEFAULT_MESSAGE_ID_DOMAIN,
) -> MailOutbox:
    """Queue the refusal mail of `decision` in the caller's transaction (state waiting_hub).

    An author who cannot be mailed gets a `not_sent` row saying why, with the text that would have
    gone, so support can still resend it to a corrected address. Queueing twice for one decision
    returns the first mail.
    """
    if decision.outcome != "refuse" or not decision.clause_id:
        raise ValueError("only a refusal citing a clause has a refusal mail")
    existing = session.scalar(
        select(MailOutbox).where(
            MailOutbox.decision_id == decision.id, MailOutbox.resend_of.is_(None)
        )
    )
    if existing is not None:
        return existing
    clause = charter.clause(decision.clause_id)
    question = session.get(Question, proposal.question)
    language = _language(proposal, question, charter)
    context = refusal_context(
        proposal,
        question,
        charter,
        clause_id=clause.id,
        language=language,
        decided_at=decision.decided_at,
        charter_version=decision.charter_version,
        reference=reference_for(decision),
        note=decision.note,
        automated_checks=automated_checks,
    )
    rendered = renderer.render(clause.mail_template, language, context)
    state, reason, address = _recipient(proposal)
    mail = MailOutbox(
        id=str(uuid.uuid4()),
        decision_id=decision.id,
        proposal_id=proposal.id,
        to_address=address,
        to_name=proposal.author_first_name,
        language=language,
        template=clause.mail_template,
        clause_id=clause.id,
        charter_version=decision.charter_version,
        message_id=_new_message_id(message_id_domain),
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        state=state,
        attempts=0,
        next_attempt_at=None,
        last_error=reason,
        created_at=now,
    )
    session.add(mail)
    session.flush()
    return mail


def _recipient(proposal: Proposal) -> tuple[str, str | None, str | None]:
    """(state, reason, address) for a new mail to the proposal's author.

    The hub shows a moderator the author's address only for proposals it claimed or decided; a
    refusal without a claim therefore has no address yet: it waits for the hub like any other and
    takes the address at send time (see `_resolve_address`).
    """
    if not proposal.author_reachable:
        return "not_sent", NOT_REACHABLE, proposal.author_email
    address = (proposal.author_email or "").strip()
    if not address:
        return "waiting_hub", None, None
    try:
        return "waiting_hub", None, checked_address(address)
    except InvalidAddress as error:
        return "not_sent", f"the author's e-mail address is unusable: {error}", address


DecisionHook = Callable[[Session, Decision], None]


def refusal_mail_hook(
    charter: Charter,
    renderer: MailRenderer,
    *,
    now: Clock = utc_now,
    automated_checks: Callable[[Proposal, Decision], bool] | None = None,
    message_id_domain: str = DEFAULT_MESSAGE_ID_DOMAIN,
) -> DecisionHook:
    """The `on_recorded` hook for `moderator_app.core.triage.decide`: queues refusal mails.

    `automated_checks(proposal, decision)` says whether automatic pre-checks pointed at the cited
    clause (the mail must say so); without it the mail says no automated means were used.
    """

    def on_recorded(session: Session, decision: Decision) -> None:
        if decision.outcome != "refuse":
            return
        proposal = session.get(Proposal, decision.proposal_id)
        if proposal is None:  # decide() checked it exists in this very transaction
            raise UserError(f"proposal {decision.proposal_id} vanished from the local cache")
        flagged = automated_checks(proposal, decision) if automated_checks else False
        queue_refusal_mail(
            session,
            decision,
            proposal,
            charter,
            renderer,
            now=now(),
            automated_checks=flagged,
            message_id_domain=message_id_domain,
        )

    return on_recorded


# -- sending -----------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What one `send_sendable` run did."""

    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    busy: bool = False  # another process was sending; nothing done
    error: str | None = None  # the server could not be used at all (mails stay sendable)
    sent_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.busy:
            return "another moderator-app process is sending mails; nothing done"
        text = f"{self.sent} sent, {self.retry_later} to retry later, {self.failed} failed"
        return f"{text}; {self.error}" if self.error else text


def backoff_delay(attempts: int) -> timedelta:
    """Delay before try number `attempts + 1`: 1 min, 2, 4, ... capped at 6 h."""
    delay: timedelta = BACKOFF_BASE * (2 ** min(max(attempts - 1, 0), 20))
    return min(delay, BACKOFF_MAX)


@contextlib.contextmanager
def _sender_lock(database: Database) -> Iterator[bool]:
    """An exclusive, non-blocking advisory lock on `<cache>.mail-lock`; yields whether we hold it.

    The kernel releases it when the process dies, so a crash never leaves it behind.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: a single sender is the user's care
        yield True
        return
    lock_path = Path(f"{database.path}.mail-lock")
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class _Outgoing:
    """What sending one mail needs, read once per chunk (only the lock holder changes
    sendable rows: the sync engine and undo touch waiting_hub rows only)."""

    id: str
    to_address: str | None
    to_name: str | None
    subject: str
    body_text: str
    body_html: str
    message_id: str
    created_at: datetime
    attempts: int
    references: str | None


def _due_mails(
    session: Session, now: datetime, after: tuple[datetime, str] | None, only: set[str] | None
) -> list[_Outgoing]:
    original = aliased(MailOutbox)
    query = (
        select(MailOutbox, original.message_id)
        .outerjoin(original, original.id == MailOutbox.resend_of)
        .where(
            MailOutbox.state == "sendable",
            or_(MailOutbox.next_attempt_at.is_(None), MailOutbox.next_attempt_at <= now),
        )
    )
    if only is not None:
        query = query.where(MailOutbox.id.in_(only))
    if after is not None:
        query = query.where(
            or_(
                MailOutbox.created_at > after[0],
                (MailOutbox.created_at == after[0]) & (MailOutbox.id > after[1]),
            )
        )
    rows = session.execute(query.order_by(MailOutbox.created_at, MailOutbox.id).limit(SEND_CHUNK))
    return [
        _Outgoing(
            mail.id,
            mail.to_address,
            mail.to_name,
            mail.subject,
            mail.body_text,
            mail.body_html,
            mail.message_id,
            mail.created_at,
            mail.attempts,
            references,
        )
        for mail, references in rows
    ]


@contextlib.contextmanager
def _ledger_connection(database: Database) -> Iterator[Connection]:
    """A connection for the per-mail ledger commits, with synchronous=NORMAL while sending.

    In WAL mode a NORMAL commit is on disk for every other process as soon as it returns and
    survives the death of this process (SIGKILL included); only an operating-system crash or a
    power cut could lose the last few "sent" marks, and those mails would then go again with the
    same Message-ID. It saves an fsync per mail; the connection gets FULL back before the pool
    hands it to anyone else.
    """
    with database.engine.connect() as connection:
        # On the driver's connection: through SQLAlchemy it would run inside a transaction,
        # where SQLite refuses to change the safety level.
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA synchronous=NORMAL")
        try:
            yield connection.execution_options(sqlite_immediate=True)
        finally:
            if connection.in_transaction():
                connection.rollback()
            raw.execute("PRAGMA synchronous=FULL")


def send_sendable(
    database: Database,
    sender: SmtpSender,
    clock: Clock = utc_now,
    *,
    only: set[str] | None = None,
) -> SendReport:
    """Send every mail that is sendable and due, over one SMTP connection.

    A mail is marked sent only after the server accepted it, in its own transaction right then.
    Transient failures get `next_attempt_at` with exponential backoff; permanent ones become
    `failed` with the server's reply. If the server cannot be reached at all, nothing changes and
    the report says why. `only` restricts the run to these mail ids (a resend sent at once).
    """
    report = SendReport()
    with _sender_lock(database) as held:
        if not held:
            report.busy = True
            return report
        connection: SmtpConnection | None = None
        cursor: tuple[datetime, str] | None = None
        try:
            with _ledger_connection(database) as ledger:
                while True:
                    with database.session() as session:
                        mails = _due_mails(session, clock(), cursor, only)
                    if not mails:
                        break
                    cursor = (mails[-1].created_at, mails[-1].id)
                    for mail in mails:
                        if connection is None or connection.broken:
                            if connection is not None:
                                connection.close()
                                connection = None
                            try:
                                connection = sender.connect()
                            except SmtpConnectError as error:
                                report.error = str(error)
                                return report
                        try:
                            _send_one(database, ledger, connection, sender, mail, clock, report)
                        except SmtpConnectError as error:  # our sender address was refused
                            report.error = str(error)
                            return report
        finally:
            if connection is not None:
                connection.close()
    return report


def _resolve_address(database: Database, mail_id: str) -> str | None:
    """A confirmed mail queued without an address takes the author's address as the hub now
    shows it; without one (or unverified) it is recorded as not sent. Returns the address."""
    with database.write() as session:
        mail = session.get(MailOutbox, mail_id)
        if mail is None or mail.state != "sendable" or mail.to_address:
            return mail.to_address if mail else None
        proposal = session.get(Proposal, mail.proposal_id)
        state, reason, address = (
            _recipient(proposal) if proposal else ("not_sent", NO_ADDRESS, None)
        )
        if state == "waiting_hub" and address is None:
            state, reason = "not_sent", NO_ADDRESS
        mail.to_address = address
        if state == "not_sent":
            mail.state = "not_sent"
            mail.last_error = reason
            return None
        return address


def _send_one(
    database: Database,
    ledger: Connection,
    connection: SmtpConnection,
    sender: SmtpSender,
    mail: _Outgoing,
    clock: Clock,
    report: SendReport,
) -> None:
    to_address = mail.to_address or _resolve_address(database, mail.id)
    if not to_address:
        return  # recorded as not sent: the hub shows no usable address
    try:
        message = build_message(
            settings=sender.settings,
            to_address=to_address,
            to_name=mail.to_name,
            subject=mail.subject,
            body_text=mail.body_text,
            body_html=mail.body_html,
            message_id=mail.message_id,
            date=mail.created_at,
            references=mail.references,
        )
        result = connection.send(message, to_address)
    except InvalidAddress as error:
        result = SendResult("permanent", None, f"invalid recipient address: {error}")
    except ValueError as error:  # a stored row this version cannot turn into a message
        result = SendResult("permanent", None, f"cannot build the message: {error}")
    now = clock()
    attempts = mail.attempts + 1
    values: dict[str, object] = {"attempts": attempts}
    if result.outcome == "sent":
        values.update(state="sent", sent_at=now, last_error=None, next_attempt_at=None)
        report.sent += 1
        report.sent_ids.append(mail.id)
    elif result.outcome == "transient" and attempts < MAX_TRANSIENT_ATTEMPTS:
        values.update(next_attempt_at=now + backoff_delay(attempts), last_error=_describe(result))
        report.retry_later += 1
    else:
        final_error = _describe(result)
        if result.outcome == "transient":
            final_error += f" (gave up after {attempts} attempts)"
        values.update(state="failed", next_attempt_at=None, last_error=final_error)
        report.failed += 1
    with ledger.begin():
        ledger.execute(
            update(MailOutbox)
            .where(MailOutbox.id == mail.id, MailOutbox.state == "sendable")
            .values(**values)
        )
        ledger.execute(
            insert(MailAttempt).values(
                mail_id=mail.id,
                attempted_at=now,
                outcome=result.outcome,
                smtp_code=result.code,
                smtp_reply=result.reply,
            )
        )


def _describe(result: SendResult) -> str:
    return f"{result.code} {result.reply}" if result.code is not None else result.reply


# -- support console: find, inspect, resend ----------------------------------------------------


@dataclass(frozen=True)
class MailSummary:
    """One line of the support console's list."""

    id: str
    proposal_id: int
    decision_id: str
    to_address: str | None
    to_name: str | None
    state: str
    subject: str
    template: str
    language: str
    clause_id: str | None
    charter_version: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None
    resend_of: str | None
    resend_reason: str | None

    def to_json(self) -> dict[str, object]:
        return {
            name: (value.isoformat() if isinstance(value, datetime) else value)
            for name, value in self.__dict__.items()
        }


@dataclass(frozen=True)
class AttemptRecord:
    attempted_at: datetime
    outcome: str
    smtp_code: int | None
    smtp_reply: str

    def to_json(self) -> dict[str, object]:
        return {
            "attempted_at": self.attempted_at.isoformat(),
            "outcome": self.outcome,
            "smtp_code": self.smtp_code,
            "smtp_reply": self.smtp_reply,
        }


@dataclass(frozen=True)
class MailDetail:
    """Everything the ledger knows about one mail: the text as sent and every attempt."""

    summary: MailSummary
    message_id: str
    body_text: str
    body_html: str
    attempts: tuple[AttemptRecord, ...]
    resends: tuple[str, ...]  # ids of the mails that resent this one

    def to_json(self) -> dict[str, object]:
        return {
            **self.summary.to_json(),
            "message_id": self.message_id,
            "body_text": self.body_text,
            "body_html": self.body_html,
            "attempt_log": [attempt.to_json() for attempt in self.attempts],
            "resends": list(self.resends),
        }


def _summary(mail: MailOutbox) -> MailSummary:
    return MailSummary(
        id=mail.id,
        proposal_id=mail.proposal_id,
        decision_id=mail.decision_id,
        to_address=mail.to_address,
        to_name=mail.to_name,
        state=mail.state,
        subject=mail.subject,
        template=mail.template,
        language=mail.language,
        clause_id=mail.clause_id,
        charter_version=mail.charter_version,
        attempts=mail.attempts,
        last_error=mail.last_error,
        created_at=mail.created_at,
        sent_at=mail.sent_at,
        next_attempt_at=mail.next_attempt_at,
        resend_of=mail.resend_of,
        resend_reason=mail.resend_reason,
    )


def find_mails(
    session: Session,
    *,
    proposal_id: int | None = None,
    email: str | None = None,
    since: datetime | dt.date | None = None,
    until: datetime | dt.date | None = None,
    state: str | None = None,
    limit: int = 500,
) -> list[MailSummary]:
    """Mails matching every given filter, newest first. `email` matches case-insensitively."""
    query = select(MailOutbox)
    if proposal_id is not None:
        query = query.where(MailOutbox.proposal_id == proposal_id)
    if email:
        query = query.where(func.lower(MailOutbox.to_address) == email.strip().lower())
    if since is not None:
        query = query.where(MailOutbox.created_at >= _as_instant(since))
    if until is not None:
        query = query.where(MailOutbox.created_at < _as_instant(until, end_of_day=True))
    if state:
        query = query.where(MailOutbox.state == state)
    query = query.order_by(MailOutbox.created_at.desc(), MailOutbox.id).limit(limit)
    return [_summary(mail) for mail in session.scalars(query)]


def _as_instant(value: datetime | dt.date, *, end_of_day: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    start = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return start + timedelta(days=1) if end_of_day else start


def _get_mail(session: Session, mail_id: str) -> MailOutbox:
    """A mail by id, or by a unique id prefix of at least 6 characters (as `mail list` shows)."""
    mail_id = mail_id.strip()
    mail = session.get(MailOutbox, mail_id)
    if mail is not None:
        return mail
    if len(mail_id) >= 6 and all(c in "0123456789abcdef-" for c in mail_id):
        matches = list(
            session.scalars(select(MailOutbox).where(MailOutbox.id.startswith(mail_id)).limit(2))
        )
        if len(matches) == 1:
            return matches[0]
    raise UserError(f"no mail {clean_text(mail_id, one_line=True, max_chars=60)!r} in the ledger")


def mail_detail(session: Session, mail_id: str) -> MailDetail:
    """The ledger entry of one mail. Raises UserError for an unknown id."""
    mail = _get_mail(session, mail_id)
    attempts = session.scalars(
        select(MailAttempt).where(MailAttempt.mail_id == mail.id).order_by(MailAttempt.id)
    )
    resends = session.scalars(
        select(MailOutbox.id).where(MailOutbox.resend_of == mail.id).order_by(MailOutbox.created_at)
    )
    return MailDetail(
        summary=_summary(mail),
        message_id=mail.message_id,
        body_text=mail.body_text,
        body_html=mail.body_html,
        attempts=tuple(
            AttemptRecord(a.attempted_at, a.outcome, a.smtp_code, a.smtp_reply) for a in attempts
        ),
        resends=tuple(resends),
    )


RESENDABLE_STATES = ("sent", "failed", "not_sent")


def resend_mail(
    session: Session,
    mail_id: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    to_address: str | None = None,
    message_id_domain: str = DEFAULT_MESSAGE_ID_DOMAIN,
    max_per_hour: int = MAX_RESENDS_PER_ADDRESS_PER_HOUR,
) -> MailSummary:
    """Queue the same text again (state sendable), to the same or a corrected address.

    The reason goes to the resend row and to the audit log. At most `max_per_hour` resends per
    address per hour. Runs in the caller's write transaction; send it with `send_sendable`.
    """
    reason = clean_text(reason, one_line=False, max_chars=MAX_REASON_CHARS)
    if not reason:
        raise UserError("say why the mail is resent (--why TEXT); it goes to the audit log")
    original = _get_mail(session, mail_id)
    if original.state not in RESENDABLE_STATES:
        explain = {
            "waiting_hub": "its decision is not confirmed by the hub yet",
            "sendable": "it is still queued and goes out with the next `moderator-app mail send`",
            "cancelled": "its decision was refused by the hub (conflict), so it must not be sent",
        }.get(original.state, original.state)
        raise UserError(f"mail {original.id[:8]} cannot be resent: {explain}")
    decision = session.get(Decision, original.decision_id)
    if decision is None:
        raise UserError(f"mail {original.id[:8]} cannot be resent: its decision was taken back")
    if decision.sync_state != "applied":
        explain = (
            "the hub refused its decision (conflict)"
            if decision.sync_state in ("conflict", "dropped")
            else "its decision is not confirmed by the hub yet"
        )
        raise UserError(f"mail {original.id[:8]} cannot be resent: {explain}")
    target = to_address if to_address is not None else original.to_address
    if not target:
        raise UserError(f"mail {original.id[:8]} has no address; give one with --to ADDRESS")
    try:
        target = checked_address(target)
    except InvalidAddress as error:
        raise UserError(f"cannot resend to that address: {error}") from error
    recent = session.scalar(
        select(func.count())
        .select_from(MailOutbox)
        .where(
            MailOutbox.resend_of.is_not(None),
            func.lower(MailOutbox.to_address) == target.lower(),
            MailOutbox.created_at > now - timedelta(hours=1),
        )
    )
    if recent is not None and recent >= max_per_hour:
        raise UserError(
            f"{target} already got {recent} resends in the last hour (at most {max_per_hour}); "
            "try again later"
        )
    resend = MailOutbox(
        id=str(uuid.uuid4()),
        decision_id=original.decision_id,
        proposal_id=original.proposal_id,
        to_address=target,
        to_name=original.to_name,
        language=original.language,
        template=original.template,
        clause_id=original.clause_id,
        charter_version=original.charter_version,
        message_id=_new_message_id(message_id_domain),
        subject=original.subject,
        body_text=original.body_text,
        body_html=original.body_html,
        state="sendable",
        attempts=0,
        next_attempt_at=None,
        last_error=None,
        created_at=now,
        resend_of=original.id,
        resend_reason=reason,
    )
    session.add(resend)
    session.add(
        AuditEntry(
            at=now,
            actor=actor,
            action="mail_resend",
            proposal_id=original.proposal_id,
            decision_id=original.decision_id,
            detail=json.dumps(
                {
                    "mail_id": original.id,
                    "resend_id": resend.id,
                    "from_address": original.to_address,
                    "to_address": target,
                    "reason": reason,
                },
                ensure_ascii=False,
            ),
        )
    )
    session.flush()
    return _summary(resend)


# -- wiring for the CLI and the GUI -------------------------------------------------------------


def _prechecks_point_at(charter: Charter, proposal: Proposal, clause_id: str | None) -> bool:
    from moderator_app.core.charter.prechecks import run_prechecks

    findings = run_prechecks(proposal.content, proposal, charter=charter)
    return any(finding.clause_id == clause_id for finding in findings)


def prechecks_flagged(charter: Charter) -> Callable[[Proposal, Decision], bool]:
    """Whether the charter's automatic pre-checks point at the clause a refusal cites."""

    def flagged(proposal: Proposal, decision: Decision) -> bool:
        return _prechecks_point_at(charter, proposal, decision.clause_id)

    return flagged


def default_refusal_mail_hook(
    charter: Charter,
    *,
    templates_dir: Path | None = None,
    message_id_domain: str = DEFAULT_MESSAGE_ID_DOMAIN,
    now: Clock = utc_now,
) -> DecisionHook:
    """`refusal_mail_hook` with the shipped templates and the pre-checks as automated means.

    Use: `decide(..., on_recorded=default_refusal_mail_hook(charter))`.
    """
    from moderator_app.core.mail.render import default_templates_dir
    from moderator_app.core.paths import project_root

    renderer = MailRenderer(templates_dir or default_templates_dir(project_root()))
    return refusal_mail_hook(
        charter,
        renderer,
        now=now,
        automated_checks=prechecks_flagged(charter),
        message_id_domain=message_id_domain,
    )
