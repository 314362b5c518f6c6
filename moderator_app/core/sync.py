"""Offline-first sync with the hub: push local decisions, pull changes, claim and release work.

Used the same way by the CLI and the GUI: `run_sync(...)`, or a `SyncEngine` for single steps.

Guarantees, each resting on one SQLite transaction:
- pull: a page of changes and the cursor after it are committed together, so a crash mid-pull
  resumes after the last committed page and never skips a change;
- push: decisions go in batches with their client-generated UUIDs; the hub answers "duplicate"
  for a UUID it already has, so repeating a push after a timeout or a crash is always safe;
- answers: each answer, the decision's new state and its mails' new state are committed together;
  a conflict keeps the local decision, marked with the hub's state, never dropped silently.
The conflict rules are the small pure functions at the top, tested as tables.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import httpx
from pydantic import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from moderation_hub import wire
from moderator_app.core.database import Database
from moderator_app.core.errors import UserError
from moderator_app.core.hubclient import (
    DEFAULT_ATTEMPTS,
    DEFAULT_DEADLINE_SECONDS,
    HubClient,
    HubRefused,
    HubUnreachable,
    RetryCallback,
)
from moderator_app.core.models import (
    ACTIVE_SYNC_STATES,
    AuditEntry,
    Claim,
    Decision,
    HubSyncState,
    MailOutbox,
    Question,
    format_utc,
)

PAGE_SIZE = wire.MAX_PAGE_SIZE
PUSH_BATCH_SIZE = wire.MAX_DECISIONS_PER_BATCH
CLAIM_TTL_SECONDS = wire.DEFAULT_CLAIM_TTL_SECONDS
RENEW_WHEN_LEASE_LEFT = timedelta(seconds=CLAIM_TTL_SECONDS // 2)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- conflict rules (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """What one hub answer does to the local decision and to its queued mails."""

    sync_state: Literal["applied", "conflict"]
    conflict_kind: str | None
    mail_state: Literal["sendable", "cancelled"]


def resolve_answer(result: wire.DecisionResult) -> Resolution:
    """The local outcome of the hub's answer to one pushed decision.

    applied, or duplicate of an applied one -> applied, its mail may go;
    conflict (or duplicate of a conflicting one) -> conflict of that kind, its mail is cancelled;
    invalid (or duplicate of an invalid one) -> conflict "invalid", mail cancelled.
    """
    if result.status == "invalid" or result.errors:
        return Resolution("conflict", "invalid", "cancelled")
    if result.status == "conflict" or result.conflict is not None:
        return Resolution("conflict", result.conflict, "cancelled")
    return Resolution("applied", None, "sendable")


def confirmed_by_hub(local_state: str, local_id: str, hub_decision_id: str | None) -> bool:
    """A pulled proposal whose recorded decision is ours confirms a push whose answer was lost
    (crash or timeout after the hub applied it)."""
    return local_state in ACTIVE_SYNC_STATES and hub_decision_id == local_id


def claimed_by_someone_else(
    holder: str | None, expires_at: datetime | None, me: str, now: datetime
) -> bool:
    """Deciding would be a sure conflict: another moderator holds a claim that has not expired
    (an expired claim blocks nobody, at the hub either)."""
    return holder is not None and holder != me and expires_at is not None and expires_at > now


# -- rows from wire items --------------------------------------------------------------------

_PROPOSAL_COLUMNS = (
    "id",
    "external_id",
    "question",
    "content",
    "original_content",
    "language",
    "country",
    "created_at",
    "status",
    "version",
    "author_first_name",
    "author_email",
    "author_reachable",
    "rewrite_url",
    "hub_decision_id",
    "hub_decision_outcome",
    "hub_decision_clause",
    "hub_decision_charter_version",
    "hub_decision_moderator",
    "hub_decision_at",
    "hub_decision_edited_content",
    "hub_decision_note",
    "seq",
)
# Column names are the constants above; values are always bound parameters.
_UPSERT_PROPOSAL = (
    f"INSERT INTO proposals ({', '.join(_PROPOSAL_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in _PROPOSAL_COLUMNS)}) "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _PROPOSAL_COLUMNS[1:])
    # An older snapshot (e.g. a claim answer racing a pull) never overwrites a newer one.
    + " WHERE excluded.seq >= proposals.seq"
)
_DELETE_CLAIMS = "DELETE FROM claims WHERE proposal_id IN (SELECT value FROM json_each(?))"
_UPSERT_CLAIM = (
    "INSERT INTO claims (proposal_id, moderator, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT(proposal_id) DO UPDATE SET moderator = excluded.moderator, "
    "expires_at = excluded.expires_at"
)


def proposal_row(item: wire.ProposalItem) -> tuple[object, ...]:
    decision = item.decision
    return (
        item.id,
        item.external_id,
        item.question,
        item.content,
        item.original_content,
        item.language,
        item.country,
        format_utc(item.created_at),
        item.status,
        item.version,
        item.author_first_name,
        item.author_email,
        item.author_reachable,
        item.rewrite_url,
        str(decision.id) if decision else None,
        decision.outcome if decision else None,
        decision.clause if decision else None,
        decision.charter_version if decision else None,
        decision.moderator if decision else None,
        format_utc(decision.decided_at) if decision else None,
        decision.edited_content if decision else None,
        decision.note if decision else None,
        item.seq,
    )


def store_items(session: Session, items: Sequence[wire.ProposalItem], now: datetime) -> int:
    """Upsert proposals and their claims as the hub showed them; confirm our decisions it holds.

    Returns how many local decisions the items confirmed as applied.
    """
    if not items:
        return 0
    connection = session.connection()
    connection.exec_driver_sql(_UPSERT_PROPOSAL, [proposal_row(item) for item in items])
    ids = json.dumps([item.id for item in items])
    # Claims follow only the snapshots that were stored (not older than what the cache holds,
    # e.g. when the GUI and a CLI sync run at once).
    stored_seq: dict[int, int] = {
        row[0]: row[1]
        for row in connection.exec_driver_sql(
            "SELECT id, seq FROM proposals WHERE id IN (SELECT value FROM json_each(?))", (ids,)
        )
    }
    current = [item for item in items if stored_seq.get(item.id) == item.seq]
    if len(current) < len(items):
        ids = json.dumps([item.id for item in current])
    connection.exec_driver_sql(_DELETE_CLAIMS, (ids,))
    claims = [
        (item.id, item.claim.moderator, format_utc(item.claim.expires_at))
        for item in current
        if item.claim is not None
    ]
    if claims:
        connection.exec_driver_sql(_UPSERT_CLAIM, claims)
    return _confirm_from_items(session, items, now)


def _confirm_from_items(session: Session, items: Sequence[wire.ProposalItem], now: datetime) -> int:
    hub_decisions = {str(item.decision.id): item for item in items if item.decision is not None}
    if not hub_decisions:
        return 0
    waiting = session.execute(
        select(Decision.id, Decision.sync_state).where(Decision.sync_state.in_(ACTIVE_SYNC_STATES))
    ).all()
    confirmed = 0
    for decision_id, state in waiting:
        item = hub_decisions.get(decision_id)
        if item is not None and item.decision is not None:
            if not confirmed_by_hub(state, decision_id, str(item.decision.id)):
                continue
            _record_answer(
                session,
                decision_id,
                Resolution("applied", None, "sendable"),
                detail="confirmed by a later pull",
                current=item,
                now=now,
            )
            confirmed += 1
    return confirmed


def _record_answer(
    session: Session,
    decision_id: str,
    resolution: Resolution,
    *,
    detail: str | None,
    current: wire.ProposalItem | None,
    now: datetime,
) -> bool:
    """Apply one answer to a decision still waiting for it, and to its mails. False if the
    decision was not waiting any more (already answered, undone)."""
    changed = session.execute(
        update(Decision)
        .where(Decision.id == decision_id, Decision.sync_state.in_(ACTIVE_SYNC_STATES))
        .values(
            sync_state=resolution.sync_state,
            conflict_kind=resolution.conflict_kind,
            hub_detail=detail,
            hub_state=current.model_dump_json() if current is not None else None,
            answered_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(MailOutbox)
        .where(MailOutbox.decision_id == decision_id, MailOutbox.state == "waiting_hub")
        .values(state=resolution.mail_state)
        .execution_options(synchronize_session=False)
    )
    session.add(
        AuditEntry(
            at=now,
            actor="hub",
            action=f"decision_{resolution.sync_state}",
            decision_id=decision_id,
            proposal_id=current.id if current is not None else None,
            detail=json.dumps({"conflict": resolution.conflict_kind, "detail": detail}),
        )
    )
    return True


# -- the engine ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncProgress:
    """Reported during long steps; `done` counts items so far (the hub gives no total)."""

    phase: Literal["push", "pull", "claim", "release"]
    done: int
    cursor: int = 0


ProgressCallback = Callable[[SyncProgress], None]


@dataclass
class SyncReport:
    hub_url: str
    online: bool = True
    offline_reason: str | None = None
    pushed: int = 0
    applied: int = 0
    conflicts: int = 0
    pulled: int = 0
    cursor: int = 0
    claimed: int = 0
    renewed: int = 0
    released: int = 0
    unanswered: list[str] = field(default_factory=list)


class SyncEngine:
    """Sync steps for one account on one hub, each committing as it goes."""

    def __init__(
        self,
        database: Database,
        hub: HubClient,
        *,
        moderator: str,
        now: Clock = utc_now,
        progress: ProgressCallback | None = None,
        page_size: int = PAGE_SIZE,
        push_batch_size: int = PUSH_BATCH_SIZE,
    ) -> None:
        self.database = database
        self.hub = hub
        self.moderator = moderator
        self.now = now
        self.progress = progress or (lambda _progress: None)
        self.page_size = page_size
        self.push_batch_size = push_batch_size

    @property
    def hub_url(self) -> str:
        return self.hub.hub_url

    def prepare(self) -> int:
        """Bind the cache to this hub (refusing one holding another hub's data); the cursor."""
        with self.database.session() as session:
            states = session.scalars(select(HubSyncState)).all()
        others = [state.hub_url for state in states if state.hub_url != self.hub_url]
        if others:
            raise UserError(
                f"this data directory caches hub {others[0]}, not {self.hub_url}; "
                "use another --home for another hub"
            )
        mine = [state for state in states if state.hub_url == self.hub_url]
        if mine:
            return mine[0].cursor
        with self.database.write() as session:
            if session.get(HubSyncState, self.hub_url) is None:
                session.add(HubSyncState(hub_url=self.hub_url, cursor=0))
        return 0

    # push ------------------------------------------------------------------------------------

    def push(self, report: SyncReport) -> None:
        """Push every decision waiting for the hub, in batches; apply each answer."""
        attempted: set[str] = set()
        while True:
            batch = self._take_batch(attempted)
            if not batch:
                return
            attempted.update(decision.id for decision, _wire in batch)
            to_send = [wire_decision for _decision, wire_decision in batch if wire_decision]
            results = self.hub.push(to_send) if to_send else []
            report.pushed += len(to_send)
            self._apply_results(batch, results, report)
            self.progress(SyncProgress("push", report.pushed))

    def _take_batch(self, attempted: set[str]) -> list[tuple[Decision, wire.DecisionIn | None]]:
        now = self.now()
        # Only this moderator's decisions: the hub credits whoever pushes them.
        waiting = select(Decision).where(
            Decision.sync_state.in_(ACTIVE_SYNC_STATES), Decision.moderator == self.moderator
        )
        if attempted:  # an answer-less decision waits for the next sync, no endless loop
            waiting = waiting.where(Decision.id.not_in(attempted))
        with self.database.session() as session:  # nothing to send: no write transaction
            if session.scalar(waiting.with_only_columns(Decision.id).limit(1)) is None:
                return []
        with self.database.write() as session:
            decisions = session.scalars(
                waiting.order_by(Decision.decided_at, Decision.id).limit(self.push_batch_size)
            ).all()
            batch: list[tuple[Decision, wire.DecisionIn | None]] = []
            for decision in decisions:
                decision.sync_state = "sent"
                decision.sent_at = now
                decision.push_attempts += 1
                batch.append((decision, _to_wire(decision)))
            return batch

    def _apply_results(
        self,
        batch: list[tuple[Decision, wire.DecisionIn | None]],
        results: list[wire.DecisionResult],
        report: SyncReport,
    ) -> None:
        now = self.now()
        by_id = {str(result.id): result for result in results if result.id is not None}
        with self.database.write() as session:
            for decision, wire_decision in batch:
                if wire_decision is None:
                    # Not even sendable (local data the wire format refuses): say so, keep it.
                    resolution = Resolution("conflict", "invalid", "cancelled")
                    if _record_answer(
                        session,
                        decision.id,
                        resolution,
                        detail="this decision cannot be sent as it is; redo it",
                        current=None,
                        now=now,
                    ):
                        report.conflicts += 1
                    continue
                result = by_id.get(decision.id)
                if result is None:
                    report.unanswered.append(decision.id)  # stays "sent": pushed again next time
                    continue
                resolution = resolve_answer(result)
                detail = result.detail
                if result.errors:
                    detail = "; ".join(f"{error.field}: {error.message}" for error in result.errors)
                if _record_answer(
                    session, decision.id, resolution, detail=detail, current=result.current, now=now
                ):
                    if resolution.sync_state == "applied":
                        report.applied += 1
                    else:
                        report.conflicts += 1
                if result.current is not None:
                    store_items(session, [result.current], now)
            state = session.get(HubSyncState, self.hub_url)
            if state is not None:
                state.last_push_at = now

    # pull ------------------------------------------------------------------------------------

    def pull(self, report: SyncReport) -> None:
        """Pull every change after the stored cursor, one transaction per page.

        The next page is fetched (and parsed) on a helper thread while this one is stored; it is
        only stored after this page and its cursor are committed, so the order of commits, and
        what a crash leaves behind, are those of a plain loop.
        """
        with self.database.session() as session:
            state = session.get(HubSyncState, self.hub_url)
            cursor = state.cursor if state is not None else 0
        self._store_questions()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-prefetch") as fetcher:
            upcoming = fetcher.submit(self.hub.proposals, since=cursor, limit=self.page_size)
            while True:
                page = upcoming.result()
                new_cursor = max(cursor, page.next_cursor)
                more = page.has_more and new_cursor != cursor
                if more:
                    upcoming = fetcher.submit(
                        self.hub.proposals, since=new_cursor, limit=self.page_size
                    )
                if page.items or new_cursor != cursor:
                    now = self.now()
                    # Not fsynced: a page lost to a power cut is lost with its cursor, and
                    # pulled again (decisions it confirms are confirmed again too).
                    with self.database.write(durable=False) as session:
                        report.applied += store_items(session, page.items, now)
                        session.execute(
                            update(HubSyncState)
                            .where(HubSyncState.hub_url == self.hub_url)
                            # Never backwards, even if another sync got further meanwhile.
                            .values(
                                cursor=func.max(HubSyncState.cursor, new_cursor),
                                last_pull_at=now,
                            )
                        )
                report.pulled += len(page.items)
                report.cursor = new_cursor
                self.progress(SyncProgress("pull", report.pulled, new_cursor))
                if not more:
                    return
                cursor = new_cursor

    def _store_questions(self) -> None:
        questions = self.hub.questions()
        with self.database.session() as session:
            known = {
                (q.slug, q.title, q.language, q.rewrite_url_template)
                for q in session.scalars(select(Question)).all()
            }
        fresh = [
            q
            for q in questions
            if (q.slug, q.title, q.language, q.rewrite_url_template) not in known
        ]
        if not fresh:  # the usual case: no write
            return
        with self.database.write(durable=False) as session:  # fetched again at each sync
            for question in fresh:
                session.merge(
                    Question(
                        slug=question.slug,
                        title=question.title,
                        language=question.language,
                        rewrite_url_template=question.rewrite_url_template,
                    )
                )

    # claims ----------------------------------------------------------------------------------

    def claim(self, count: int, question: str | None, report: SyncReport) -> None:
        """Take up to `count` pending proposals to work on offline."""
        remaining = count
        while remaining > 0:
            asked = min(remaining, wire.MAX_CLAIM_COUNT)
            items = self.hub.claim(asked, question, CLAIM_TTL_SECONDS)
            self._store_claimed(items)
            report.claimed += len(items)
            remaining -= asked
            self.progress(SyncProgress("claim", report.claimed))
            if len(items) < asked:
                return

    def renew_claims(self, report: SyncReport) -> None:
        """Extend the lease on the claims this moderator holds that are past half their lease.

        A renewal is a change at the hub: every client pulls the proposal again. Renewing only
        the claims that need it keeps a sync with nothing new from moving anything.
        """
        due_before = self.now() + RENEW_WHEN_LEASE_LEFT
        with self.database.session() as session:
            due = session.scalars(
                select(Claim.proposal_id)
                .where(Claim.moderator == self.moderator, Claim.expires_at < due_before)
                .order_by(Claim.proposal_id)
            ).all()
        if not due:
            return
        items = self.hub.renew(list(due), CLAIM_TTL_SECONDS)
        self._store_claimed(items)
        report.renewed += len(items)

    def release_undecided(self, report: SyncReport) -> None:
        """Give back the claims on proposals this moderator has not decided locally."""
        with self.database.session() as session:
            undecided = session.scalars(
                select(Claim.proposal_id)
                .where(Claim.moderator == self.moderator)
                .where(
                    ~select(Decision.id)
                    .where(
                        Decision.proposal_id == Claim.proposal_id,
                        Decision.sync_state.in_(ACTIVE_SYNC_STATES),
                    )
                    .exists()
                )
                .order_by(Claim.proposal_id)
            ).all()
        for proposal_id in undecided:
            try:
                item = self.hub.release(proposal_id)
            except HubRefused as error:
                if error.status_code != 409:
                    raise
                # Not held any more at the hub (expired, or taken back): forget it locally.
                with self.database.write() as session:
                    session.execute(
                        delete(Claim).where(
                            Claim.proposal_id == proposal_id, Claim.moderator == self.moderator
                        )
                    )
                continue
            self._store_claimed([item])
            report.released += 1
            self.progress(SyncProgress("release", report.released))

    def _store_claimed(self, items: Sequence[wire.ProposalItem]) -> None:
        with self.database.write() as session:
            store_items(session, items, self.now())

    # all of it -------------------------------------------------------------------------------

    def sync(
        self, *, claim: int = 0, claim_question: str | None = None, release: bool = False
    ) -> SyncReport:
        """Push, pull, renew claims, claim `claim` more, release undecided ones if asked.

        The hub being unreachable is not an error: the report says offline and why, and what was
        done before is kept. Other failures (token refused, garbage answers) raise `UserError`.
        """
        report = SyncReport(hub_url=self.hub_url)
        report.cursor = self.prepare()
        try:
            self.push(report)
            self.pull(report)
            self.renew_claims(report)
            if claim:
                self.claim(claim, claim_question, report)
            if release:
                self.release_undecided(report)
        except HubUnreachable as error:
            report.online = False
            report.offline_reason = error.message
            self._record_outcome(error.message)
            return report
        except UserError as error:
            self._record_outcome(error.message)
            raise
        self._record_outcome(None)
        return report

    def _record_outcome(self, error: str | None) -> None:
        now = self.now()
        with self.database.write() as session:
            state = session.get(HubSyncState, self.hub_url)
            if state is None:
                return
            state.last_attempt_at = now
            state.last_error = error
            if error is None:
                state.last_sync_at = now


def _to_wire(decision: Decision) -> wire.DecisionIn | None:
    try:
        return wire.DecisionIn(
            id=uuid.UUID(decision.id),
            proposal_id=decision.proposal_id,
            proposal_version=decision.proposal_version,
            outcome=decision.outcome,
            reason=decision.clause_id,
            charter_version=decision.charter_version,
            edited_content=decision.edited_content,
            note=decision.note,
            decided_at=decision.decided_at,
        )
    except (ValidationError, ValueError):
        return None


def run_sync(
    database: Database,
    http: httpx.Client,
    *,
    hub_url: str,
    token: str,
    moderator: str,
    claim: int = 0,
    claim_question: str | None = None,
    release: bool = False,
    now: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    progress: ProgressCallback | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    on_retry: RetryCallback | None = None,
) -> SyncReport:
    """One full sync; every dependency passed in (the CLI and the GUI worker call this).

    Each hub call is tried up to `attempts` times within `deadline_seconds`; `on_retry` hears of
    each new try (the CLI says so on a terminal). `http`'s timeouts bound each try."""
    hub = HubClient(
        http,
        hub_url,
        token,
        sleep=sleep,
        attempts=attempts,
        deadline_seconds=deadline_seconds,
        on_retry=on_retry,
    )
    engine = SyncEngine(database, hub, moderator=moderator, now=now, progress=progress)
    return engine.sync(claim=claim, claim_question=claim_question, release=release)
