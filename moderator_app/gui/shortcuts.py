"""Every workbench action as a QAction with its key, and the shortcut sheet shown on `?`.

Single-letter keys (J, K, A, R, E, P) are window shortcuts: Qt's text inputs claim printable keys
for themselves first, so typing "jardin" in the search box or a note never triggers them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    shortcut: str
    help: str
    group: str


# Order matters: it is the order of the menus, the toolbar and the shortcut sheet.
ACTION_SPECS: tuple[ActionSpec, ...] = (
    ActionSpec("next", "&Next proposal", "J", "Show the next proposal in the queue", "Navigate"),
    ActionSpec("previous", "&Previous proposal", "K", "Show the previous proposal", "Navigate"),
    ActionSpec("search", "&Search", "/", "Focus the full-text search box", "Navigate"),
    ActionSpec("accept", "&Accept", "A", "Accept the proposal as written", "Decide"),
    ActionSpec(
        "refuse",
        "&Refuse…",
        "R",
        "Refuse: then type the clause number, add a note if you wish, Enter confirms",
        "Decide",
    ),
    ActionSpec(
        "edit",
        "&Edit and accept…",
        "E",
        "Correct a small mistake, then Ctrl+Enter accepts",
        "Decide",
    ),
    ActionSpec("postpone", "Post&pone", "P", "Leave the proposal for later", "Decide"),
    ActionSpec(
        "sync", "S&ync now", "F5", "Push decisions and pull changes in the background", "Hub"
    ),
    ActionSpec(
        "take_offline",
        "&Take proposals offline…",
        "Ctrl+T",
        "Claim a batch of proposals to work on without a connection",
        "Hub",
    ),
    ActionSpec(
        "show_triage", "T&riage", "Ctrl+1", "The queue, the proposal and the charter", "View"
    ),
    ActionSpec(
        "show_conflicts", "&Conflicts", "Ctrl+2", "Decisions the hub refused: redo or drop", "View"
    ),
    ActionSpec("show_support", "S&upport", "Ctrl+3", "Find refusal mails and resend them", "View"),
    ActionSpec("shortcuts", "&Keyboard shortcuts", "?", "Show this sheet", "Help"),
    ActionSpec("quit", "&Quit", "Ctrl+Q", "Close the workbench", "File"),
)


class WorkbenchActions(QObject):
    """The window's QActions by name; undo and redo come from the decision QUndoStack."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.by_name: dict[str, QAction] = {}
        self._extra_help: dict[str, tuple[str, str]] = {}
        for spec in ACTION_SPECS:
            action = QAction(spec.text, parent)
            action.setObjectName(f"action_{spec.name}")
            action.setShortcut(QKeySequence(spec.shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{spec.help} ({spec.shortcut})")
            action.setStatusTip(spec.help)
            parent.addAction(action)
            self.by_name[spec.name] = action

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]

    def add(self, name: str, action: QAction, help_text: str, group: str) -> None:
        """Register an action built elsewhere (undo/redo) so the sheet lists it too."""
        action.setObjectName(f"action_{name}")
        action.setStatusTip(help_text)
        self.by_name[name] = action
        self._extra_help[name] = (help_text, group)

    def sheet_rows(self) -> list[tuple[str, str, str]]:
        """(keys, action, what it does) for the shortcut sheet, in menu order."""
        rows = []
        for spec in ACTION_SPECS:
            rows.append((spec.shortcut, spec.text.replace("&", ""), spec.help))
        for name, (help_text, _group) in self._extra_help.items():
            action = self.by_name[name]
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            rows.append((keys, action.text().replace("&", ""), help_text))
        rows.append(
            (
                "0 … 9",
                "Clause number",
                "While refusing: type the clause's number (1 then 2 picks clause 12)",
            )
        )
        rows.append(("Enter", "Confirm", "While refusing: send the refusal with its mail"))
        rows.append(("Esc", "Cancel", "Leave the refusal or the correction without deciding"))
        return rows


class ShortcutSheet(QDialog):
    """Every key the workbench knows, in one table."""

    def __init__(self, rows: list[tuple[str, str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcutSheet")
        intro = QLabel("Every action is also in the menus and on the toolbar.")
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableWidget(len(rows), 3)
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "What it does"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(640, 480)
