"""The hub's wire format, defined once: the hub serves it and the desktop client parses it.

Requests (what clients send, `WireModel`) forbid unknown fields, so a typo in a client or a platform
integration is a 4xx with the field named, not a silently ignored value. Answers (what the hub
sends, `AnswerModel`) ignore unknown fields, so a newer hub may add an optional field without
making older clients reject its answers.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

API_PREFIX = "/api/v1"

MAX_CONTENT_CHARS = 10_000
MAX_PAGE_SIZE = 1_000
DEFAULT_PAGE_SIZE = 500
MAX_CLAIM_COUNT = 1_000
DEFAULT_CLAIM_TTL_SECONDS = 8 * 3600
MIN_CLAIM_TTL_SECONDS = 60
MAX_CLAIM_TTL_SECONDS = 24 * 3600
MAX_DECISIONS_PER_BATCH = 500
MAX_INGEST_PER_BATCH = 1_000

Role = Literal["moderator", "lead", "support", "platform"]
Status = Literal["pending", "accepted", "refused", "postponed", "withdrawn"]
Outcome = Literal["accept", "refuse", "postpone"]
ResultStatus = Literal["applied", "duplicate", "conflict", "invalid"]
ConflictKind = Literal["decided_by_other", "claimed_by_other", "withdrawn", "version_changed"]

# Ids are 64-bit on PostgreSQL; a larger number can only be a mistake.
MAX_ID = 2**63 - 1
MAX_VERSION = 2**31 - 1


def _storable_text(value: str) -> str:
    """Text a database can store: no NUL byte, no lone UTF-16 surrogate (JSON allows both)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL bytes")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (a lone surrogate was found)") from None
    return value


def _utc(value: datetime) -> datetime:
    """Aware datetimes are converted to UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date is out of range") from None


# A BCP 47-like language tag: 2-3 lower-case letters, optionally a region (fr, fr-BE, es-419).
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(?:-(?:[A-Z]{2}|[0-9]{3}))?")
# An ISO 3166-1 alpha-2 country code.
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
MAX_EMAIL_CHARS = 254


def _language(value: str) -> str:
    if not LANGUAGE_PATTERN.fullmatch(value):
        raise ValueError("must be a language code such as fr, en or fr-BE")
    return value


def _country(value: str) -> str:
    if not COUNTRY_PATTERN.fullmatch(value):
        raise ValueError("must be an ISO 3166 country code of two capital letters, such as FR")
    return value


def _email(value: str) -> str:
    """A mail address's shape: one @, no space or control character, sane lengths. Unicode
    (internationalised) domains and local parts, and + tags, are fine."""
    if any(unicodedata.category(c)[0] in "CZ" for c in value):
        raise ValueError("must not contain spaces, line breaks or control characters")
    local, at, domain = value.rpartition("@")
    if not at or not local or "@" in local:
        raise ValueError("must be a mail address with exactly one @, such as name@example.org")
    if len(value) > MAX_EMAIL_CHARS or len(local) > 64:
        raise ValueError(f"must be at most {MAX_EMAIL_CHARS} characters (64 before the @)")
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels) or any(len(label) > 63 for label in labels):
        raise ValueError("must end with a domain name such as example.org")
    return value


StorableText = AfterValidator(_storable_text)
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), StorableText]
Content = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_CONTENT_CHARS), StorableText
]
Note = Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS), StorableText]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=200), StorableText]
ProposalId = Annotated[int, Field(ge=1, le=MAX_ID)]


class WireModel(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AnswerModel(BaseModel):
    """An answer from the hub: unknown fields (added by a newer hub) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ErrorBody(AnswerModel):
    """Every 4xx answer: a machine-readable code, a sentence, and the offending field if any."""

    error: str
    detail: str
    field: str | None = None


class Me(AnswerModel):
    name: str
    role: Role


class Health(AnswerModel):
    status: Literal["ok"]
    version: str


class Question(AnswerModel):
    slug: str
    title: str
    language: str
    rewrite_url_template: str | None = None


class Claim(AnswerModel):
    moderator: str
    expires_at: datetime


class DecisionInfo(AnswerModel):
    """The decision the hub recorded for a proposal (the latest one if it was reopened)."""

    id: uuid.UUID
    outcome: Outcome
    clause: str | None
    charter_version: str
    moderator: str
    decided_at: datetime
    edited_content: str | None = None
    note: str | None = None


