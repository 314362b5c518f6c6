"""The charter beside every proposal: numbered clauses, the ones pre-checks point to marked.

Selecting a clause shows its text, rewrite tips and examples. The pane shows one language at a
time (the proposal's, when the charter has it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QLabel, QListView, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from moderator_app.gui.plain_text import neutralise, plain_tooltip

ClauseIdRole = Qt.ItemDataRole.UserRole + 1
MARKED_BACKGROUND = QColor(255, 236, 200)
NOTHING_SELECTED = (
    "No pre-check points to a clause of the charter.\n\n"
    "Select a clause to read its text, the tips for the author and examples."
)


@dataclass(frozen=True)
class ClauseView:
    """One clause as the pane shows it, in one language."""

    id: str
    number: int
    title: str
    text: str
    tips: str
    mail_template: str
    examples_accept: tuple[str, ...] = ()
    examples_refuse: tuple[str, ...] = ()
    language: str = ""  # the language of the texts above

    @property
    def label(self) -> str:
        return f"{self.number}. {self.title}"


def _in_language(value: Any, language: str, fallback: str) -> str:
    if isinstance(value, Mapping):
        text = value.get(language) or value.get(fallback)
        if text is None and value:
            text = next(iter(value.values()))
        return str(text or "")
    return str(value or "")


def _examples(value: Any, language: str, fallback: str) -> tuple[str, ...]:
    if isinstance(value, Mapping):
        value = value.get(language) or value.get(fallback) or ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value or ())


def clause_views(charter: Any, language: str) -> list[ClauseView]:
    """The charter's clauses in `language` (or the charter's first language), sorted by number."""
    languages: Sequence[str] = tuple(getattr(charter, "languages", ()) or ())
    fallback = languages[0] if languages else language
    shown = language if language in languages or not languages else fallback
    views = [
        ClauseView(
            id=str(clause.id),
            number=int(clause.number),
            title=_in_language(clause.title, language, fallback),
            text=_in_language(clause.text, language, fallback),
            tips=_in_language(clause.tips, language, fallback),
            mail_template=str(getattr(clause, "mail_template", "") or ""),
            examples_accept=_examples(getattr(clause, "examples_accept", ()), language, fallback),
            examples_refuse=_examples(getattr(clause, "examples_refuse", ()), language, fallback),
            language=shown,
        )
        for clause in charter.clauses
    ]
    return sorted(views, key=lambda view: view.number)


class ClauseListModel(QAbstractListModel):
    """The numbered clauses; clauses a pre-check points to are bold, tinted and flagged ⚠."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clauses: list[ClauseView] = []
        self._marked: frozenset[str] = frozenset()
        self._bold = QFont()
        self._bold.setBold(True)

    def set_clauses(self, clauses: Iterable[ClauseView]) -> None:
        self.beginResetModel()
        self._clauses = list(clauses)
        self.endResetModel()

    def set_marked(self, clause_ids: Iterable[str]) -> None:
        marked = frozenset(clause_ids)
        if marked == self._marked:
            return
        self._marked = marked
        if self._clauses:
            self.dataChanged.emit(self.index(0), self.index(len(self._clauses) - 1))

    def clauses(self) -> list[ClauseView]:
        return list(self._clauses)

    def marked(self) -> frozenset[str]:
        return self._marked

    def row_of(self, clause_id: str) -> int:
        for row, clause in enumerate(self._clauses):
            if clause.id == clause_id:
                return row
        return -1

    def clause_at(self, row: int) -> ClauseView | None:
        if 0 <= row < len(self._clauses):
            return self._clauses[row]
        return None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._clauses)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._clauses):
            return None
        clause = self._clauses[index.row()]
        marked = clause.id in self._marked
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{clause.label}  ⚠" if marked else clause.label
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(clause.text)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            suffix = " (flagged by a pre-check)" if marked else ""
            return f"Clause {clause.number}: {clause.title}{suffix}"
        if role == Qt.ItemDataRole.FontRole and marked:
            return self._bold
        if role == Qt.ItemDataRole.BackgroundRole and marked:
            return QBrush(MARKED_BACKGROUND)
        if role == ClauseIdRole:
            return clause.id
        return None


