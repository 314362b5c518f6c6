"""Decisions the hub refused, with the hub's state, to redo or drop.

A conflict is never dropped silently: it stays here until the moderator either decides the
proposal again (redo: the triage view opens on it; the new decision supersedes the old one) or
lets the hub's state stand (drop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select

from moderator_app.core.models import Decision, Proposal
from moderator_app.gui.plain_text import plain_tooltip, single_line
from moderator_app.gui.queue_model import SessionFactory
from moderator_app.gui.table_model import RowListModel

CONFLICT_EXPLANATIONS = {
    "decided_by_other": "another moderator decided it first",
    "claimed_by_other": "another moderator holds it",
    "withdrawn": "the author withdrew it",
    "version_changed": "its text changed since you read it",
    "invalid": "the hub refused the decision's fields",
}


@dataclass(frozen=True)
class ConflictRow:
    decision_id: str
    proposal_id: int
    content: str
    outcome: str
    clause_id: str | None
    kind: str
    detail: str
    hub_status: str
    hub_decision: str


def load_conflicts(session_factory: SessionFactory) -> list[ConflictRow]:
    with session_factory() as session:
        results = session.execute(
            select(Decision, Proposal)
            .join(Proposal, Proposal.id == Decision.proposal_id)
            .where(Decision.sync_state == "conflict")
            .order_by(Decision.decided_at)
        ).all()
    rows = []
    for decision, proposal in results:
        hub_decision = ""
        if proposal.hub_decision_outcome:
            clause = f" ({proposal.hub_decision_clause})" if proposal.hub_decision_clause else ""
            hub_decision = (
                f"{proposal.hub_decision_outcome}{clause} by {proposal.hub_decision_moderator}"
            )
        rows.append(
            ConflictRow(
                decision_id=decision.id,
                proposal_id=proposal.id,
                content=proposal.content,
                outcome=decision.outcome,
                clause_id=decision.clause_id,
                kind=decision.conflict_kind or "",
                detail=decision.hub_detail or "",
                hub_status=proposal.status,
                hub_decision=hub_decision,
            )
        )
    return rows


class ConflictsModel(RowListModel[ConflictRow]):
    COLUMNS = ("Proposal", "Your decision", "Why the hub refused", "Hub's state", "Text")

    def __init__(self, session_factory: SessionFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session_factory = session_factory

    def reload(self) -> None:
        self.set_rows(load_conflicts(self._session_factory))

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is not None and role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self.cell_text(row, index.column()))
        return super().data(index, role)

    def cell_text(self, row: ConflictRow, column: int) -> str:
        if column == 0:
            return f"#{row.proposal_id}"
        if column == 1:
            return f"{row.outcome} ({row.clause_id})" if row.clause_id else row.outcome
        if column == 2:
            why = CONFLICT_EXPLANATIONS.get(row.kind, row.kind)
            return single_line(f"{why}: {row.detail}" if row.detail else why, 300)
        if column == 3:
            return single_line(
                f"{row.hub_status}, {row.hub_decision}" if row.hub_decision else row.hub_status
            )
        if column == 4:
            return single_line(row.content, 200)
        return ""


class ConflictsView(QWidget):
    """The conflicts table with Redo and Drop."""

    redoRequested = Signal(int, str)  # proposal id, decision id
    dropRequested = Signal(str)  # decision id

    def __init__(self, session_factory: SessionFactory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conflictsView")
        self.model = ConflictsModel(session_factory, self)
        intro = QLabel(
            "The hub refused these decisions. Redo decides the proposal again on its current "
            "state; Drop lets the hub's state stand. Nothing here is dropped without you."
        )
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        self.table = QTableView()
        self.table.setObjectName("conflictsTable")
        self.table.setAccessibleName("Conflicted decisions")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for column in (0, 1, 3):  # ids, outcomes and states: short, never cut
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        # The hub's reason matters as much as the text: they share what is left.
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.activated.connect(lambda _index: self.redo_current())
        self.redo_button = QPushButton("&Redo the decision")
        self.redo_button.setObjectName("redoConflict")
        self.redo_button.clicked.connect(self.redo_current)
        self.drop_button = QPushButton("&Drop mine, keep the hub's")
        self.drop_button.setObjectName("dropConflict")
        self.drop_button.clicked.connect(self.drop_current)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.redo_button)
        buttons.addWidget(self.drop_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def reload(self) -> None:
        self.model.reload()
        if self.model.rowCount():
            self.table.selectRow(0)

    def current(self) -> ConflictRow | None:
        return self.model.row_at(self.table.currentIndex().row())

    def redo_current(self) -> None:
        row = self.current()
        if row is not None:
            self.redoRequested.emit(row.proposal_id, row.decision_id)

    def drop_current(self) -> None:
        row = self.current()
        if row is not None:
            self.dropRequested.emit(row.decision_id)
