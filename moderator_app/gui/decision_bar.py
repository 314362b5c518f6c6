"""The decision bar: accept, refuse citing a clause (with the mail preview), correct, postpone.

Refusing is two keys and Enter: R opens the refusal panel, typing a clause number picks the clause
(digits accumulate, so 1 then 1 is clause 11), the mail appears exactly as it will be sent, an
optional personal note can be added, Enter confirms and Esc cancels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from moderator_app.gui.charter_pane import ClauseListModel, ClauseView
from moderator_app.gui.plain_text import neutralise

# (clause id, personal note) -> the mail text as it will be sent, or an explanation why none is.
MailPreview = Callable[[str, str], str]

DIGIT_BUFFER_MS = 1200


class RefusalPanel(QWidget):
    """Clause picker, mail preview and personal note."""

    confirmed = Signal(str, str)  # clause id, note
    cancelled = Signal()
    clausePicked = Signal(str)  # clause id: the charter pane shows its text

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("refusalPanel")
        self._preview: MailPreview | None = None
        self._digits = ""
        self._digit_timer = QTimer(self)
        self._digit_timer.setSingleShot(True)
        self._digit_timer.setInterval(DIGIT_BUFFER_MS)
        self._digit_timer.timeout.connect(self._forget_digits)

        self.model = ClauseListModel(self)
        self.clauses = QListView()
        self.clauses.setObjectName("refusalClauses")
        self.clauses.setModel(self.model)
        self.clauses.setAccessibleName("Clause to cite: type its number")
        self.clauses.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.clauses.selectionModel().currentChanged.connect(self._clause_changed)
        self.clauses.installEventFilter(self)

        self.preview = QPlainTextEdit()
        self.preview.setObjectName("mailPreview")
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("The refusal mail as it will be sent")
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.preview.installEventFilter(self)

        self.note = QLineEdit()
        self.note.setObjectName("refusalNote")
        self.note.setPlaceholderText("Optional personal note to the author")
        self.note.setAccessibleName("Personal note to the author")
        self.note.setMaxLength(2_000)
        self.note.textChanged.connect(self._refresh_preview)
        self.note.returnPressed.connect(self.confirm)
        self.note.installEventFilter(self)

        self.confirm_button = QPushButton("Refuse and queue the mail (Enter)")
        self.confirm_button.setObjectName("confirmRefusal")
        self.confirm_button.clicked.connect(self.confirm)
        self.cancel_button = QPushButton("Cancel (Esc)")
        self.cancel_button.clicked.connect(self.cancel)

        hint = QLabel("Type the clause number, then Enter. Tab reaches the note.")
        hint.setTextFormat(Qt.TextFormat.PlainText)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("refusalSplitter")
        splitter.addWidget(self.clauses)
        splitter.addWidget(self.preview)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.confirm_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(hint)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        self.setTabOrder(self.clauses, self.note)
        self.setTabOrder(self.note, self.confirm_button)

    def start(
        self,
        clauses: Sequence[ClauseView],
        marked: Sequence[str],
        preview: MailPreview,
        preselect: str | None = None,
    ) -> None:
        self._preview = preview
        self._digits = ""
        self.note.clear()
        self.model.set_clauses(clauses)
        self.model.set_marked(marked)
        self.clauses.selectionModel().clearCurrentIndex()
        self.preview.setPlainText("Type the number of the clause to cite.")
        if preselect is not None:
            self.pick(preselect)
        self.clauses.setFocus()

    def current_clause(self) -> ClauseView | None:
        return self.model.clause_at(self.clauses.currentIndex().row())

    def pick(self, clause_id: str) -> None:
        row = self.model.row_of(clause_id)
        if row >= 0:
            self.clauses.selectionModel().setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )

    def type_digit(self, digit: str) -> None:
        """Pick the clause whose number is the digits typed so far (1 then 1 is clause 11)."""
        numbers = {clause.number: clause for clause in self.model.clauses()}
        candidate = self._digits + digit
        if int(candidate) not in numbers:
            candidate = digit  # start again: "7" after "1" means clause 7 when there is no 17
        self._digits = candidate
        self._digit_timer.start()
        clause = numbers.get(int(candidate))
        if clause is not None:
            self.pick(clause.id)

    def _forget_digits(self) -> None:
        self._digits = ""

    def confirm(self) -> None:
        clause = self.current_clause()
        if clause is None:
            self.preview.setPlainText("Pick a clause first: type its number.")
            return
        self.confirmed.emit(clause.id, self.note.text().strip())

    def cancel(self) -> None:
        self.cancelled.emit()

    def _clause_changed(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        clause = self.current_clause()
        if clause is not None:
            self.clausePicked.emit(clause.id)
        self._refresh_preview()

    def _refresh_preview(self) -> None:
        clause = self.current_clause()
        if clause is None or self._preview is None:
            return
        self.preview.setPlainText(neutralise(self._preview(clause.id, self.note.text().strip())))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and watched is not self.note:
                self.confirm()
                return True
            if key == Qt.Key.Key_Escape:
                self.cancel()
                return True
            if watched is not self.note and event.text().isdigit() and event.text().isascii():
                self.type_digit(event.text())
                return True
        return super().eventFilter(watched, event)


class CorrectionPanel(QWidget):
    """A small correction of the text before accepting it (the original is kept by the hub)."""

    confirmed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("correctionPanel")
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("correctionEditor")
        self.editor.setAccessibleName("Corrected proposal text")
        self.editor.setTabChangesFocus(True)
        self.editor.installEventFilter(self)
        self.confirm_button = QPushButton("Accept with this correction (Ctrl+Enter)")
        self.confirm_button.clicked.connect(self.confirm)
        self.cancel_button = QPushButton("Cancel (Esc)")
        self.cancel_button.clicked.connect(self.cancelled)
        hint = QLabel("Correct small spelling mistakes only; more needs a rewrite by the author.")
        hint.setTextFormat(Qt.TextFormat.PlainText)
        hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.confirm_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(hint)
        layout.addWidget(self.editor, 1)
        layout.addLayout(buttons)

    def start(self, text: str) -> None:
        # The author's text as it is: corrections must not silently drop characters.
        self.editor.setPlainText(text)
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)
        self.editor.setFocus()

    def confirm(self) -> None:
        text = self.editor.toPlainText().strip()
        if text:
            self.confirmed.emit(text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self.confirm()
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.cancelled.emit()
                return True
        return super().eventFilter(watched, event)


class DecisionBar(QWidget):
    """Buttons for every decision, and the refusal / correction panels under them."""

    IDLE, REFUSING, CORRECTING = range(3)
    modeChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("decisionBar")
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self._buttons_row = row
        self.refusal = RefusalPanel()
        self.correction = CorrectionPanel()
        self.idle = QLabel("A accept · R refuse (then the clause number) · E correct · P postpone")
        self.idle.setTextFormat(Qt.TextFormat.PlainText)
        self.idle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.idle.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.idle)
        self.stack.addWidget(self.refusal)
        self.stack.addWidget(self.correction)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.stack, 1)
        self.refusal.cancelled.connect(self.show_idle)
        self.correction.cancelled.connect(self.show_idle)
        self.show_idle()

    def add_button(self, name: str, action: QAction) -> QPushButton:
        """A button mirroring a QAction (text, shortcut in the tooltip, enabled state)."""
        button = QPushButton(action.text().replace("&", ""))
        button.setObjectName(f"button_{name}")
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        button.setToolTip(f"{action.statusTip()} ({keys})")
        button.setAccessibleName(action.text().replace("&", ""))
        button.clicked.connect(action.trigger)
        button.setEnabled(action.isEnabled())
        action.enabledChanged.connect(button.setEnabled)
        self._buttons_row.addWidget(button)
        self.buttons[name] = button
        return button

    def mode(self) -> int:
        return self.stack.currentIndex()

    def show_idle(self) -> None:
        self.stack.setCurrentIndex(self.IDLE)
        self.stack.setMaximumHeight(self.idle.sizeHint().height() + 8)
        self.modeChanged.emit(self.IDLE)

    def start_refusal(
        self,
        clauses: Sequence[ClauseView],
        marked: Sequence[str],
        preview: MailPreview,
        preselect: str | None = None,
    ) -> None:
        self.stack.setMaximumHeight(16_777_215)
        self.stack.setCurrentIndex(self.REFUSING)
        self.modeChanged.emit(self.REFUSING)
        self.refusal.start(clauses, marked, preview, preselect)

    def start_correction(self, text: str) -> None:
        self.stack.setMaximumHeight(16_777_215)
        self.stack.setCurrentIndex(self.CORRECTING)
        self.modeChanged.emit(self.CORRECTING)
        self.correction.start(text)