# The headings inside a clause's details are part of the charter's text, so they are in the
# clause's language (the workbench's own controls stay English): (tips, accept, refuse).
DETAIL_HEADINGS: dict[str, tuple[str, str, str]] = {
    "en": ("Tips for the author:", "Accept, for example:", "Refuse, for example:"),
    "fr": ("Conseils pour l'auteur :", "À accepter, par exemple :", "À refuser, par exemple :"),
}
LANGUAGE_NAMES = {"en": "English", "fr": "French"}


def clause_details(clause: ClauseView) -> str:
    """The text shown under the clause list for the selected clause."""
    tips, accept, refuse = DETAIL_HEADINGS.get(clause.language, DETAIL_HEADINGS["en"])
    parts = [clause.label, "", clause.text]
    if clause.tips:
        parts += ["", tips, clause.tips]
    if clause.examples_accept:
        parts += ["", accept] + [f"  ✓ {example}" for example in clause.examples_accept]
    if clause.examples_refuse:
        parts += ["", refuse] + [f"  ✗ {example}" for example in clause.examples_refuse]
    return "\n".join(parts)


class CharterPane(QWidget):
    """Clause list above, the selected clause's text, tips and examples below."""

    clauseActivated = Signal(str)  # double-click or Enter on a clause: refuse citing it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("charterPane")
        self.model = ClauseListModel(self)
        self.heading = QLabel("Charter")
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        heading_font = self.heading.font()
        heading_font.setBold(True)
        self.heading.setFont(heading_font)

        self.list = QListView()
        self.list.setObjectName("charterClauses")
        self.list.setModel(self.model)
        self.list.setAccessibleName("Charter clauses")
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(False)
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.list.selectionModel().currentChanged.connect(self._show_current)
        self.list.activated.connect(self._activated)

        self.details = QPlainTextEdit()
        self.details.setObjectName("charterDetails")
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Selected clause: text, tips and examples")
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("charterSplitter")
        self.splitter.addWidget(self.list)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.splitter)

    def set_charter(self, clauses: Sequence[ClauseView], version: str = "") -> None:
        self.model.set_clauses(clauses)
        language = clauses[0].language if clauses else ""
        name = LANGUAGE_NAMES.get(language, language)
        self.heading.setText(f"Charter {version} — {name}" if name else f"Charter {version}")
        self.heading.setToolTip(
            f"The clauses in {name}, the proposal's language, as its author reads them in a "
            "refusal mail; the workbench's own controls stay in English."
            if name
            else ""
        )
        self.clear_selection()

    def set_marked(self, clause_ids: Iterable[str]) -> None:
        """Mark the clauses the pre-checks point to and show the first of them; with none,
        select nothing (a selected clause would read like a finding)."""
        ids = list(clause_ids)
        self.model.set_marked(ids)
        if ids and self.model.row_of(ids[0]) >= 0:
            self.select_clause(ids[0])
        else:
            self.clear_selection()

    def clear_selection(self) -> None:
        self.list.selectionModel().clearSelection()
        self.list.selectionModel().clearCurrentIndex()
        self.details.setPlainText(NOTHING_SELECTED)

    def select_clause(self, clause_id: str) -> None:
        row = self.model.row_of(clause_id)
        if row < 0:
            return
        self.list.selectionModel().setCurrentIndex(
            self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )

    def current_clause(self) -> ClauseView | None:
        return self.model.clause_at(self.list.currentIndex().row())

    def _show_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        clause = self.model.clause_at(current.row())
        self.details.setPlainText(neutralise(clause_details(clause)) if clause else "")

    def _activated(self, index: QModelIndex) -> None:
        clause = self.model.clause_at(index.row())
        if clause is not None:
            self.clauseActivated.emit(clause.id)
