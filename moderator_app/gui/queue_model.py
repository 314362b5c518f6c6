"""The queue: a table model over the local cache that fetches rows lazily, oldest first.

Rows are read in batches by keyset pagination on (created_at, id), so a million cached proposals
cost no more than a hundred: the view asks for more (canFetchMore/fetchMore) as it scrolls. Each
fetch opens its own short session from the core's session factory and turns rows into plain frozen
`QueueRow`s, so no ORM object outlives its session or crosses a thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from sqlalchemy import ColumnElement, and_, exists, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from moderator_app.core.models import ACTIVE_SYNC_STATES, Claim, Decision, Proposal
from moderator_app.gui.plain_text import plain_tooltip, single_line
from moderator_app.gui.table_model import ColumnsModel

SessionFactory = Callable[[], Session]
FindingsFor = Callable[["QueueRow"], Sequence[Any]]

DECIDABLE = ("pending", "postponed")  # as core.triage.DECIDABLE_STATUSES
PROMISE = timedelta(hours=48)  # the platform promises a decision within 48 hours
BATCH_SIZE = 200
# With a pre-check filter, rows are checked in Python; one fetch reads at most this many.
MAX_SCANNED_PER_FETCH = 5_000

# (key, label) for the status filter, in menu order.
STATUS_FILTERS: tuple[tuple[str, str], ...] = (
    ("to_decide", "To decide"),
    ("pending", "Pending on the hub"),
    ("decided_here", "Decided here, not yet confirmed"),
    ("conflict", "In conflict"),
    ("accepted", "Accepted"),
    ("refused", "Refused"),
    ("postponed", "Postponed"),
    ("withdrawn", "Withdrawn"),
    ("all", "All"),
)
FINDING_FILTERS: tuple[tuple[str, str], ...] = (
    ("", "Any"),
    ("any", "With a pre-check finding"),
    ("violation", "With a rule violation"),
    ("none", "Without findings"),
)

ProposalIdRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2

OVERDUE = QColor(198, 40, 40)
DUE_SOON = QColor(230, 120, 0)
HELD_ELSEWHERE = QColor(120, 120, 120)
HELD_BY_OTHER = QColor(150, 60, 0)


_ANSWERED_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.AccessibleTextRole,
        ProposalIdRole,
        RowRole,
    }
)


@dataclass(frozen=True)
class QueueFilters:
    question: str = ""
    language: str = ""
    status: str = "to_decide"
    finding: str = ""  # "", "any", "violation", "none", or a clause id
    claimed_by_me: bool = False
    search: str = ""
    newest_first: bool = False
    # Under "To decide", proposals another moderator holds are hidden unless asked for: the
    # core refuses to decide them (the hub would answer conflict) until their claim ends.
    others_claims: bool = False


@dataclass(frozen=True)
class QueueRow:
    id: int
    version: int
    question: str
    language: str
    content: str
    author_first_name: str
    created_at: datetime
    status: str
    claim_moderator: str | None = None
    claim_expires_at: datetime | None = None
    local_decision_id: str | None = None
    local_outcome: str | None = None
    local_clause: str | None = None
    local_sync_state: str | None = None
    hub_outcome: str | None = None
    hub_clause: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def shown_status(self) -> str:
        """What the moderator needs to know: a local decision waiting to sync wins."""
        if self.local_sync_state in ACTIVE_SYNC_STATES:
            clause = f" ({self.local_clause})" if self.local_clause else ""
            return f"{self.local_outcome}{clause} · unsynced"
        if self.local_sync_state == "conflict":
            return "conflict"
        if self.hub_clause:
            return f"{self.status} ({self.hub_clause})"
        return self.status

    def held_by_other(self, me: str, now: datetime) -> str | None:
        """Who else holds this proposal's claim right now (as of the last sync), or None."""
        holder = self.claim_moderator
        if holder is None or holder == me or self.claim_expires_at is None:
            return None
        return holder if self.claim_expires_at > now else None

    @property
    def decided(self) -> bool:
        """Nothing left to decide here: a local decision waits, or the hub has a final one
        (a postponed proposal can still be decided)."""
        return self.local_sync_state in ACTIVE_SYNC_STATES or self.status not in DECIDABLE


