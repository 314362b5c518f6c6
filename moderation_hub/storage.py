"""The hub's rules: who may see and change what, claims, decisions exactly once, change order.

The HTTP layer only translates requests into calls on `HubStorage`; everything that must hold on
SQLite and PostgreSQL alike lives here.

Ordering guarantee: every change takes the next value(s) of the one-row `hub_counter`, bumped as the
last lock a write transaction takes. On PostgreSQL the row lock is held until commit, so sequence
values are committed in increasing order; on SQLite a write transaction (BEGIN IMMEDIATE) already
excludes every other writer. A reader that resumes after cursor C therefore never misses a change.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast, get_args
from urllib.parse import quote

from pydantic import ValidationError
from sqlalchemy import (
    DateTime,
    Engine,
    Select,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from moderation_hub import wire
from moderation_hub.database import WRITE_OPTION, make_engine, migrate
from moderation_hub.errors import Conflict, InvalidInput, NotFound
from moderation_hub.schema import (
    AuditEntry,
    CharterClause,
    Decision,
    DecisionReceipt,
    HubCounter,
    Proposal,
    Question,
    User,
)

ROLES: Final = frozenset(get_args(wire.Role))

# Which roles may do what: the API's auth dependency checks these.
CAN_READ_PROPOSALS: Final = frozenset({"moderator", "lead", "support"})
CAN_MODERATE: Final = frozenset({"moderator", "lead"})
CAN_REOPEN: Final = frozenset({"lead"})
CAN_INGEST: Final = frozenset({"platform"})
CAN_READ_FEED: Final = frozenset({"platform", "lead", "support"})
SEES_ALL_EMAILS: Final = frozenset({"lead", "support"})

OUTCOME_STATUS: Final = {"accept": "accepted", "refuse": "refused", "postpone": "postponed"}
FINAL_STATUSES: Final = frozenset({"accepted", "refused"})

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}")
_RETRIES = 5


class _Unset:
    """The type of _UNSET: "leave this field as it is" where None has a meaning of its own."""


_UNSET: Final = _Unset()
# A charter clause id: lower-case words joined by '-', e.g. off-topic.
_CLAUSE_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MAX_CLAUSE_ID_CHARS: Final = 64
# A charter version is MAJOR.MINOR.PATCH (ASCII digits, no leading zero).
_SEMVER = re.compile(r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)")
# How far a decision's decided_at may be ahead of the hub's clock (moderators' clocks drift).
MAX_DECIDED_AT_AHEAD: Final = timedelta(minutes=5)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    id: int
    name: str
    role: str


class HubStorage:
    """All reads and writes of one hub database."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self.engine = engine
        self._clock = clock
        self._postgres = engine.dialect.name == "postgresql"
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    @classmethod
    def open(cls, db_url: str, *, clock: Clock = utc_now) -> HubStorage:
        """Connect, bring the schema up to date, and return the storage."""
        engine = make_engine(db_url)
        try:
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock=clock)

    def close(self) -> None:
        self.engine.dispose()

    # -- users and questions (CLI and embedded hub) -------------------------------------------

    def add_user(self, name: str, role: str) -> str:
        """Create a user and return its new API token (only its hash is stored)."""
        if not _USER_NAME.fullmatch(name):
            raise InvalidInput(
                "a user name is 1-200 letters, digits or . _ @ + - and starts with a letter or "
                "digit",
                "name",
            )
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(sorted(ROLES))}", "role")
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._write.begin() as session:
            existing = session.scalars(select(User).where(User.name == name)).one_or_none()
            if existing is None:
                session.add(
                    User(name=name, role=role, token_sha256=hash_token(token), created_at=now)
                )
                self._audit(session, "admin", "user_added", None, None, f"{name} ({role})", now=now)
            elif existing.revoked_at is not None:
                # A revoked user comes back with a new token (its old one stays dead).
                existing.revoked_at = None
                existing.role = role
                existing.token_sha256 = hash_token(token)
                self._audit(
                    session, "admin", "user_restored", None, "revoked", f"{name} ({role})", now=now
                )
            else:
                raise Conflict(
                    f"a user named {name!r} already exists; revoke it first to issue a new token",
                    "name",
                )
        return token

    def revoke_user(self, name: str) -> None:
        """Revoke a user's token and release the claims it holds."""
        now = self._clock()
        with self._write.begin() as session:
            user = session.execute(
                select(User.id, User.role, User.revoked_at).where(User.name == name)
            ).one_or_none()
            if user is None:
                raise NotFound(f"no user named {name!r}", "name")
            if user.revoked_at is not None:
                return
            held = session.scalars(
                select(Proposal)
                .where(Proposal.claim_user_id == user.id)
                .order_by(Proposal.id)
                .with_for_update()
            ).all()
            # The counter before the user row: other writers lock the counter first and then
            # the user row (foreign key checks), so the opposite order could deadlock.
            first = self._next_seqs(session, len(held) + 1)
            session.execute(
                update(User)
                .where(User.id == user.id)
                .values(revoked_at=now, token_sha256=None)
                .execution_options(synchronize_session=False)
            )
            for offset, proposal in enumerate(held):
                proposal.claim_user_id = None
                proposal.claim_expires_at = None
                proposal.seq = first + offset
                self._audit(
                    session,
                    "admin",
                    "released",
                    proposal.id,
                    f"claimed by {name}",
                    "unclaimed",
                    now=now,
                    seq=proposal.seq,
                    detail="user revoked",
                )
            self._audit(
                session, "admin", "user_revoked", None, user.role, "revoked", now=now, detail=name
            )

    def add_question(
        self,
        slug: str,
        *,
        title: str,
        language: str,
        rewrite_url_template: str | None = None,
    ) -> wire.Question:
        """Create a question; an existing slug is refused (change it with update_question)."""
        if not _SLUG.fullmatch(slug):
            raise InvalidInput(
                "a question slug is 1-200 letters, digits or . _ - and starts with a letter or "
                "digit",
                "slug",
            )
        _check_question_fields(title, language, rewrite_url_template)
        now = self._clock()
        with self._write.begin() as session:
            if session.scalar(select(Question.id).where(Question.slug == slug)) is not None:
                raise Conflict(
                    f"question {slug!r} already exists; change it with "
                    "`moderation-hub question update`",
                    "slug",
                )
            question = Question(
                slug=slug,
                title=title,
                language=language,
                rewrite_url_template=rewrite_url_template,
            )
            session.add(question)
            self._audit(session, "admin", "question_added", None, None, slug, now=now, detail=title)
        return _question_wire(question)

    def update_question(
        self,
        slug: str,
        *,
        title: str | None = None,
        language: str | None = None,
        rewrite_url_template: str | _Unset | None = _UNSET,
    ) -> tuple[wire.Question, list[str]]:
        """Change only the given fields of a question (rewrite_url_template=None removes the
        link); returns the question and the names of the fields that really changed."""
        with self._read() as session:
            current = session.scalars(select(Question).where(Question.slug == slug)).one_or_none()
            if current is None:
                raise NotFound(f"no question {slug!r}", "slug")
            wanted = {
                "title": current.title if title is None else title,
                "language": current.language if language is None else language,
                "rewrite_url_template": (
                    current.rewrite_url_template
                    if isinstance(rewrite_url_template, _Unset)
                    else rewrite_url_template
                ),
            }
        _check_question_fields(
            wanted["title"] or "", wanted["language"] or "", wanted["rewrite_url_template"]
        )
        now = self._clock()
        with self._write.begin() as session:
            question = session.scalars(
                select(Question).where(Question.slug == slug).with_for_update()
            ).one_or_none()
            if question is None:
                raise NotFound(f"no question {slug!r}", "slug")
            changed = [name for name, value in wanted.items() if getattr(question, name) != value]
            for name in changed:
                setattr(question, name, wanted[name])
            if changed:
                self._audit(
                    session,
                    "admin",
                    "question_updated",
                    None,
                    None,
                    slug,
                    now=now,
                    detail=", ".join(changed),
                )
        return _question_wire(question), changed

    def load_charter(self, versions: dict[str, set[str]]) -> list[str]:
        """Record the clause ids of released charter versions; once the hub knows any version, a
        decision must cite a known version and, for a refusal, one of its clauses. Returns the
        versions that were new or whose clauses changed."""
        for version, clauses in versions.items():
            if not _SEMVER.fullmatch(version):
                raise InvalidInput(
                    f"charter version {version!r} is not MAJOR.MINOR.PATCH", "version"
                )
            for clause in clauses:
                if len(clause) > MAX_CLAUSE_ID_CHARS or not _CLAUSE_ID.fullmatch(clause):
                    raise InvalidInput(
                        f"charter {version}: {clause!r} is not a clause id (lower-case words "
                        "joined by '-')",
                        "clause",
                    )
        known = self.charter_clauses()
        changed = sorted(v for v, clauses in versions.items() if known.get(v) != clauses)
        if not changed:
            return []
        now = self._clock()
        with self._write.begin() as session:
            for version in changed:
                session.execute(delete(CharterClause).where(CharterClause.version == version))
                session.add_all(
                    CharterClause(version=version, clause=c) for c in sorted(versions[version])
                )
                self._audit(
                    session, "admin", "charter_loaded", None, None, version, now=now,
                    detail=", ".join(sorted(versions[version])),
                )  # fmt: skip
        return changed

    def charter_clauses(self) -> dict[str, set[str]]:
        """{charter version: clause ids} the hub was told about (empty: any well-formed one)."""
        versions: dict[str, set[str]] = {}
        with self._read() as session:
            for version, clause in session.execute(
                select(CharterClause.version, CharterClause.clause)
            ):
                versions.setdefault(version, set()).add(clause)
        return versions

    def authenticate(self, token: str) -> Principal | None:
        with self._read() as session:
            row = session.execute(
                select(User.id, User.name, User.role).where(
                    User.token_sha256 == hash_token(token), User.revoked_at.is_(None)
                )
            ).one_or_none()
        return None if row is None else Principal(id=row.id, name=row.name, role=row.role)

    def questions(self) -> list[wire.Question]:
        with self._read() as session:
            return [
                _question_wire(q) for q in session.scalars(select(Question).order_by(Question.slug))
            ]

    # -- proposals -----------------------------------------------------------------------------

    def ingest(
        self, actor: Principal | str, proposals: Sequence[wire.IngestProposal]
    ) -> list[wire.IngestResult]:
        """Add or update proposals by external_id, all or nothing."""
        for attempt in range(_RETRIES):
            try:
                return self._ingest_once(_actor_name(actor), proposals)
            except IntegrityError:
                # Another hub inserted the same external_id meanwhile: look again.
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _ingest_once(
        self, actor: str, proposals: Sequence[wire.IngestProposal]
    ) -> list[wire.IngestResult]:
        now = self._clock()
        with self._write.begin() as session:
            slugs = {p.question for p in proposals}
            question_ids = {
                slug: question_id
                for slug, question_id in session.execute(
                    select(Question.slug, Question.id).where(Question.slug.in_(slugs))
                )
            }
            keys: set[tuple[str, str]] = set()
            for index, item in enumerate(proposals):
                if item.question not in question_ids:
                    raise NotFound(
                        f"no question with slug {item.question!r}", f"proposals.{index}.question"
                    )
                if (item.question, item.external_id) in keys:
                    raise InvalidInput(
                        f"external_id {item.external_id!r} appears twice in this batch",
                        f"proposals.{index}.external_id",
                    )
                keys.add((item.question, item.external_id))
            existing_ids: list[int] = []
            for slug, question_id in question_ids.items():
                external_ids = [p.external_id for p in proposals if p.question == slug]
                for chunk in _chunks(external_ids, 500):
                    existing_ids += session.scalars(
                        select(Proposal.id)
                        .where(Proposal.question_id == question_id)
                        .where(Proposal.external_id.in_(chunk))
                    )
            self._lock_proposals(session, existing_ids)  # in id order, like every writer
            existing = {
                (p.question_id, p.external_id): p
                for p in (session.get(Proposal, pid) for pid in existing_ids)
                if p is not None
            }
            # Decide what changes first, then take sequence values last (see the module doc).
            plan: list[tuple[wire.IngestProposal, Proposal | None, bool]] = []
            for item in proposals:
                current = existing.get((question_ids[item.question], item.external_id))
                plan.append((item, current, current is None or _ingest_differs(current, item)))
            changes = sum(1 for _, _, changed in plan if changed)
            next_seq = self._next_seqs(session, changes) if changes else 0
            # (plan index, status) -> result; new rows are inserted in one bulk statement.
            results: list[wire.IngestResult | None] = [None] * len(plan)
            new_rows: list[dict[str, Any]] = []
            new_positions: list[int] = []
            audit_rows: list[dict[str, Any]] = []
            for position, (item, current, changed) in enumerate(plan):
                if current is None:
                    new_rows.append(
                        {
                            "question_id": question_ids[item.question],
                            "external_id": item.external_id,
                            "status": "pending",
                            "version": 1,
                            "seq": next_seq,
                            **_ingest_fields(item),
                        }
                    )
                    new_positions.append(position)
                    next_seq += 1
                elif changed:
                    before = current.status
                    content_changed = item.content != _author_text(current)
                    for name, value in _ingest_fields(item).items():
                        setattr(current, name, value)
                    if content_changed:
                        current.original_content = None
                        if current.status != "withdrawn":
                            # New text from the author: it needs a fresh decision.
                            current.status = "pending"
                    current.version += 1
                    current.seq = next_seq
                    next_seq += 1
                    audit_rows.append(
                        _audit_row(
                            actor,
                            "edited",
                            current.id,
                            before,
                            current.status,
                            now,
                            current.seq,
                            "content changed" if content_changed else "details changed",
                        )
                    )
                    results[position] = wire.IngestResult(
                        external_id=item.external_id, id=current.id, status="updated"
                    )
                else:
                    results[position] = wire.IngestResult(
                        external_id=item.external_id, id=current.id, status="unchanged"
                    )
            session.flush()
            if new_rows:
                inserted = session.execute(
                    insert(Proposal).returning(
                        Proposal.id, Proposal.seq, sort_by_parameter_order=True
                    ),
                    new_rows,
                ).all()
                for position, (new_id, seq) in zip(new_positions, inserted, strict=True):
                    audit_rows.append(
                        _audit_row(actor, "ingested", new_id, None, "pending", now, seq, None)
                    )
                    results[position] = wire.IngestResult(
                        external_id=plan[position][0].external_id, id=new_id, status="created"
                    )
            if audit_rows:
                session.execute(insert(AuditEntry), audit_rows)
            return [r for r in results if r is not None]

    def changes_json(self, viewer: Principal, since: int, limit: int) -> bytes:
        """A wire.ProposalPage as JSON: proposals whose last change came after `since`, in change
        order. Built without model objects because it is the hub's hottest path."""
        # Pick the page from the seq index first, then join: the joins then touch only the page,
        # whatever the planner believes about the table's size.
        page_ids = (
            select(Proposal.id)
            .where(Proposal.seq > since)
            .order_by(Proposal.seq)
            .limit(limit + 1)
            .subquery()
        )
        query = _item_query().join(page_ids, page_ids.c.id == Proposal.id).order_by(Proposal.seq)
        with self.engine.connect() as connection:  # plain Core rows: no ORM loading
            rows = connection.execute(query).all()
        now = self._clock()
        items = [_item_dict(row, viewer, now) for row in rows[:limit]]
        page = {
            "items": items,
            "next_cursor": items[-1]["seq"] if items else since,
            "has_more": len(rows) > limit,
        }
        return json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def changes(self, viewer: Principal, since: int, limit: int) -> wire.ProposalPage:
        """The same page as `changes_json`, parsed (and so checked) as the client would."""
        return wire.ProposalPage.model_validate_json(self.changes_json(viewer, since, limit))

    def proposal(self, viewer: Principal, proposal_id: int) -> wire.ProposalItem:
        with self._read() as session:
            items = self._items(session, viewer, [proposal_id])
        if not items:
            raise NotFound(f"no proposal with id {proposal_id}", "proposal_id")
        return items[0]

    def claim(
        self, viewer: Principal, count: int, question: str | None, ttl_seconds: int
    ) -> list[wire.ProposalItem]:
        """Claim up to `count` more pending proposals nobody holds (or whose claim expired),
        oldest first. Claims the caller already holds are not returned again: renew them."""
        now = self._clock()
        expires = now + timedelta(seconds=ttl_seconds)
        with self._write.begin() as session:
            query = (
                select(Proposal.id, Proposal.claim_user_id, Proposal.claim_expires_at)
                .where(Proposal.status == "pending")
                .where(or_(Proposal.claim_user_id.is_(None), Proposal.claim_expires_at <= now))
                .order_by(Proposal.created_at, Proposal.id)
                .limit(count)
            )
            if question is not None:
                question_id = session.scalar(select(Question.id).where(Question.slug == question))
                if question_id is None:
                    raise NotFound(f"no question with slug {question!r}", "question")
                query = query.where(Proposal.question_id == question_id)
            if self._postgres:
                # Two claimers never wait for, nor take, each other's rows.
                query = query.with_for_update(skip_locked=True, of=Proposal)
            picked = session.execute(query).all()
            ids = [row.id for row in picked]
            if ids:
                first = self._next_seqs(session, len(ids))
                session.execute(
                    update(Proposal),
                    [
                        {
                            "id": pid,
                            "claim_user_id": viewer.id,
                            "claim_expires_at": expires,
                            "seq": first + offset,
                        }
                        for offset, pid in enumerate(ids)
                    ],
                )
                holders = self._user_names(session, {r.claim_user_id for r in picked})
                session.add_all(
                    AuditEntry(
                        at=now,
                        actor=viewer.name,
                        action="claimed",
                        proposal_id=row.id,
                        from_state=_claim_state(
                            holders, row.claim_user_id, row.claim_expires_at, now
                        ),
                        to_state=f"claimed by {viewer.name} until {expires.isoformat()}",
                        seq=first + offset,
                    )
                    for offset, row in enumerate(picked)
                )
            return self._items(session, viewer, ids)

    def renew(
        self, viewer: Principal, proposal_ids: Sequence[int] | None, ttl_seconds: int
    ) -> list[wire.ProposalItem]:
        """Extend the caller's unexpired claims (all of them, or the listed ones it holds)."""
        now = self._clock()
        expires = now + timedelta(seconds=ttl_seconds)
        with self._write.begin() as session:
            query = (
                select(Proposal.id)
                .where(Proposal.claim_user_id == viewer.id)
                .where(Proposal.claim_expires_at > now)
                .where(Proposal.status == "pending")
                .order_by(Proposal.id)
            )
            if proposal_ids is not None:
                query = query.where(Proposal.id.in_(set(proposal_ids)))
            if self._postgres:
                query = query.with_for_update()
            ids = list(session.scalars(query))
            if ids:
                first = self._next_seqs(session, len(ids))
                session.execute(
                    update(Proposal),
                    [
                        {"id": pid, "claim_expires_at": expires, "seq": first + offset}
                        for offset, pid in enumerate(ids)
                    ],
                )
                session.add_all(
                    AuditEntry(
                        at=now,
                        actor=viewer.name,
                        action="renewed",
                        proposal_id=pid,
                        from_state=f"claimed by {viewer.name}",
                        to_state=f"claimed by {viewer.name} until {expires.isoformat()}",
                        seq=first + offset,
                    )
                    for offset, pid in enumerate(ids)
                )
            return self._items(session, viewer, ids)

    def release(self, viewer: Principal, proposal_id: int) -> wire.ProposalItem:
        """Give back a claim the caller holds."""
        now = self._clock()
        with self._write.begin() as session:
            proposal = self._locked_proposal(session, proposal_id)
            held = (
                proposal.claim_user_id == viewer.id
                and proposal.claim_expires_at is not None
                and proposal.claim_expires_at > now
            )
            if not held:
                raise Conflict(f"you hold no claim on proposal {proposal_id}", "proposal_id")
            proposal.claim_user_id = None
            proposal.claim_expires_at = None
            proposal.seq = self._next_seqs(session, 1)
            self._audit(
                session,
                viewer.name,
                "released",
                proposal.id,
                f"claimed by {viewer.name}",
                "unclaimed",
                now=now,
                seq=proposal.seq,
            )
            return self._items(session, viewer, [proposal.id])[0]

    def withdraw(self, actor: Principal, proposal_id: int, reason: str | None) -> wire.ProposalItem:
        """The author or the platform took the proposal down; it leaves the queue for good."""
        now = self._clock()
        with self._write.begin() as session:
            proposal = self._locked_proposal(session, proposal_id)
            if proposal.status != "withdrawn":
                before = proposal.status
                proposal.status = "withdrawn"
                proposal.claim_user_id = None
                proposal.claim_expires_at = None
                proposal.version += 1
                proposal.seq = self._next_seqs(session, 1)
                self._audit(
                    session,
                    actor.name,
                    "withdrawn",
                    proposal.id,
                    before,
                    "withdrawn",
                    now=now,
                    seq=proposal.seq,
                    detail=reason,
                )
            return self._items(session, actor, [proposal.id])[0]

    def reopen(self, actor: Principal, proposal_id: int, reason: str) -> wire.ProposalItem:
        """A lead sends a decided or postponed proposal back to the queue."""
        now = self._clock()
        with self._write.begin() as session:
            proposal = self._locked_proposal(session, proposal_id)
            if proposal.status not in ("accepted", "refused", "postponed"):
                raise Conflict(
                    f"proposal {proposal_id} is {proposal.status}; only a decided or postponed "
                    "proposal can be reopened",
                    "proposal_id",
                )
            before = proposal.status
            proposal.status = "pending"
            proposal.claim_user_id = None
            proposal.claim_expires_at = None
            proposal.version += 1
            proposal.seq = self._next_seqs(session, 1)
            self._audit(
                session,
                actor.name,
                "reopened",
                proposal.id,
                before,
                "pending",
                now=now,
                seq=proposal.seq,
                detail=reason,
            )
            return self._items(session, actor, [proposal.id])[0]

    # -- decisions -----------------------------------------------------------------------------

    def decide(self, viewer: Principal, raw_items: Sequence[Any]) -> list[wire.DecisionResult]:
        """One result per item. Each decision is validated and judged on its own (an invalid or
        conflicting one does not stop the others); the batch is committed in one transaction and
        the results are returned only after that commit, so a decision is never half-applied and
        a client that got no answer simply sends the batch again."""
        now = self._clock()
        charter = self.charter_clauses()
        checked = [_check_decision(raw, now, charter) for raw in raw_items]
        for attempt in range(_RETRIES):
            try:
                return self._apply_batch(viewer, checked)
            except IntegrityError:
                # The same decision id arrived through another connection at the same moment:
                # the retry finds its receipt and answers `duplicate`.
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _apply_batch(
        self, viewer: Principal, checked: Sequence[wire.DecisionIn | wire.DecisionResult]
    ) -> list[wire.DecisionResult]:
        now = self._clock()
        decisions = [d for d in checked if isinstance(d, wire.DecisionIn)]
        with self._write.begin() as session:
            # Lock every proposal of the batch first, in id order, then the counter: the same
            # order as every other writer, so two writers never wait for each other.
            self._lock_proposals(session, {d.proposal_id for d in decisions})
            receipts: dict[str, DecisionReceipt] = {}
            for chunk in _chunks([str(d.id) for d in decisions], 500):
                for receipt in session.scalars(
                    select(DecisionReceipt).where(DecisionReceipt.id.in_(chunk))
                ):
                    receipts[receipt.id] = receipt
            first = self._next_seqs(session, len(decisions)) if decisions else 0
            seqs = iter(range(first, first + len(decisions)))
            answers: list[tuple[wire.DecisionResult, int | None]] = []
            for item in checked:
                if isinstance(item, wire.DecisionResult):
                    answers.append((item, None))
                else:
                    answers.append(self._apply_decision(session, viewer, item, now, receipts, seqs))
            session.flush()
            # Each result shows its proposal as the batch leaves it.
            shown = {
                item.id: item
                for item in self._items(
                    session, viewer, sorted({pid for _, pid in answers if pid is not None})
                )
            }
            return [
                result if pid is None else result.model_copy(update={"current": shown.get(pid)})
                for result, pid in answers
            ]

    def _lock_proposals(self, session: Session, ids: Iterable[int]) -> None:
        for chunk in _chunks(sorted(ids), 500):
            session.scalars(
                select(Proposal)
                .where(Proposal.id.in_(chunk))
                .order_by(Proposal.id)
                .with_for_update()
            ).all()

    def _apply_decision(
        self,
        session: Session,
        viewer: Principal,
        decision: wire.DecisionIn,
        now: datetime,
        receipts: dict[str, DecisionReceipt],
        seqs: Iterator[int],
    ) -> tuple[wire.DecisionResult, int | None]:
        """Apply one decision (its proposal already locked); returns its result, without the
        proposal's current state, and the id of the proposal to show in it."""
        decision_id = str(decision.id)
        receipt = receipts.get(decision_id)
        if receipt is not None:
            return _replay(viewer, receipt, decision)
        proposal = session.get(Proposal, decision.proposal_id)
        if proposal is None:
            return _invalid(decision, "proposal_id", "no proposal has this id"), None
        conflict = self._conflict(session, viewer, proposal, decision, now)
        receipt = DecisionReceipt(
            id=decision_id,
            user_id=viewer.id,
            proposal_id=proposal.id,
            status="applied" if conflict is None else "conflict",
            conflict=conflict[0] if conflict else None,
            detail=conflict[1] if conflict else None,
            received_at=now,
        )
        receipts[decision_id] = receipt
        session.add(receipt)
        if conflict is not None:
            kind, detail = conflict
            result = wire.DecisionResult(
                id=decision.id, status="conflict", conflict=cast(Any, kind), detail=detail
            )
            return result, proposal.id
        before = proposal.status
        published: str | None = None
        if decision.outcome == "accept":
            if decision.edited_content is not None and decision.edited_content != proposal.content:
                if proposal.original_content is None:
                    proposal.original_content = proposal.content
                proposal.content = decision.edited_content
            published = proposal.content
        seq = next(seqs)
        session.add(
            Decision(
                id=decision_id,
                proposal_id=proposal.id,
                moderator_id=viewer.id,
                outcome=decision.outcome,
                clause=decision.reason,
                charter_version=decision.charter_version,
                edited_content=decision.edited_content,
                published_content=published,
                note=decision.note,
                decided_at=decision.decided_at,
                received_at=now,
                proposal_version=decision.proposal_version,
                seq=seq,
            )
        )
        proposal.status = OUTCOME_STATUS[decision.outcome]
        proposal.version += 1
        proposal.claim_user_id = None
        proposal.claim_expires_at = None
        proposal.decision_id = decision_id
        proposal.seq = seq
        self._audit(
            session,
            viewer.name,
            "decided",
            proposal.id,
            before,
            proposal.status,
            now=now,
            seq=seq,
            detail=f"{decision.outcome} {decision.reason or ''}".strip(),
        )
        return wire.DecisionResult(id=decision.id, status="applied"), proposal.id

    def _conflict(
        self,
        session: Session,
        viewer: Principal,
        proposal: Proposal,
        decision: wire.DecisionIn,
        now: datetime,
    ) -> tuple[str, str] | None:
        if proposal.status == "withdrawn":
            return "withdrawn", "the proposal was withdrawn by the platform"
        if proposal.status in FINAL_STATUSES:
            decided_by = self._decision_moderator(session, proposal.decision_id)
            who = "you, in another decision" if decided_by == viewer.name else decided_by
            return "decided_by_other", f"the proposal was already {proposal.status} by {who}"
        if (
            proposal.claim_user_id is not None
            and proposal.claim_user_id != viewer.id
            and proposal.claim_expires_at is not None
            and proposal.claim_expires_at > now
        ):
            holder = self._user_names(session, {proposal.claim_user_id})[proposal.claim_user_id]
            return "claimed_by_other", f"the proposal is claimed by {holder}"
        if proposal.version != decision.proposal_version:
            return (
                "version_changed",
                f"the proposal changed since version {decision.proposal_version}; "
                f"it is now version {proposal.version}",
            )
        return None

    def decision_feed(self, since: int, limit: int) -> wire.FeedPage:
        """Applied decisions recorded after `since`, in order: what the platform publishes."""
        with self._read() as session:
            rows = session.execute(
                select(Decision, Proposal.external_id, Question.slug, User.name)
                .join(Proposal, Proposal.id == Decision.proposal_id)
                .join(Question, Question.id == Proposal.question_id)
                .join(User, User.id == Decision.moderator_id)
                .where(Decision.seq > since)
                .order_by(Decision.seq)
                .limit(limit + 1)
            ).all()
        items = [
            wire.FeedDecision(
                seq=d.seq,
                decision_id=uuid.UUID(d.id),
                proposal_id=d.proposal_id,
                external_id=external_id,
                question=slug,
                outcome=cast(Any, d.outcome),
                clause=d.clause,
                charter_version=d.charter_version,
                moderator=moderator,
                decided_at=d.decided_at,
                published_content=d.published_content,
                note=d.note,
            )
            for d, external_id, slug, moderator in rows[:limit]
        ]
        return wire.FeedPage(
            items=items,
            next_cursor=items[-1].seq if items else since,
            has_more=len(rows) > limit,
        )

    def audit_log(self, proposal_id: int | None = None) -> list[dict[str, Any]]:
        """Audit entries, oldest first (all, or those of one proposal)."""
        with self._read() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if proposal_id is not None:
                query = query.where(AuditEntry.proposal_id == proposal_id)
            return [
                {
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "proposal_id": e.proposal_id,
                    "from": e.from_state,
                    "to": e.to_state,
                    "detail": e.detail,
                    "seq": e.seq,
                }
                for e in session.scalars(query)
            ]

    # -- helpers -------------------------------------------------------------------------------

    def _next_seqs(self, session: Session, count: int) -> int:
        """Reserve `count` consecutive sequence values and return the first.

        Call it as the last lock of a write transaction: on PostgreSQL the counter row stays
        locked until commit, which is what keeps sequence order equal to commit order.
        """
        last = session.execute(
            update(HubCounter)
            .where(HubCounter.id == 1)
            .values(value=HubCounter.value + count)
            .returning(HubCounter.value)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        return int(last) - count + 1

    def _locked_proposal(self, session: Session, proposal_id: int) -> Proposal:
        proposal = session.scalars(
            select(Proposal).where(Proposal.id == proposal_id).with_for_update()
        ).one_or_none()
        if proposal is None:
            raise NotFound(f"no proposal with id {proposal_id}", "proposal_id")
        return proposal

    def _items(
        self, session: Session, viewer: Principal, ids: Sequence[int]
    ) -> list[wire.ProposalItem]:
        """The wire form of these proposals, in the order given."""
        if not ids:
            return []
        session.flush()
        now = self._clock()
        by_id: dict[int, dict[str, Any]] = {}
        for chunk in _chunks(list(ids), 500):
            for row in session.execute(_item_query().where(Proposal.id.in_(chunk))):
                by_id[row[0]] = _item_dict(row, viewer, now)
        return [wire.ProposalItem.model_validate(by_id[i]) for i in ids if i in by_id]

    def _user_names(self, session: Session, ids: Iterable[int | None]) -> dict[int, str]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        rows = session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
        return {user_id: name for user_id, name in rows}

    def _decision_moderator(self, session: Session, decision_id: str | None) -> str:
        if decision_id is None:
            return "someone"
        name = session.scalar(
            select(User.name)
            .join(Decision, Decision.moderator_id == User.id)
            .where(Decision.id == decision_id)
        )
        return name or "someone"

    def _audit(
        self,
        session: Session,
        actor: str,
        action: str,
        proposal_id: int | None,
        from_state: str | None,
        to_state: str | None,
        *,
        now: datetime,
        seq: int | None = None,
        detail: str | None = None,
    ) -> None:
        session.add(
            AuditEntry(
                at=now,
                actor=actor,
                action=action,
                proposal_id=proposal_id,
                from_state=from_state,
                to_state=to_state,
                detail=detail,
                seq=seq,
            )
        )

    def refresh_statistics(self) -> None:
        """Let the query planner see the tables' current sizes (after a bulk import)."""
        with self.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()

    def count_proposals(self) -> int:
        with self._read() as session:
            return int(session.scalar(select(func.count()).select_from(Proposal)) or 0)


# -- module helpers ----------------------------------------------------------------------------

ClaimUser = aliased(User, name="claim_user")
# The feed reads timestamps without the UTCDateTime conversion, which costs more per row than
# everything else; PostgreSQL sessions already answer in UTC and SQLite holds naive UTC.
_RAW_TIME = DateTime(timezone=True)
DecisionUser = aliased(User, name="decision_user")


def _item_query() -> Select[*tuple[Any, ...]]:
    """Plain columns (no ORM objects): a page of 1,000 proposals is built in a few ms."""
    return (
        select(
            Proposal.id,
            Proposal.external_id,
            Question.slug,
            Question.rewrite_url_template,
            Proposal.content,
            Proposal.original_content,
            Proposal.language,
            Proposal.country,
            type_coerce(Proposal.created_at, _RAW_TIME).label("created_at"),
            Proposal.status,
            Proposal.version,
            Proposal.author_first_name,
            Proposal.author_email,
            Proposal.author_reachable,
            Proposal.claim_user_id,
            type_coerce(Proposal.claim_expires_at, _RAW_TIME).label("claim_expires_at"),
            ClaimUser.name.label("claim_name"),
            Proposal.seq,
            Decision.id.label("decision_id"),
            Decision.outcome,
            Decision.clause,
            Decision.charter_version,
            Decision.moderator_id,
            DecisionUser.name.label("decision_name"),
            type_coerce(Decision.decided_at, _RAW_TIME).label("decided_at"),
            Decision.edited_content,
            Decision.note,
        )
        .join(Question, Question.id == Proposal.question_id)
        .outerjoin(ClaimUser, ClaimUser.id == Proposal.claim_user_id)
        .outerjoin(Decision, Decision.id == Proposal.decision_id)
        .outerjoin(DecisionUser, DecisionUser.id == Decision.moderator_id)
    )


def _wire_time(value: datetime) -> str:
    """The wire's datetime form: ISO 8601 in UTC with a Z, as pydantic writes it (a naive value
    is a UTC time read raw from SQLite)."""
    if value.tzinfo is None:
        return value.isoformat() + "Z"
    iso = value.isoformat()
    return iso[:-6] + "Z" if iso.endswith("+00:00") else iso


def _item_dict(row: Any, viewer: Principal, now: datetime) -> dict[str, Any]:
    """One proposal (a row of `_item_query`) as the JSON object of wire.ProposalItem."""
    (
        proposal_id, external_id, slug, template, content, original_content, language, country,
        created_at, status, version, first_name, email, reachable, claim_user_id, claim_expires,
        claim_name, seq, decision_id, outcome, clause, charter_version, moderator_id,
        decision_name, decided_at, edited_content, note,
    ) = row  # fmt: skip
    if claim_expires is not None and claim_expires.tzinfo is None:
        claim_expires = claim_expires.replace(tzinfo=UTC)
    if claim_user_id is None or claim_expires is None or claim_expires <= now:
        claim_expires = None
    sees_email = viewer.role in SEES_ALL_EMAILS or (
        viewer.role in CAN_MODERATE
        and (
            (claim_expires is not None and claim_user_id == viewer.id)
            or (decision_id is not None and moderator_id == viewer.id)
        )
    )
    return {
        "id": proposal_id,
        "external_id": external_id,
        "question": slug,
        "content": content,
        "original_content": original_content,
        "language": language,
        "country": country,
        "created_at": _wire_time(created_at),
        "status": status,
        "version": version,
        "author_first_name": first_name,
        "author_email": email if sees_email else None,
        "author_reachable": reachable,
        "rewrite_url": _rewrite_url(template, slug, external_id),
        "claim": (
            {"moderator": claim_name, "expires_at": _wire_time(claim_expires)}
            if claim_expires is not None
            else None
        ),
        "decision": (
            {
                "id": decision_id,
                "outcome": outcome,
                "clause": clause,
                "charter_version": charter_version,
                "moderator": decision_name,
                "decided_at": _wire_time(decided_at),
                "edited_content": edited_content,
                "note": note,
            }
            if decision_id is not None
            else None
        ),
        "seq": seq,
    }


def _rewrite_url(template: str | None, slug: str, external_id: str) -> str | None:
    if template is None:
        return None
    return template.replace("{question}", quote(slug, safe="")).replace(
        "{external_id}", quote(external_id, safe="")
    )


def _check_rewrite_template(template: str) -> None:
    _check_text(template, "rewrite_url_template", max_length=2_000)
    if not template.startswith(("https://", "http://")):
        raise InvalidInput("the rewrite link must start with https:// or http://", "rewrite_url")
    leftover = template.replace("{question}", "").replace("{external_id}", "")
    if "{" in leftover or "}" in leftover:
        raise InvalidInput(
            "the rewrite link may only use the placeholders {question} and {external_id}",
            "rewrite_url",
        )


def _check_question_fields(title: str, language: str, rewrite_url_template: str | None) -> None:
    _check_text(title, "title", max_length=2_000)
    if not wire.LANGUAGE_PATTERN.fullmatch(language):
        raise InvalidInput("language must be a language code such as fr, en or fr-BE", "language")
    if rewrite_url_template is not None:
        _check_rewrite_template(rewrite_url_template)


def _check_text(value: str, field: str, *, max_length: int) -> None:
    if not value.strip():
        raise InvalidInput(f"{field} must not be empty", field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} must be at most {max_length} characters", field)
    try:
        wire._storable_text(value)
    except ValueError as error:
        raise InvalidInput(f"{field} {error}", field) from None


def _question_wire(question: Question) -> wire.Question:
    return wire.Question(
        slug=question.slug,
        title=question.title,
        language=question.language,
        rewrite_url_template=question.rewrite_url_template,
    )


def _claim_state(
    holders: dict[int, str], user_id: int | None, expires: datetime | None, now: datetime
) -> str:
    if user_id is None:
        return "unclaimed"
    expired = expires is None or expires <= now
    return f"claimed by {holders.get(user_id, '?')}" + (" (expired)" if expired else "")


def _ingest_fields(item: wire.IngestProposal) -> dict[str, Any]:
    return {
        "content": item.content,
        "language": item.language,
        "country": item.country,
        "created_at": item.created_at,
        "author_first_name": item.author_first_name,
        "author_email": item.author_email,
        "author_reachable": item.author_reachable,
    }


def _audit_row(
    actor: str,
    action: str,
    proposal_id: int,
    from_state: str | None,
    to_state: str,
    now: datetime,
    seq: int,
    detail: str | None,
) -> dict[str, Any]:
    return {
        "at": now,
        "actor": actor,
        "action": action,
        "proposal_id": proposal_id,
        "from_state": from_state,
        "to_state": to_state,
        "seq": seq,
        "detail": detail,
    }


def _author_text(proposal: Proposal) -> str:
    """The text as the author wrote it (a moderator's correction keeps the original aside)."""
    return proposal.original_content if proposal.original_content is not None else proposal.content


def _ingest_differs(proposal: Proposal, item: wire.IngestProposal) -> bool:
    return (
        item.content != _author_text(proposal)
        or item.language != proposal.language
        or item.country != proposal.country
        or item.created_at != proposal.created_at
        or item.author_first_name != proposal.author_first_name
        or item.author_email != proposal.author_email
        or item.author_reachable != proposal.author_reachable
    )


def _check_decision(
    raw: Any, now: datetime, charter: dict[str, set[str]]
) -> wire.DecisionIn | wire.DecisionResult:
    """The decision parsed, or its `invalid` result."""
    try:
        decision = wire.DecisionIn.model_validate(raw)
    except ValidationError as error:
        return wire.DecisionResult(
            id=_raw_decision_id(raw),
            status="invalid",
            detail="the decision has invalid fields",
            errors=_field_errors(error),
        )
    rule_errors = _decision_rule_errors(decision, now) or _charter_errors(decision, charter)
    if rule_errors:
        return wire.DecisionResult(
            id=decision.id,
            status="invalid",
            detail="the decision breaks a rule",
            errors=rule_errors,
        )
    return decision


def _decision_rule_errors(decision: wire.DecisionIn, now: datetime) -> list[wire.FieldError]:
    errors: list[wire.FieldError] = []
    if decision.reason is not None and (
        len(decision.reason) > MAX_CLAUSE_ID_CHARS or not _CLAUSE_ID.fullmatch(decision.reason)
    ):
        errors.append(
            wire.FieldError(
                field="reason",
                message=(
                    "a charter clause id is lower-case words joined by '-' (e.g. off-topic), "
                    f"at most {MAX_CLAUSE_ID_CHARS} characters"
                ),
            )
        )
    if not _SEMVER.fullmatch(decision.charter_version):
        errors.append(
            wire.FieldError(
                field="charter_version",
                message="a charter version is MAJOR.MINOR.PATCH, e.g. 1.0.1",
            )
        )
    if decision.decided_at > now + MAX_DECIDED_AT_AHEAD:
        errors.append(
            wire.FieldError(
                field="decided_at",
                message="decided_at is in the future (check this computer's clock)",
            )
        )
    if decision.outcome == "refuse" and not decision.reason:
        errors.append(
            wire.FieldError(field="reason", message="a refusal must cite a charter clause")
        )
    if decision.outcome == "accept" and decision.reason:
        errors.append(wire.FieldError(field="reason", message="an acceptance cites no clause"))
    if decision.edited_content is not None and decision.outcome != "accept":
        errors.append(
            wire.FieldError(
                field="edited_content", message="only an acceptance may correct the text"
            )
        )
    return errors


def _charter_errors(
    decision: wire.DecisionIn, charter: dict[str, set[str]]
) -> list[wire.FieldError]:
    """Once the hub knows the released charters, a decision cites one of them and its clauses."""
    if not charter:
        return []
    clauses = charter.get(decision.charter_version)
    if clauses is None:
        known = ", ".join(sorted(charter))
        message = (
            f"the hub knows no charter version {decision.charter_version} (it knows {known}); "
            "load it with `moderation-hub charter load`"
        )
        return [wire.FieldError(field="charter_version", message=message)]
    if decision.reason is not None and decision.reason not in clauses:
        message = f"charter {decision.charter_version} has no clause {decision.reason!r}"
        return [wire.FieldError(field="reason", message=message)]
    return []


def _replay(
    viewer: Principal, receipt: DecisionReceipt, decision: wire.DecisionIn
) -> tuple[wire.DecisionResult, int | None]:
    """The answer to a decision id the hub already received: the first answer again."""
    if receipt.user_id != viewer.id or receipt.proposal_id != decision.proposal_id:
        message = "this decision id was already used for another decision"
        return _invalid(decision, "id", message), None
    if receipt.status == "applied":
        result = wire.DecisionResult(
            id=decision.id,
            status="duplicate",
            detail="this decision was already applied; nothing changed",
        )
    else:
        result = wire.DecisionResult(
            id=decision.id,
            status="conflict",
            conflict=cast(Any, receipt.conflict),
            detail=receipt.detail,
        )
    return result, receipt.proposal_id


def _invalid(decision: wire.DecisionIn, field: str, message: str) -> wire.DecisionResult:
    return wire.DecisionResult(
        id=decision.id,
        status="invalid",
        detail=message,
        errors=[wire.FieldError(field=field, message=message)],
    )


def _raw_decision_id(raw: Any) -> uuid.UUID | None:
    if isinstance(raw, dict):
        try:
            return uuid.UUID(str(raw.get("id")))
        except ValueError:
            return None
    return None


def _field_errors(error: ValidationError) -> list[wire.FieldError]:
    return [
        wire.FieldError(field=".".join(str(p) for p in e["loc"]) or "body", message=e["msg"])
        for e in error.errors(include_url=False)
    ]


def _actor_name(actor: Principal | str) -> str:
    return actor if isinstance(actor, str) else actor.name


def _chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
