"""The local cache's tables as SQLAlchemy 2.0 typed ORM models.

The proposals table mirrors the hub's `wire.ProposalItem`; local decisions carry the UUID the hub
deduplicates on and their sync state; the mail tables follow CONTRACTS.md and are filled by the mail
part. The schema itself is created by the Alembic chain in `migrations/`, never by `create_all`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Literal, get_args

from sqlalchemy import (
    CheckConstraint,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

SyncState = Literal["unsent", "sent", "applied", "conflict", "dropped"]
# The hub's four conflict kinds, plus "invalid": the hub refused the decision's fields.
LocalConflictKind = Literal[
    "decided_by_other", "claimed_by_other", "withdrawn", "version_changed", "invalid"
]
MailState = Literal["waiting_hub", "sendable", "sent", "failed", "cancelled", "not_sent"]
AttemptOutcome = Literal["sent", "transient", "permanent"]

SYNC_STATES: Final = get_args(SyncState)
ACTIVE_SYNC_STATES: Final = ("unsent", "sent")  # still to be confirmed by the hub
MAIL_STATES: Final = get_args(MailState)


def _in_list(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def format_utc(value: datetime) -> str:
    """One fixed text form for instants, so SQLite sorts and compares them as strings."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored: pass an aware datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as sortable UTC text; they come back aware."""

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else format_utc(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else parse_utc(value)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Question(Base):
    __tablename__ = "questions"

    slug: Mapped[str] = mapped_column(String, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String)
    rewrite_url_template: Mapped[str | None] = mapped_column(Text)


class Proposal(Base):
    """A proposal as the hub last showed it (the hub's decision included); never edited locally."""

    __tablename__ = "proposals"
    __table_args__ = (
        Index("ix_proposals_status_created", "status", "created_at"),
        Index("ix_proposals_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    external_id: Mapped[str] = mapped_column(String)
    question: Mapped[str] = mapped_column(String, index=True)
    content: Mapped[str] = mapped_column(Text)
    original_content: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String)
    country: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String)
    version: Mapped[int] = mapped_column(Integer)
    author_first_name: Mapped[str] = mapped_column(Text)
    author_email: Mapped[str | None] = mapped_column(Text)
    author_reachable: Mapped[bool]
    rewrite_url: Mapped[str | None] = mapped_column(Text)
    # The hub's recorded decision (the latest one if the proposal was reopened).
    hub_decision_id: Mapped[str | None] = mapped_column(String(36))
    hub_decision_outcome: Mapped[str | None] = mapped_column(String)
    hub_decision_clause: Mapped[str | None] = mapped_column(String)
    hub_decision_charter_version: Mapped[str | None] = mapped_column(String)
    hub_decision_moderator: Mapped[str | None] = mapped_column(String)
    hub_decision_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hub_decision_edited_content: Mapped[str | None] = mapped_column(Text)
    hub_decision_note: Mapped[str | None] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(Integer)


class Claim(Base):
    """Who holds the hub's claim on a proposal, as last seen (one row per claimed proposal)."""

    __tablename__ = "claims"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True
    )
    moderator: Mapped[str] = mapped_column(String, index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Decision(Base):
    """A decision taken on this machine, kept until the hub's answer is known and beyond."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(_in_list("sync_state", SYNC_STATES), name="sync_state"),
        CheckConstraint(_in_list("outcome", ("accept", "refuse", "postpone")), name="outcome"),
        # At most one decision per proposal waiting for the hub.
        Index(
            "uq_decisions_active_proposal",
            "proposal_id",
            unique=True,
            sqlite_where=text(_in_list("sync_state", ACTIVE_SYNC_STATES)),
        ),
        Index("ix_decisions_sync_state", "sync_state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # client-generated UUID
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    proposal_version: Mapped[int]
    outcome: Mapped[str] = mapped_column(String)
    clause_id: Mapped[str | None] = mapped_column(String)
    charter_version: Mapped[str] = mapped_column(String)
    edited_content: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    moderator: Mapped[str] = mapped_column(String)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sync_state: Mapped[str] = mapped_column(String, default="unsent")
    conflict_kind: Mapped[str | None] = mapped_column(String)
    hub_detail: Mapped[str | None] = mapped_column(Text)
    # The hub's answer: its current state of the proposal as JSON (wire.ProposalItem), if given.
    hub_state: Mapped[str | None] = mapped_column(Text)
    push_attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class HubSyncState(Base):
    """Per hub: the cursor after which changes are still to be pulled, and the last outcome."""

    __tablename__ = "hub_sync_state"

    hub_url: Mapped[str] = mapped_column(String, primary_key=True)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    last_pull_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_push_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """Append-only local history: who did what, when, to which proposal or decision."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    proposal_id: Mapped[int | None] = mapped_column(Integer, index=True)
    decision_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON


class MailOutbox(Base):
    """A refusal mail, queued with its decision (see CONTRACTS.md; filled by the mail part)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (CheckConstraint(_in_list("state", MAIL_STATES), name="state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(36), index=True)
    proposal_id: Mapped[int] = mapped_column(Integer, index=True)
    to_address: Mapped[str | None] = mapped_column(Text, index=True)
    to_name: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String)
    template: Mapped[str] = mapped_column(String)
    clause_id: Mapped[str | None] = mapped_column(String)
    charter_version: Mapped[str] = mapped_column(String)
    message_id: Mapped[str] = mapped_column(Text, unique=True)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resend_of: Mapped[str | None] = mapped_column(String(36))
    resend_reason: Mapped[str | None] = mapped_column(Text)


class MailAttempt(Base):
    """One try at handing a mail to the SMTP server, with the server's reply."""

    __tablename__ = "mail_attempt"
    __table_args__ = (
        CheckConstraint(_in_list("outcome", ("sent", "transient", "permanent")), name="outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mail_id: Mapped[str] = mapped_column(ForeignKey("mail_outbox.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String)
    smtp_code: Mapped[int | None] = mapped_column(Integer)
    smtp_reply: Mapped[str] = mapped_column(Text)