def fts_query(search: str) -> str:
    """A safe FTS5 query from what the user typed: every word must appear, the last as a prefix."""
    words = re.findall(r"\w+", search, flags=re.UNICODE)
    if not words:
        return ""
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _latest_local_decision() -> Any:
    return (
        select(Decision.id)
        .where(Decision.proposal_id == Proposal.id, Decision.sync_state != "dropped")
        .order_by(Decision.decided_at.desc())
        .limit(1)
        .scalar_subquery()
        .correlate(Proposal)
    )


def _has_decision(states: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(Decision.proposal_id == Proposal.id, Decision.sync_state.in_(states))


def _held_by_other(me: str, now: datetime) -> ColumnElement[bool]:
    other = aliased(Claim)  # the page query also joins Claim; keep this one separate
    return exists().where(
        other.proposal_id == Proposal.id, other.moderator != me, other.expires_at > now
    )


def filter_conditions(
    filters: QueueFilters, me: str, now: datetime | None = None
) -> list[ColumnElement[bool]]:
    """The SQL conditions for everything except pre-check findings (those are checked in Python)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.question:
        conditions.append(Proposal.question == filters.question)
    if filters.language:
        conditions.append(Proposal.language == filters.language)
    status = filters.status
    if status == "to_decide":
        conditions.append(Proposal.status == "pending")
        conditions.append(~_has_decision(ACTIVE_SYNC_STATES))
        if not filters.others_claims:
            conditions.append(~_held_by_other(me, now or datetime.now(UTC)))
    elif status == "decided_here":
        conditions.append(_has_decision(ACTIVE_SYNC_STATES))
    elif status == "conflict":
        conditions.append(_has_decision(("conflict",)))
    elif status != "all":
        conditions.append(Proposal.status == status)
    if filters.claimed_by_me:
        mine = aliased(Claim)  # the page query also joins Claim; keep this one separate
        conditions.append(exists().where(mine.proposal_id == Proposal.id, mine.moderator == me))
    match = fts_query(filters.search)
    if match:
        conditions.append(
            Proposal.id.in_(
                select(text("rowid"))
                .select_from(text("proposals_fts"))
                .where(text("proposals_fts MATCH :match").bindparams(match=match))
            )
        )
    return conditions


def _after(created_at: datetime, proposal_id: int, newest_first: bool) -> ColumnElement[bool]:
    if newest_first:
        return or_(
            Proposal.created_at < created_at,
            and_(Proposal.created_at == created_at, Proposal.id < proposal_id),
        )
    return or_(
        Proposal.created_at > created_at,
        and_(Proposal.created_at == created_at, Proposal.id > proposal_id),
    )


def fetch_rows(
    session: Session,
    filters: QueueFilters,
    me: str,
    after: tuple[datetime, int] | None,
    limit: int,
    ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> list[QueueRow]:
    """One page of queue rows after the keyset position `after` (or the given ids)."""
    latest = _latest_local_decision().label("local_decision_id")
    statement = select(Proposal, Claim.moderator, Claim.expires_at, latest).outerjoin(
        Claim, Claim.proposal_id == Proposal.id
    )
    if ids is not None:
        statement = statement.where(Proposal.id.in_(list(ids)))
    else:
        statement = statement.where(*filter_conditions(filters, me, now))
        if after is not None:
            statement = statement.where(_after(after[0], after[1], filters.newest_first))
        if filters.newest_first:
            statement = statement.order_by(Proposal.created_at.desc(), Proposal.id.desc())
        else:
            statement = statement.order_by(Proposal.created_at, Proposal.id)
        statement = statement.limit(limit)
    results = session.execute(statement).all()
    decision_ids = [decision_id for _p, _m, _e, decision_id in results if decision_id]
    decisions: dict[str, Decision] = {}
    if decision_ids:
        for found in session.scalars(select(Decision).where(Decision.id.in_(decision_ids))):
            decisions[found.id] = found
    rows = []
    for proposal, claim_moderator, claim_expires_at, decision_id in results:
        decision = decisions.get(decision_id) if decision_id else None
        rows.append(
            QueueRow(
                id=proposal.id,
                version=proposal.version,
                question=proposal.question,
                language=proposal.language,
                content=proposal.content,
                author_first_name=proposal.author_first_name,
                created_at=proposal.created_at,
                status=proposal.status,
                claim_moderator=claim_moderator,
                claim_expires_at=claim_expires_at,
                local_decision_id=decision.id if decision else None,
                local_outcome=decision.outcome if decision else None,
                local_clause=decision.clause_id if decision else None,
                local_sync_state=decision.sync_state if decision else None,
                hub_outcome=proposal.hub_decision_outcome,
                hub_clause=proposal.hub_decision_clause,
            )
        )
    return rows


def count_rows(
    session: Session, filters: QueueFilters, me: str, now: datetime | None = None
) -> int:
    statement = (
        select(func.count()).select_from(Proposal).where(*filter_conditions(filters, me, now))
    )
    return int(session.execute(statement).scalar_one())


def format_age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    if hours < 1:
        return f"{max(0, int(age.total_seconds() // 60))} min"
    if hours < 72:
        return f"{int(hours)} h"
    return f"{int(hours // 24)} d"


class QueueModel(ColumnsModel):
    """Proposals matching the filters, fetched in batches as the view scrolls."""

    COLUMNS = ("Age", "Status", "Proposal", "Claimed by", "Author", "Question", "Lang", "Checks")
    AGE, STATUS, CONTENT, HOLDER, AUTHOR, QUESTION, LANGUAGE, CHECKS = range(8)

    def __init__(
        self,
        session_factory: SessionFactory,
        me: str,
        *,
        findings_for: FindingsFor | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch_size: int = BATCH_SIZE,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session_factory = session_factory
        self._me = me
        self._findings_for = findings_for
        self._now = now
        self._batch_size = batch_size
        self._filters = QueueFilters()
        self._rows: list[QueueRow] = []
        self._row_of_id: dict[int, int] = {}
        self._findings: dict[int, Sequence[Any]] = {}
        self._texts: dict[int, dict[int, str]] = {}
        self._exhausted = False
        self._after: tuple[datetime, int] | None = None
        self._bold = QFont()
        self._bold.setBold(True)

    # -- filters and refresh -------------------------------------------------------------------

    @property
    def filters(self) -> QueueFilters:
        return self._filters

    def set_filters(self, filters: QueueFilters) -> None:
        self._filters = filters
        self.reload()

    def reload(self) -> None:
        """Start again from the first row (after new filters or a sync that changed much)."""
        self.beginResetModel()
        self._rows = []
        self._row_of_id = {}
        self._findings = {}
        self._texts = {}
        self._exhausted = False
        self._after = None
        self.endResetModel()
        if self.canFetchMore(QModelIndex()):
            self.fetchMore(QModelIndex())

    def refresh_ids(self, ids: Sequence[int]) -> None:
        """Re-read the given proposals if loaded (after a decision or a sync touching them)."""
        wanted = [proposal_id for proposal_id in ids if proposal_id in self._row_of_id]
        if not wanted:
            return
        with self._session_factory() as session:
            fresh = fetch_rows(
                session, self._filters, self._me, None, len(wanted), ids=wanted, now=self._now()
            )
        for row in fresh:
            position = self._row_of_id[row.id]
            self._rows[position] = row
            self._findings.pop(row.id, None)
            self._texts.pop(row.id, None)
            self.dataChanged.emit(
                self.index(position, 0), self.index(position, len(self.COLUMNS) - 1)
            )

    def total_matching(self) -> int:
        """How many cached proposals match the SQL filters (pre-check filter not applied)."""
        with self._session_factory() as session:
            return count_rows(session, self._filters, self._me, self._now())

    # -- rows ----------------------------------------------------------------------------------

    def row_at(self, row: int) -> QueueRow | None:
        if 0 <= row < len(self._rows):
            return self._rows[row]
        return None

    def row_of(self, proposal_id: int) -> int:
        return self._row_of_id.get(proposal_id, -1)

    def findings(self, row: QueueRow) -> Sequence[Any]:
        if self._findings_for is None:
            return ()
        found = self._findings.get(row.id)
        if found is None:
            found = tuple(self._findings_for(row))
            self._findings[row.id] = found
        return found

    def _passes_finding_filter(self, row: QueueRow) -> bool:
        wanted = self._filters.finding
        if not wanted or self._findings_for is None:
            return True
        found = self.findings(row)
        if wanted == "any":
            return bool(found)
        if wanted == "none":
            return not found
        if wanted == "violation":
            return any(getattr(finding, "kind", "") == "violation" for finding in found)
        return any(getattr(finding, "clause_id", "") == wanted for finding in found)

    # -- lazy fetching -------------------------------------------------------------------------

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted:
            return
        accepted: list[QueueRow] = []
        scanned = 0
        now = self._now()
        with self._session_factory() as session:
            while len(accepted) < self._batch_size and scanned < MAX_SCANNED_PER_FETCH:
                page = fetch_rows(
                    session, self._filters, self._me, self._after, self._batch_size, now=now
                )
                if page:
                    self._after = (page[-1].created_at, page[-1].id)
                scanned += len(page)
                accepted.extend(row for row in page if self._passes_finding_filter(row))
                if len(page) < self._batch_size:
                    self._exhausted = True
                    break
        if not accepted:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(accepted) - 1)
        for offset, row in enumerate(accepted):
            self._row_of_id[row.id] = first + offset
        self._rows.extend(accepted)
        self.endInsertRows()

    # -- Qt model API --------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        # The view asks about ten roles per cell per paint; most are answered here at once.
        if role not in _ANSWERED_ROLES or not index.isValid():
            return None
        position = index.row()
        if not 0 <= position < len(self._rows):
            return None
        row = self._rows[position]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column in _STATIC_COLUMNS:
                texts = self._texts.get(row.id)
                if texts is None:
                    texts = self._texts[row.id] = self._static_texts(row)
                return texts[column]
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == self.AGE:
                return f"Submitted {row.created_at:%Y-%m-%d %H:%M} UTC; decision promised in 48 h"
            if column == self.CONTENT:
                return plain_tooltip(row.content)
            if column == self.HOLDER and row.claim_expires_at is not None:
                holder = None if row.decided else row.held_by_other(self._me, self._now())
                if holder is not None:
                    return plain_tooltip(
                        f"Claimed by {holder} until {row.claim_expires_at:%Y-%m-%d %H:%M} UTC: "
                        "the hub would refuse your decision (conflict) until then."
                    )
            return None
        if (
            role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole)
            and not row.decided
            and row.held_by_other(self._me, self._now()) is not None
        ):
            # The whole row greyed (not decidable here for now), the holder's name in bold.
            if role == Qt.ItemDataRole.FontRole:
                return self._bold if column == self.HOLDER else None
            return QBrush(HELD_BY_OTHER if column == self.HOLDER else HELD_ELSEWHERE)
        if role == Qt.ItemDataRole.FontRole:
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == self.HOLDER:
            return QBrush(HELD_ELSEWHERE)  # "me" on most rows: quiet
        if role == Qt.ItemDataRole.ForegroundRole and column == self.AGE and not row.decided:
            age = self._now() - row.created_at
            if age >= PROMISE:
                return QBrush(OVERDUE)
            if age >= PROMISE * 0.75:
                return QBrush(DUE_SOON)
            return None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._display(row, column)
        if role == ProposalIdRole:
            return row.id
        if role == RowRole:
            return row
        return None

    def _static_texts(self, row: QueueRow) -> dict[int, str]:
        """The cell texts that depend only on the row (computed once, not on every paint)."""
        return {column: self._display(row, column) for column in _STATIC_COLUMNS}

    def _display(self, row: QueueRow, column: int) -> str:
        if column == self.AGE:
            age = self._now() - row.created_at
            text_age = format_age(age)
            return f"{text_age} ⚠" if age >= PROMISE and not row.decided else text_age
        if column == self.STATUS:
            return row.shown_status
        if column == self.HOLDER:
            if row.decided:
                return ""
            holder = row.held_by_other(self._me, self._now())
            if holder is not None:
                return single_line(holder, 30)
            return "me" if row.claim_moderator == self._me else ""
        if column == self.CONTENT:
            return single_line(row.content, 160)
        if column == self.AUTHOR:
            return single_line(row.author_first_name, 40)
        if column == self.QUESTION:
            return single_line(row.question, 40)
        if column == self.LANGUAGE:
            return single_line(row.language, 8)
        if column == self.CHECKS:
            found = self.findings(row)
            if not found:
                return ""
            # One per distinct finding, as the proposal pane lists them (not one per HTML tag).
            distinct = {
                (getattr(f, "kind", ""), getattr(f, "clause_id", ""), getattr(f, "message", ""))
                for f in found
            }
            violations = any(kind == "violation" for kind, _clause, _message in distinct)
            return f"{len(distinct)} ✗" if violations else f"{len(distinct)} ?"
        return ""


# Cells whose text depends only on the row (age depends on the clock, checks are cached apart).
_STATIC_COLUMNS = frozenset(
    {
        QueueModel.STATUS,
        QueueModel.CONTENT,
        QueueModel.AUTHOR,
        QueueModel.QUESTION,
        QueueModel.LANGUAGE,
    }
)