class ProposalItem(AnswerModel):
    """One proposal as the hub shows it; `seq` is the hub-wide sequence value of its last change."""

    id: int
    external_id: str
    question: str
    content: str
    original_content: str | None = None
    language: str
    country: str | None
    created_at: datetime
    status: Status
    version: int
    author_first_name: str
    # Personal data: null unless the caller may see it (see the hub's roles).
    author_email: str | None
    author_reachable: bool
    rewrite_url: str | None
    claim: Claim | None
    decision: DecisionInfo | None
    seq: int


class ProposalPage(AnswerModel):
    items: list[ProposalItem]
    next_cursor: int
    has_more: bool


class ClaimRequest(WireModel):
    count: int = Field(ge=1, le=MAX_CLAIM_COUNT)
    question: Slug | None = None
    ttl_seconds: int = Field(
        default=DEFAULT_CLAIM_TTL_SECONDS, ge=MIN_CLAIM_TTL_SECONDS, le=MAX_CLAIM_TTL_SECONDS
    )


class RenewRequest(WireModel):
    """Renew the caller's claims: the listed ones, or all of them when proposal_ids is null."""

    proposal_ids: list[ProposalId] | None = Field(default=None, max_length=MAX_CLAIM_COUNT)
    ttl_seconds: int = Field(
        default=DEFAULT_CLAIM_TTL_SECONDS, ge=MIN_CLAIM_TTL_SECONDS, le=MAX_CLAIM_TTL_SECONDS
    )


class ClaimResponse(AnswerModel):
    items: list[ProposalItem]


class DecisionIn(WireModel):
    id: uuid.UUID  # generated by the client; replaying it is always safe
    proposal_id: ProposalId
    proposal_version: int = Field(ge=0, le=MAX_VERSION)
    outcome: Outcome
    reason: ShortText | None = None  # charter clause id, required for refuse
    charter_version: Annotated[str, StringConstraints(min_length=1, max_length=64), StorableText]
    edited_content: Content | None = None  # only with accept
    note: Note | None = None
    decided_at: UtcDateTime


class DecisionBatch(WireModel):
    """The body of POST /decisions. The hub validates each decision on its own, so one bad item
    gets an `invalid` result instead of failing the whole batch."""

    decisions: list[DecisionIn] = Field(max_length=MAX_DECISIONS_PER_BATCH)


class DecisionBatchEnvelope(WireModel):
    """What the hub parses first: the envelope only; items are validated one by one."""

    decisions: list[Any] = Field(max_length=MAX_DECISIONS_PER_BATCH)


class FieldError(AnswerModel):
    field: str
    message: str


class DecisionResult(AnswerModel):
    id: uuid.UUID | None  # null only when the id itself was unreadable
    status: ResultStatus
    conflict: ConflictKind | None = None
    detail: str | None = None
    errors: list[FieldError] | None = None
    current: ProposalItem | None = None


class DecisionResults(AnswerModel):
    results: list[DecisionResult]


class IngestProposal(WireModel):
    external_id: ShortText
    question: Slug
    content: Content
    author_first_name: Annotated[str, StringConstraints(max_length=200), StorableText]
    author_email: Annotated[str, StorableText, AfterValidator(_email)] | None = None
    author_reachable: bool = False
    language: Annotated[str, AfterValidator(_language)]
    country: Annotated[str, AfterValidator(_country)] | None = None
    created_at: UtcDateTime


class IngestBatch(WireModel):
    proposals: list[IngestProposal] = Field(max_length=MAX_INGEST_PER_BATCH)


class IngestResult(AnswerModel):
    external_id: str
    id: int
    status: Literal["created", "unchanged", "updated"]


class IngestResults(AnswerModel):
    results: list[IngestResult]


class WithdrawRequest(WireModel):
    reason: Note | None = None


class ReopenRequest(WireModel):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2_000), StorableText]


class FeedDecision(AnswerModel):
    """One entry of the decision feed the platform reads to publish and notify."""

    seq: int
    decision_id: uuid.UUID
    proposal_id: int
    external_id: str
    question: str
    outcome: Outcome
    clause: str | None
    charter_version: str
    moderator: str
    decided_at: datetime
    published_content: str | None  # the text to publish on accept (corrected if edited)
    note: str | None = None


class FeedPage(AnswerModel):
    items: list[FeedDecision]
    next_cursor: int
    has_more: bool
