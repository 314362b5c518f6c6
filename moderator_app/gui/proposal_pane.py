"""The proposal being decided: its text in large type with pre-check findings highlighted.

Around it: the author's first name, the question, the submission date and age, what has been
decided locally, the findings as sentences, and similar proposals already decided (and how).
Everything from the proposal is untrusted and shown as plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from moderator_app.gui.plain_text import (
    ElidedField,
    field_label,
    neutralise_with_offsets,
    plain_field,
    plain_tooltip,
    set_field_text,
    single_line,
    utf16_offset,
)
from moderator_app.gui.queue_model import PROMISE, QueueRow, format_age

VIOLATION_COLOUR = QColor(255, 205, 210)
HINT_COLOUR = QColor(255, 241, 180)
CONTENT_POINT_SIZE = 17


def _finding_kind(finding: Any) -> str:
    return str(getattr(finding, "kind", "hint"))


def finding_sentence(finding: Any, clause_label: str | None) -> str:
    symbol = "✗" if _finding_kind(finding) == "violation" else "?"
    where = f" — {clause_label}" if clause_label else ""
    return f"{symbol} {getattr(finding, 'message', '')}{where}"


class ProposalPane(QWidget):
    """Shows one queue row; `show_row(None)` shows the empty state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("proposalPane")
        self.row: QueueRow | None = None
        self._compact = False

        self.author = plain_field("Author's first name")
        self.question = ElidedField("Question")
        self.submitted = ElidedField("Submitted")
        self.state = ElidedField("Decision state")
        facts = QFormLayout()
        facts.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        facts.addRow(field_label("Author:", self.author), self.author)
        facts.addRow(field_label("Question:", self.question), self.question)
        facts.addRow(field_label("Submitted:", self.submitted), self.submitted)
        facts.addRow(field_label("Decision:", self.state), self.state)

        self.content = QPlainTextEdit()
        self.content.setObjectName("proposalContent")
        self.content.setReadOnly(True)
        self.content.setAccessibleName("Proposal text")
        self.content.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.content.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        font = self.content.font()
        font.setPointSize(CONTENT_POINT_SIZE)
        self.content.setFont(font)

        self.findings_heading = QLabel("Pre-check findings (hints; you decide)")
        self.findings_heading.setTextFormat(Qt.TextFormat.PlainText)
        self.findings = QListWidget()
        self.findings.setObjectName("proposalFindings")
        self.findings.setAccessibleName("Pre-check findings")
        self.findings.setMaximumHeight(90)
        self.findings.setWordWrap(True)
        self.findings.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.similar_heading = QLabel("Similar proposals already decided")
        self.similar_heading.setTextFormat(Qt.TextFormat.PlainText)
        self.similar = QListWidget()
        self.similar.setObjectName("similarProposals")
        self.similar.setAccessibleName("Similar proposals already decided")
        self.similar.setMaximumHeight(110)
        self.similar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.similar.setTextElideMode(Qt.TextElideMode.ElideRight)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(facts)
        layout.addWidget(self.content, 1)
        layout.addWidget(self.findings_heading)
        layout.addWidget(self.findings)
        layout.addWidget(self.similar_heading)
        layout.addWidget(self.similar)
        self.show_row(None)

    def show_row(
        self,
        row: QueueRow | None,
        findings: Sequence[Any] = (),
        clause_labels: dict[str, str] | None = None,
        question_title: str = "",
        now: datetime | None = None,
        held_by: str | None = None,
    ) -> None:
        self.row = row
        self.similar.clear()
        self.findings.clear()
        if row is None:
            for field in (self.author, self.question, self.submitted, self.state):
                set_field_text(field, "")
            self.content.setPlainText("Nothing to show: the queue is empty for these filters.")
            self.content.setExtraSelections([])
            return
        now = now or datetime.now(UTC)
        set_field_text(self.author, row.author_first_name or "(no first name)")
        set_field_text(self.question, question_title or row.question)
        age = now - row.created_at
        overdue = ", over the 48 h promise" if age >= PROMISE and not row.decided else ""
        # What matters first (the age against the promise, the language) before the exact date,
        # so a narrow pane elides the date, not them.
        set_field_text(
            self.submitted,
            f"{format_age(age)} ago{overdue} · {row.language} · "
            f"{row.created_at:%Y-%m-%d %H:%M} UTC",
        )
        state = row.shown_status
        if held_by is not None:
            until = f" until {row.claim_expires_at:%H:%M} UTC" if row.claim_expires_at else ""
            state += f" — held by {single_line(held_by, 40)}{until}: not decidable here"
        set_field_text(self.state, state)
        shown, offsets = neutralise_with_offsets(row.content)
        self.content.setPlainText(shown)
        self._highlight(shown, offsets, findings)
        self.add_findings(findings, clause_labels or {})

    def add_findings(self, findings: Sequence[Any], labels: dict[str, str]) -> None:
        """List findings as sentences (possible duplicates arrive a moment after the rest);
        the same sentence found several times (one per HTML tag, say) is listed once, counted.
        Every span stays highlighted in the text."""
        counts: dict[str, int] = {}
        for finding in findings:
            clause_id = str(getattr(finding, "clause_id", ""))
            sentence = single_line(finding_sentence(finding, labels.get(clause_id)))
            counts[sentence] = counts.get(sentence, 0) + 1
        for sentence, count in counts.items():
            self.findings.addItem(
                QListWidgetItem(f"{sentence} (×{count})" if count > 1 else sentence)
            )
        self.set_compact(self._compact)

    def _highlight(
        self, shown: str, offsets: Sequence[int] | None, findings: Sequence[Any]
    ) -> None:
        selections = []
        original_length = len(offsets) - 1 if offsets is not None else len(shown)
        for finding in findings:
            start = int(getattr(finding, "start", 0))
            end = int(getattr(finding, "end", 0))
            start, end = max(0, min(start, original_length)), max(0, min(end, original_length))
            if end <= start:
                continue
            if offsets is not None:
                start, end = offsets[start], offsets[end]
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.content.document())
            cursor.setPosition(utf16_offset(shown, start))
            cursor.setPosition(utf16_offset(shown, end), QTextCursor.MoveMode.KeepAnchor)
            char_format = QTextCharFormat()
            colour = VIOLATION_COLOUR if _finding_kind(finding) == "violation" else HINT_COLOUR
            char_format.setBackground(colour)
            char_format.setToolTip(plain_tooltip(str(getattr(finding, "message", ""))))
            selection.cursor = cursor
            selection.format = char_format
            selections.append(selection)
        self.content.setExtraSelections(selections)

    def set_compact(self, compact: bool) -> None:
        """While deciding, the lists give their room to the refusal or correction panel."""
        self._compact = compact
        has_findings = self.findings.count() > 0
        self.findings_heading.setVisible(has_findings and not compact)
        self.findings.setVisible(has_findings and not compact)
        self.similar_heading.setVisible(not compact)
        self.similar.setVisible(not compact)

    def highlighted_texts(self) -> list[str]:
        """The highlighted passages, as shown (for tests and accessibility checks)."""
        return [selection.cursor.selectedText() for selection in self.content.extraSelections()]

    def show_similar(self, similar: Sequence[tuple[str, str]]) -> None:
        """(how it was decided, text) of proposals like this one that were already decided."""
        self.similar.clear()
        for outcome, text in similar:
            self.similar.addItem(QListWidgetItem(f"{outcome} · {single_line(text, 160)}"))
        if not similar:
            self.similar.addItem(QListWidgetItem("None found."))
