"""The workbench window: queue | proposal + decision bar | charter, with conflicts and support tabs.

Decisions are recorded on the GUI thread through the core (one short durable SQLite transaction),
then the next proposal shows at once; the hub hears about them when the sync worker next runs.
"""

from __future__ import annotations

import gc
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QShowEvent,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from moderator_app.core.errors import UserError
from moderator_app.core.models import (
    ACTIVE_SYNC_STATES,
    Decision,
    HubSyncState,
    MailOutbox,
    Proposal,
    Question,
)
from moderator_app.gui.charter_pane import CharterPane, clause_views
from moderator_app.gui.conflicts_view import ConflictsView
from moderator_app.gui.decision_bar import DecisionBar
from moderator_app.gui.plain_text import set_label_text, single_line
from moderator_app.gui.proposal_pane import ProposalPane
from moderator_app.gui.queue_model import (
    FINDING_FILTERS,
    STATUS_FILTERS,
    QueueFilters,
    QueueModel,
    QueueRow,
    count_rows,
)
from moderator_app.gui.services import WorkbenchServices
from moderator_app.gui.settings import WorkbenchSettings
from moderator_app.gui.shortcuts import ShortcutSheet, WorkbenchActions
from moderator_app.gui.support_tab import SupportTab
from moderator_app.gui.sync_worker import SyncController, SyncOutcome
from moderator_app.gui.wording import count_of

AUTO_SYNC_MS = 5 * 60 * 1000
SIMILAR_DELAY_MS = 150
SEARCH_DELAY_MS = 250
# Default shares of the window's width: the queue (whose proposal column takes the rest of its
# width), the proposal, and the charter (what is left).
QUEUE_SHARE, MIDDLE_SHARE = 0.46, 0.32
SCREEN_SHARE = 0.85  # of the screen's free area, when no size was saved
SMALL_SCREEN = (1280, 800)  # up to this, the window takes the whole free area
PREFETCH_AHEAD = 60  # rows left below the current one when the next batch is fetched
_WORD = re.compile(r"\w{4,}", re.UNICODE)


@dataclass(frozen=True)
class DecisionRequest:
    proposal_id: int
    outcome: str
    clause_id: str | None = None
    edited_content: str | None = None
    note: str | None = None


class DecisionCommand(QUndoCommand):
    """A recorded decision on the undo stack: undo takes it back while it is still unsent."""

    def __init__(self, window: MainWindow, request: DecisionRequest, decision_id: str) -> None:
        super().__init__(f"{request.outcome} proposal #{request.proposal_id}")
        self._window = window
        self.request = request
        self.decision_id = decision_id
        self._recorded = True  # pushed after the decision was recorded

    def redo(self) -> None:
        if self._recorded:
            return
        decision_id = self._window.record(self.request, move_on=False)
        if decision_id is None:
            self.setObsolete(True)
            return
        self.decision_id = decision_id
        self._recorded = True

    def undo(self) -> None:
        if self._window.take_back(self.decision_id, self.request.proposal_id):
            self._recorded = False
        else:
            self.setObsolete(True)


class _ShortLabel(QObject):
    """Keeps an undo/redo action's label short; the command's text goes to its tooltip."""

    def __init__(self, action: QAction, label: str) -> None:
        super().__init__(action)
        self._action = action
        self._label = label
        self.relabel("")

    @Slot(str)
    def relabel(self, detail: str) -> None:
        if not shiboken6.isValid(self._action):
            return  # the window is being torn down; the undo stack empties itself
        self._action.setText(self._label)
        plain = self._label.replace("&", "")
        self._action.setToolTip(f"{plain}: {detail}" if detail else plain)


class MainWindow(QMainWindow):
    _counted = Signal(int, int, str)  # generation, total (-1: failed), error
    _duplicates_built = Signal(object)  # per question: (DuplicateIndex, ids)

    def __init__(self, services: WorkbenchServices, settings: WorkbenchSettings) -> None:
        super().__init__()
        self.services = services
        self.settings = settings
        self.setObjectName("workbenchWindow")
        who = (
            f"{services.moderator} @ {services.hub_url}" if services.hub_url else services.moderator
        )
        self.setWindowTitle(f"Moderator Workbench — {single_line(who, 120)}")
        services.load_question_titles()

        self.actions_ = WorkbenchActions(self)
        self.undo_stack = QUndoStack(self)
        undo_action = self.undo_stack.createUndoAction(self, "&Undo decision")
        # Qt appends the command's text ("… refuse proposal #12"), which makes the toolbar
        # jump; the label stays short and the details go to the tooltip and status tip.
        self._keep_short(undo_action, "&Undo decision", self.undo_stack.undoTextChanged)
        undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.addAction(undo_action)
        self.actions_.add("undo", undo_action, "Take back the last decision while unsent", "Decide")
        redo_action = self.undo_stack.createRedoAction(self, "Re&do decision")
        # Both usual keys, whatever the platform's own convention is.
        redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self._keep_short(redo_action, "Re&do decision", self.undo_stack.redoTextChanged)
        self.addAction(redo_action)
        self.actions_.add("redo", redo_action, "Record the undone decision again", "Decide")

        self.model = QueueModel(
            services.database.session,
            services.moderator,
            findings_for=services.findings,
            now=services.now,
            parent=self,
        )
        self._clauses_by_language: dict[str, list] = {}
        self._idle_middle_sizes: list[int] | None = None
        self._reload_pending = False
        self._shown_once = False
        self._build_triage()
        self.conflicts = ConflictsView(services.database.session)
        self.conflicts.redoRequested.connect(self.redo_conflict)
        self.conflicts.dropRequested.connect(self.drop_conflict)
        self.support = self._build_support()
        self.support.changed.connect(self.refresh_status)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("workbenchTabs")
        self.tabs.addTab(self.triage, "Triage")
        self.tabs.addTab(self.conflicts, "Conflicts")
        self.tabs.addTab(self.support, "Support")
        self.setCentralWidget(self.tabs)
        self.tabs.currentChanged.connect(self._tab_changed)
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect_actions()

        self.sync: SyncController | None = None
        if services.sync_runner is not None:
            self.sync = SyncController(services.sync_runner, self)
            self.sync.started.connect(self._sync_started)
            self.sync.progressed.connect(self._sync_progressed)
            self.sync.finished.connect(self._sync_finished)
            self._auto_sync = QTimer(self)
            self._auto_sync.setInterval(AUTO_SYNC_MS)
            self._auto_sync.timeout.connect(lambda: self.request_sync())
            self._auto_sync.start()
        else:
            self.actions_["sync"].setEnabled(False)
            self.actions_["take_offline"].setEnabled(False)

        # Counting a million rows takes a moment: done after the queue has painted.
        self._count_pool = QThreadPool(self)
        self._count_pool.setMaxThreadCount(1)
        self._count_generation = 0
        self._counted.connect(self._show_count)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(50)
        self._count_timer.timeout.connect(self._update_count)
        self._pending_marks: tuple[list, list[str]] = ([], [])
        self._charter_timer = QTimer(self)
        self._charter_timer.setSingleShot(True)
        self._charter_timer.setInterval(0)
        self._charter_timer.timeout.connect(self._update_charter)
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.setInterval(30)
        self._prefetch_timer.timeout.connect(self._prefetch)
        self._similar_timer = QTimer(self)
        self._similar_timer.setSingleShot(True)
        self._similar_timer.setInterval(SIMILAR_DELAY_MS)
        self._similar_timer.timeout.connect(self._show_similar)

        self._duplicates_built.connect(self._use_duplicates)
        self._duplicates_timer = QTimer(self)
        self._duplicates_timer.setSingleShot(True)
        self._duplicates_timer.timeout.connect(self._build_duplicates)
        self._duplicates_timer.setInterval(300)  # started by the first showEvent

        self.demo_mailbox: QWidget | None = None
        self._mailbox_timer = QTimer(self)  # owned by the window: never fires after it is gone
        self._mailbox_timer.setSingleShot(True)
        self._mailbox_timer.timeout.connect(self._add_demo_mailbox)
        self._mailbox_timer.setInterval(150)  # started by the first showEvent

        if not services.can_decide:
            # Support staff read proposals and resend mails; the hub refuses their decisions
            # (and would then refuse every later push), so nothing here records one.
            self.actions_["take_offline"].setEnabled(False)
            set_label_text(
                self.decision_bar.idle,
                f"Read only: hub user {single_line(services.moderator, 40)} is "
                f"{single_line(services.role or '', 20)}; only moderators and leads decide "
                "(the Support tab finds and resends mails).",
            )
        self._restore_state()
        self.model.reload()
        self.conflicts.reload()
        self._select_row(0)
        self.refresh_status()
        self.queue.setFocus()

    @staticmethod
    def _keep_short(action: QAction, label: str, text_changed: Any) -> None:
        text_changed.connect(_ShortLabel(action, label).relabel)

    # -- layout --------------------------------------------------------------------------------

    def _build_triage(self) -> None:
        self.search = QLineEdit()
        self.search.setObjectName("searchBox")
        self.search.setPlaceholderText("Search the proposals ( / )")
        self.search.setAccessibleName("Full-text search")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_filters)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.search.returnPressed.connect(self._search_done)

        self.status_filter = self._combo("statusFilter", "Status filter", STATUS_FILTERS)
        first_language = self.services.charter.languages[0]
        self.finding_filter = self._combo(
            "findingFilter",
            "Pre-check filter",
            FINDING_FILTERS
            + tuple(
                (
                    clause.id,
                    f"{clause.number}. {clause.title.get(first_language, clause.id)}",
                )
                for clause in self.services.charter.clauses
            ),
        )
        questions = tuple(sorted(self.services.question_titles.items()))
        self.question_filter = self._combo(
            "questionFilter",
            "Question filter",
            (("", "All questions"), *((slug, single_line(title, 60)) for slug, title in questions)),
        )
        self.language_filter = self._combo(
            "languageFilter",
            "Language filter",
            (("", "All languages"), *((lang, lang) for lang in self._languages())),
        )
        self.claimed_filter = QCheckBox("Mine")
        self.claimed_filter.setObjectName("claimedFilter")
        self.claimed_filter.setAccessibleName("Only proposals claimed by me")
        self.claimed_filter.setToolTip("Only the proposals I have claimed (taken offline)")
        self.claimed_filter.toggled.connect(lambda _on: self._apply_filters())
        self.others_filter = QCheckBox("Others' claims")
        self.others_filter.setObjectName("othersClaimsFilter")
        self.others_filter.setAccessibleName("Also show proposals other moderators hold")
        self.others_filter.setToolTip(
            "Under “To decide”, also list the proposals another moderator has claimed "
            "(greyed: they cannot be decided here until that claim ends)"
        )
        self.others_filter.toggled.connect(lambda _on: self._apply_filters())
        self.order_filter = QCheckBox("Newest first")
        self.order_filter.setObjectName("orderFilter")
        self.order_filter.setAccessibleName("Newest first instead of oldest first")
        self.order_filter.toggled.connect(lambda _on: self._apply_filters())
        self.queue_count = QLabel()
        self.queue_count.setTextFormat(Qt.TextFormat.PlainText)
        self.queue_count.setObjectName("queueCount")

        filters_top = QHBoxLayout()
        filters_top.addWidget(self.search, 1)
        filters_top.addWidget(self.claimed_filter)
        filters_top.addWidget(self.others_filter)
        filters_top.addWidget(self.order_filter)
        filters_top.addWidget(self.queue_count)
        filters_bottom = QHBoxLayout()
        for widget in (
            self.status_filter,
            self.finding_filter,
            self.question_filter,
            self.language_filter,
        ):
            filters_bottom.addWidget(widget, 1)

        self.queue = QTableView()
        self.queue.setObjectName("queueTable")
        self.queue.setAccessibleName("Queue of proposals")
        self.queue.setModel(self.model)
        self.queue.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.queue.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.queue.setWordWrap(False)
        self.queue.setAlternatingRowColors(True)
        self.queue.verticalHeader().setVisible(False)
        self.queue.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.queue.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.queue.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(QueueModel.CONTENT, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        for column, width in (
            (QueueModel.AGE, 56),
            (QueueModel.STATUS, 84),
            (QueueModel.HOLDER, 84),
            (QueueModel.AUTHOR, 76),
            (QueueModel.QUESTION, 90),
            (QueueModel.LANGUAGE, 44),
            (QueueModel.CHECKS, 56),
        ):
            self.queue.setColumnWidth(column, width)
        for column in (QueueModel.QUESTION, QueueModel.LANGUAGE):
            self.queue.setColumnHidden(column, True)
        self.queue.selectionModel().currentRowChanged.connect(self._current_changed)

        queue_box = QWidget()
        queue_layout = QVBoxLayout(queue_box)
        queue_layout.setContentsMargins(0, 0, 0, 0)
        queue_layout.addLayout(filters_top)
        queue_layout.addLayout(filters_bottom)
        queue_layout.addWidget(self.queue, 1)

        self.proposal = ProposalPane()
        self.decision_bar = DecisionBar()
        self.decision_bar.modeChanged.connect(self._bar_mode_changed)
        self.decision_bar.refusal.confirmed.connect(self._refusal_confirmed)
        self.decision_bar.correction.confirmed.connect(self._correction_confirmed)
        self.decision_bar.refusal.cancelled.connect(self._panel_closed)
        self.decision_bar.correction.cancelled.connect(self._panel_closed)
        self.message = QLabel()
        self.message.setObjectName("decisionMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b71c1c;")
        self.message.setAccessibleName("Last problem")
        self.message.hide()

        self.middle = QSplitter(Qt.Orientation.Vertical)
        self.middle.setObjectName("middleSplitter")
        self.middle.addWidget(self.proposal)
        bar_box = QWidget()
        bar_layout = QVBoxLayout(bar_box)
        bar_layout.setContentsMargins(0, 0, 0, 0)
        bar_layout.addWidget(self.message)
        bar_layout.addWidget(self.decision_bar, 1)
        self.middle.addWidget(bar_box)
        self.middle.setStretchFactor(0, 3)
        self.middle.setStretchFactor(1, 2)
        self.middle.setChildrenCollapsible(False)

        self.charter_pane = CharterPane()
        self.charter_pane.clauseActivated.connect(self.start_refusal)
        # While refusing, the charter pane shows the clause being cited.
        self.decision_bar.refusal.clausePicked.connect(self.charter_pane.select_clause)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(queue_box)
        self.splitter.addWidget(self.middle)
        self.splitter.addWidget(self.charter_pane)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setChildrenCollapsible(False)
        self.triage = self.splitter

    def _combo(self, name: str, accessible: str, choices: tuple[tuple[str, str], ...]) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setAccessibleName(accessible)
        combo.setToolTip(accessible)
        # Long question titles must not widen the window: the combo shrinks, the popup does not.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(6)
        for key, label in choices:
            combo.addItem(label, key)
        combo.currentIndexChanged.connect(lambda _index: self._apply_filters())
        return combo

    def _languages(self) -> list[str]:
        # From the questions (a few rows), not the proposals (possibly millions, unindexed).
        with self.services.database.session() as session:
            found = session.scalars(select(Question.language).distinct()).all()
        return sorted(set(found) | set(self.services.charter.languages))

    def _build_duplicates(self) -> None:
        """Index the proposals' texts on a pool thread for the possible-duplicate pre-check."""

        def build() -> None:
            try:
                indexes = self.services.build_duplicate_indexes()
            except UserError:
                return  # the hint is a help, not a must: without it nothing is lost
            self._duplicates_built.emit(indexes)

        self._count_pool.start(build)

    def _use_duplicates(self, indexes: dict) -> None:
        if not indexes:
            return
        self.services.duplicates = indexes
        # The index is tens of thousands of long-lived sets: move them (and everything loaded so
        # far) out of the collector's way, or each full collection would pause the window.
        gc.collect()
        gc.freeze()
        self._similar_timer.start()  # adds the current proposal's duplicates, if any

    def _add_demo_mailbox(self) -> None:
        """A demo data directory has a mail catcher: show what the authors received."""
        from moderator_app.demo.catcher import caught_mail_folder

        folder = caught_mail_folder(self.services.home)
        if folder is None or self.demo_mailbox is not None:
            return
        from moderator_app.gui.demo_mailbox import DemoMailbox

        self.demo_mailbox = DemoMailbox(folder)
        self.tabs.addTab(self.demo_mailbox, "Demo mailbox")

    def _build_support(self) -> SupportTab:
        return SupportTab(self.services, self)

    def _build_menus_and_toolbar(self) -> None:
        a = self.actions_
        menus = (
            ("&File", ("sync", "take_offline", None, "quit")),
            ("&Decide", ("accept", "refuse", "edit", "postpone", None, "undo", "redo")),
            ("&Go", ("next", "previous", "search")),
            ("&View", ("show_triage", "show_conflicts", "show_support")),
            ("&Help", ("shortcuts",)),
        )
        for title, names in menus:
            menu = self.menuBar().addMenu(title)
            for name in names:
                if name is None:
                    menu.addSeparator()
                else:
                    menu.addAction(a[name])
        toolbar = QToolBar("Decisions")
        toolbar.setObjectName("mainToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for name in ("previous", "next", None, "accept", "refuse", "edit", "postpone", "undo",
                     None, "sync", "take_offline", None, "shortcuts"):  # fmt: skip
            if name is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(a[name])
        self.addToolBar(toolbar)
        self.toolbar = toolbar
        for name in ("accept", "refuse", "edit", "postpone"):
            self.decision_bar.add_button(name, a[name])

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.online_label = QLabel()
        self.last_sync_label = QLabel()
        self.unsent_label = QLabel()
        self.mails_label = QLabel()
        self.conflicts_label = QLabel()
        self.progress_label = QLabel()
        for name, label in (
            ("onlineStatus", self.online_label),
            ("lastSyncStatus", self.last_sync_label),
            ("unsentStatus", self.unsent_label),
            ("mailsStatus", self.mails_label),
            ("conflictsStatus", self.conflicts_label),
            ("syncProgress", self.progress_label),
        ):
            label.setObjectName(name)
            label.setTextFormat(Qt.TextFormat.PlainText)
            bar.addPermanentWidget(label)
        self._online: bool | None = None
        self._offline_reason = ""

    def _connect_actions(self) -> None:
        a = self.actions_
        a["next"].triggered.connect(lambda: self.step_queue(1))
        a["previous"].triggered.connect(lambda: self.step_queue(-1))
        a["search"].triggered.connect(self.focus_search)
        a["accept"].triggered.connect(self.accept_current)
        a["refuse"].triggered.connect(lambda: self.start_refusal(None))
        a["edit"].triggered.connect(self.start_correction)
        a["postpone"].triggered.connect(self.postpone_current)
        a["sync"].triggered.connect(lambda: self.request_sync())
        a["take_offline"].triggered.connect(self.ask_take_offline)
        a["show_triage"].triggered.connect(lambda: self.tabs.setCurrentWidget(self.triage))
        a["show_conflicts"].triggered.connect(self.show_conflicts)
        a["show_support"].triggered.connect(lambda: self.tabs.setCurrentWidget(self.support))
        a["shortcuts"].triggered.connect(self.show_shortcuts)
        a["quit"].triggered.connect(self.close)

    # -- navigation ----------------------------------------------------------------------------

    def current_row(self) -> QueueRow | None:
        return self.model.row_at(self.queue.currentIndex().row())

    def _select_row(self, row: int) -> None:
        while row >= self.model.rowCount() and self.model.canFetchMore(QModelIndex()):
            self.model.fetchMore(QModelIndex())
        if self.model.rowCount() == 0:
            self._current_changed(QModelIndex(), QModelIndex())
            return
        row = max(0, min(row, self.model.rowCount() - 1))
        index = self.model.index(row, QueueModel.CONTENT)
        self.queue.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.queue.scrollTo(index)

    def step_queue(self, step: int) -> None:
        current = self.queue.currentIndex().row()
        self._select_row(max(0, current + step) if current >= 0 else 0)

    def select_proposal(self, proposal_id: int) -> bool:
        row = self.model.row_of(proposal_id)
        if row < 0:
            return False
        self._select_row(row)
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.model.row_at(current.row()) if current.isValid() else None
        self._show(row)

    def _show(self, row: QueueRow | None) -> None:
        self._clear_message()
        if self.decision_bar.mode() != DecisionBar.IDLE:
            self.decision_bar.show_idle()
            self._set_deciding(True)
        findings = self.model.findings(row) if row is not None else ()
        clauses = self._clauses(row.language if row else self.services.charter.languages[0])
        labels = {clause.id: clause.label for clause in clauses}
        self.proposal.show_row(
            row,
            findings,
            labels,
            question_title=self.services.question_titles.get(row.question, "") if row else "",
            now=self.services.now(),
            held_by=row.held_by_other(self.services.moderator, self.services.now())
            if row and not row.decided
            else None,
        )
        self._update_decision_actions(row)
        if row is not None and self.model.row_of(row.id) >= self.model.rowCount() - PREFETCH_AHEAD:
            self._prefetch_timer.start()  # load the next batch before J reaches the end
        # The proposal paints first; the charter follows in the next turn of the event loop.
        self._pending_marks = (clauses, [finding.clause_id for finding in findings])
        self._charter_timer.start()
        self._similar_timer.start()

    def _prefetch(self) -> None:
        if self.model.canFetchMore(QModelIndex()):
            self.model.fetchMore(QModelIndex())

    def _update_charter(self) -> None:
        clauses, marked = self._pending_marks
        if self.charter_pane.model.clauses() != clauses:
            self.charter_pane.set_charter(clauses, self.services.charter.version)
        self.charter_pane.set_marked(marked)

    def _clauses(self, language: str) -> list:
        if language not in self.services.charter.languages:
            language = self.services.charter.languages[0]
        cached = self._clauses_by_language.get(language)
        if cached is None:
            cached = clause_views(self.services.charter, language)
            self._clauses_by_language[language] = cached
        return cached

    def _update_decision_actions(self, row: QueueRow | None) -> None:
        decidable = (
            self.services.can_decide
            and row is not None
            and not row.decided
            and self._on_triage_tab()
        )
        for name in ("accept", "refuse", "edit", "postpone"):
            self.actions_[name].setEnabled(decidable)

    def _show_similar(self) -> None:
        """Possible duplicates and decided proposals sharing this one's two longest words: both
        search other texts, so they come once the moderator stays on a proposal."""
        row = self.current_row()
        if row is None:
            return
        duplicates = self.services.duplicate_findings(row)
        if duplicates:
            labels = {clause.id: clause.label for clause in self._clauses(row.language)}
            self.proposal.add_findings(duplicates, labels)
            clauses, marked = self._pending_marks
            self._pending_marks = (clauses, marked + [f.clause_id for f in duplicates])
            self._update_charter()
        words = sorted(set(_WORD.findall(row.content.lower())), key=len, reverse=True)[:2]
        similar: list[tuple[str, str]] = []
        if words:
            query = " ".join('"' + word.replace('"', '""') + '"' for word in words)
            with self.services.database.session() as session:
                found = session.execute(
                    select(Proposal.status, Proposal.hub_decision_clause, Proposal.content)
                    .where(
                        Proposal.id != row.id,
                        Proposal.status.in_(("accepted", "refused")),
                        Proposal.id.in_(_fts_ids(query)),
                    )
                    .limit(5)
                ).all()
            for status, clause, content in found:
                similar.append((f"{status} ({clause})" if clause else status, content))
        self.proposal.show_similar(similar)

    def focus_search(self) -> None:
        self.tabs.setCurrentWidget(self.triage)
        self.search.setFocus()
        self.search.selectAll()

    def _search_done(self) -> None:
        self._search_timer.stop()
        self._apply_filters()
        self.queue.setFocus()

    # -- filters -------------------------------------------------------------------------------

    def filters(self) -> QueueFilters:
        return QueueFilters(
            question=self.question_filter.currentData() or "",
            language=self.language_filter.currentData() or "",
            status=self.status_filter.currentData() or "to_decide",
            finding=self.finding_filter.currentData() or "",
            claimed_by_me=self.claimed_filter.isChecked(),
            search=self.search.text(),
            newest_first=self.order_filter.isChecked(),
            others_claims=self.others_filter.isChecked(),
        )

    def set_filters(self, filters: QueueFilters) -> None:
        """Show the filters in the widgets and apply them once."""
        self._applying = True
        try:
            for combo, value in (
                (self.question_filter, filters.question),
                (self.language_filter, filters.language),
                (self.status_filter, filters.status),
                (self.finding_filter, filters.finding),
            ):
                position = combo.findData(value)
                combo.setCurrentIndex(max(position, 0))
            self.claimed_filter.setChecked(filters.claimed_by_me)
            self.order_filter.setChecked(filters.newest_first)
            self.others_filter.setChecked(filters.others_claims)
            self.search.setText(filters.search)
        finally:
            self._applying = False
        self._apply_filters()

    def _apply_filters(self) -> None:
        if getattr(self, "_applying", False) or not hasattr(self, "order_filter"):
            return
        self._search_timer.stop()
        filters = self.filters()
        # Every row under "To decide" has the same status: its width goes to the proposal.
        self.queue.setColumnHidden(QueueModel.STATUS, filters.status == "to_decide")
        if filters == self.model.filters and self.model.rowCount():
            return
        self.model.set_filters(filters)
        self._count_timer.start()
        self._select_row(0)

    def _update_count(self) -> None:
        """Count the matching proposals on a pool thread (a million rows take a moment)."""
        self._count_generation += 1
        generation = self._count_generation
        filters = self.model.filters
        now = self.services.now()
        set_label_text(self.queue_count, "counting…")

        def count() -> None:
            try:
                with self.services.database.session() as session:
                    total = count_rows(session, filters, self.services.moderator, now)
            except UserError as error:
                self._counted.emit(generation, -1, error.message)
                return
            self._counted.emit(generation, total, "")

        self._count_pool.start(count)

    def _show_count(self, generation: int, total: int, error: str) -> None:
        if generation != self._count_generation:
            return  # the filters changed since; a newer count is on its way
        if total < 0:
            set_label_text(self.queue_count, "")
            self.show_message(error)
            return
        suffix = " before the pre-check filter" if self.model.filters.finding else ""
        set_label_text(self.queue_count, count_of(total, "proposal") + suffix)

    # -- decisions -----------------------------------------------------------------------------

    def _decidable_row(self) -> QueueRow | None:
        if not self.services.can_decide:
            self.show_message(
                f"Hub user {single_line(self.services.moderator, 40)} is "
                f"{single_line(self.services.role or '', 20)}: only moderators and leads decide."
            )
            return None
        row = self.current_row()
        if row is None:
            self.show_message("No proposal selected.")
            return None
        if row.decided:
            self.show_message(f"Proposal #{row.id} is already decided ({row.shown_status}).")
            return None
        holder = row.held_by_other(self.services.moderator, self.services.now())
        if holder is not None:
            until = f"{row.claim_expires_at:%Y-%m-%d %H:%M} UTC" if row.claim_expires_at else ""
            self.show_message(
                f"Proposal #{row.id} is claimed by {single_line(holder, 40)} until {until}: "
                "the hub would answer conflict, so it cannot be decided here until that claim "
                "ends (its author's address shows once you hold it)."
            )
            return None
        return row

    def accept_current(self) -> None:
        row = self._decidable_row()
        if row is not None:
            self._decide(DecisionRequest(row.id, "accept"))

    def postpone_current(self) -> None:
        row = self._decidable_row()
        if row is not None:
            self._decide(DecisionRequest(row.id, "postpone"))

    def start_refusal(self, clause_id: str | None = None) -> None:
        row = self._decidable_row()
        if row is None:
            return
        marked = self._pending_marks[1]
        self._set_deciding(False)
        self.decision_bar.start_refusal(
            self._clauses(row.language),
            marked,
            lambda clause, note: self.services.preview_mail(row, clause, note),
            preselect=clause_id,
        )

    def start_correction(self) -> None:
        row = self._decidable_row()
        if row is None:
            return
        self._set_deciding(False)
        self.decision_bar.start_correction(row.content)

    def _refusal_confirmed(self, clause_id: str, note: str) -> None:
        row = self.current_row()
        if row is not None:
            self._decide(DecisionRequest(row.id, "refuse", clause_id=clause_id, note=note or None))

    def _correction_confirmed(self, text: str) -> None:
        row = self.current_row()
        if row is not None:
            edited = text if text != row.content else None
            self._decide(DecisionRequest(row.id, "accept", edited_content=edited))

    def _bar_mode_changed(self, mode: int) -> None:
        deciding = mode != DecisionBar.IDLE
        self.proposal.set_compact(deciding)
        total = sum(self.middle.sizes())
        if deciding and total:
            self._idle_middle_sizes = self.middle.sizes()
            self.middle.setSizes([int(total * 0.35), total - int(total * 0.35)])
        elif not deciding and self._idle_middle_sizes:
            self.middle.setSizes(self._idle_middle_sizes)
            self._idle_middle_sizes = None

    def _panel_closed(self) -> None:
        self._set_deciding(True)
        self._charter_timer.start()  # back to the clause the findings point to, or none
        if self._reload_pending:
            self._reload_queue()
        self.queue.setFocus()

    def _on_triage_tab(self) -> bool:
        return not hasattr(self, "tabs") or self.tabs.currentWidget() is self.triage

    def _tab_changed(self, _index: int) -> None:
        """Deciding keys act on a proposal the moderator can see: only on the Triage tab."""
        self._set_deciding(self.decision_bar.mode() == DecisionBar.IDLE)

    def _set_deciding(self, enabled: bool) -> None:
        """While a panel is open its keys are text and digits: no single-letter shortcuts."""
        enabled = enabled and self._on_triage_tab()
        for name in ("next", "previous", "accept", "refuse", "edit", "postpone"):
            self.actions_[name].setEnabled(enabled)
        if enabled:
            self._update_decision_actions(self.current_row())

    def _decide(self, request: DecisionRequest) -> None:
        decision_id = self.record(request, move_on=True)
        if decision_id is not None:
            self.undo_stack.push(DecisionCommand(self, request, decision_id))

    def record(self, request: DecisionRequest, *, move_on: bool) -> str | None:
        """Record a decision through the core; show the next proposal at once. None on failure."""
        row = self.model.row_at(self.model.row_of(request.proposal_id))
        hook = self.services.refusal_hook(row) if row and request.outcome == "refuse" else None
        from moderator_app.core.triage import decide  # pydantic loads after the first paint

        try:
            decision = decide(
                self.services.database,
                request.proposal_id,
                request.outcome,
                moderator=self.services.moderator,
                charter=self.services.charter_ref,
                clause_id=request.clause_id,
                edited_content=request.edited_content,
                note=request.note,
                now=self.services.now,
                on_recorded=hook,
            )
        except UserError as error:
            self.show_message(error.message)
            return None
        self.decision_bar.show_idle()
        self._set_deciding(True)
        if self._reload_pending:
            self._reload_queue()
        self.model.refresh_ids([request.proposal_id])
        if move_on:
            self._select_row(self.model.row_of(request.proposal_id) + 1)
        else:
            self.select_proposal(request.proposal_id)
        self.queue.setFocus()
        self.refresh_status()
        return decision.id

    def take_back(self, decision_id: str, proposal_id: int) -> bool:
        """Undo an unsent decision and show its proposal again; False if it cannot be undone."""
        from moderator_app.core.triage import undo

        try:
            undo(self.services.database, decision_id, actor=self.services.moderator)
        except UserError as error:
            self.show_message(error.message)
            return False
        self.model.refresh_ids([proposal_id])
        self.select_proposal(proposal_id)
        self.queue.setFocus()
        self.refresh_status()
        return True

    def show_message(self, text: str) -> None:
        set_label_text(self.message, text)
        self.message.show()
        self.statusBar().showMessage(single_line(text), 8000)

    def _clear_message(self) -> None:
        self.message.hide()

    # -- conflicts -----------------------------------------------------------------------------

    def show_conflicts(self) -> None:
        self.conflicts.reload()
        self.tabs.setCurrentWidget(self.conflicts)
        self.conflicts.table.setFocus()

    def redo_conflict(self, proposal_id: int, _decision_id: str) -> None:
        self.tabs.setCurrentWidget(self.triage)
        self.set_filters(QueueFilters(status="conflict"))
        if not self.select_proposal(proposal_id):
            self.show_message(f"Proposal #{proposal_id} is not in the local cache any more.")

    def drop_conflict(self, decision_id: str) -> None:
        from moderator_app.core.triage import drop_conflict

        try:
            drop_conflict(self.services.database, decision_id, actor=self.services.moderator)
        except UserError as error:
            self.show_message(error.message)
        self.conflicts.reload()
        self.refresh_status()

    # -- sync ----------------------------------------------------------------------------------

    def request_sync(self, claim: int = 0) -> None:
        if self.sync is not None:
            self.sync.request(claim)

    def ask_take_offline(self) -> None:
        count, ok = QInputDialog.getInt(
            self,
            "Take proposals offline",
            "How many pending proposals to claim for offline work?",
            50,
            1,
            1000,
        )
        if ok:
            self.request_sync(count)

    def _sync_started(self) -> None:
        self.actions_["sync"].setEnabled(False)
        set_label_text(self.progress_label, "Syncing…")

    def _sync_progressed(self, phase: str, done: int) -> None:
        set_label_text(self.progress_label, f"Syncing: {phase} {done}")

    def _sync_finished(self, outcome: SyncOutcome) -> None:
        self.actions_["sync"].setEnabled(True)
        set_label_text(self.progress_label, "")
        report = outcome.report
        if outcome.error:
            self._online = False
            self._offline_reason = outcome.error
            self.show_message(outcome.error)
        elif report is not None and not report.online:
            self._online = False
            self._offline_reason = report.offline_reason or "hub unreachable"
        else:
            self._online = True
            self._offline_reason = ""
        self._forget_sent_decisions()
        if self.decision_bar.mode() == DecisionBar.IDLE:
            self._reload_queue()
        else:
            self._reload_pending = True  # never pull the proposal from under a refusal in progress
        self.conflicts.reload()
        self.refresh_status()
        notes = []
        if report is not None and report.claimed:
            notes.append(f"Took {count_of(report.claimed, 'proposal')} offline.")
        if outcome.mail:
            notes.append(outcome.mail)
        if notes:
            self.statusBar().showMessage(" ".join(notes), 8000)

    def _reload_queue(self) -> None:
        """Read the queue again after a sync, staying on the same proposal if it is still there."""
        self._reload_pending = False
        current = self.current_row()
        self.model.reload()
        if current is None or not self.select_proposal(current.id):
            self._select_row(0)
        self._count_timer.start()

    def _forget_sent_decisions(self) -> None:
        """Once no decision on the undo stack is still unsent, the stack has nothing to undo."""
        ids = [
            command.decision_id
            for position in range(self.undo_stack.count())
            if isinstance(command := self.undo_stack.command(position), DecisionCommand)
        ]
        if not ids:
            return
        with self.services.database.session() as session:
            unsent = session.scalar(
                select(func.count()).where(Decision.id.in_(ids), Decision.sync_state == "unsent")
            )
        if not unsent:
            self.undo_stack.clear()

    # -- status bar ----------------------------------------------------------------------------

    def refresh_status(self) -> None:
        with self.services.database.session() as session:
            status = read_counters(session, self.services.hub_url)
        if self._online is None:
            online = "○ not synced this session" if self.sync else "○ offline (no hub token)"
        elif self._online:
            online = "● online"
        else:
            online = f"○ offline: {single_line(self._offline_reason, 60)}"
        set_label_text(self.online_label, online)
        last = status.last_sync
        set_label_text(
            self.last_sync_label,
            f"last sync {last.astimezone():%H:%M}" if last else "never synced",
        )
        set_label_text(self.unsent_label, f"{status.decisions_unsent} unsent")
        failed = f", {status.mails_failed} failed" if status.mails_failed else ""
        set_label_text(self.mails_label, count_of(status.mails_queued, "mail") + f" queued{failed}")
        set_label_text(self.conflicts_label, count_of(status.conflicts, "conflict"))
        conflicts_tab = self.tabs.indexOf(self.conflicts)
        self.tabs.setTabText(
            conflicts_tab, f"Conflicts ({status.conflicts})" if status.conflicts else "Conflicts"
        )
        self.last_status = status

    def show_shortcuts(self) -> None:
        sheet = ShortcutSheet(self.actions_.sheet_rows(), self)
        sheet.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        sheet.show()
        self.shortcut_sheet = sheet

    # -- state ---------------------------------------------------------------------------------

    def _restore_state(self) -> None:
        geometry = self.settings.load_bytes("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self._fit_to_screen()
            self._default_sizes_pending = True
        state = self.settings.load_bytes("window/state")
        if state is not None:
            self.restoreState(state)
        for key, splitter in (
            ("window/mainSplitter", self.splitter),
            ("window/middleSplitter", self.middle),
            ("window/charterSplitter", self.charter_pane.splitter),
        ):
            saved = self.settings.load_bytes(key)
            if saved is not None:
                splitter.restoreState(saved)
        self.set_filters(self.settings.load_filters())

    def _fit_to_screen(self) -> None:
        """First opening: a share of the screen's free area, centred (no fixed pixel size)."""
        area = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        width, height = default_window_size(area.width(), area.height())
        self.resize(width, height)
        self.move(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2)

    def save_state(self) -> None:
        self.settings.save_bytes("window/geometry", self.saveGeometry())
        self.settings.save_bytes("window/state", self.saveState())
        self.settings.save_bytes("window/mainSplitter", self.splitter.saveState())
        self.settings.save_bytes("window/middleSplitter", self.middle.saveState())
        self.settings.save_bytes("window/charterSplitter", self.charter_pane.splitter.saveState())
        self.settings.save_filters(self.filters())
        self.settings.sync()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            # Extras that can wait until the queue is on screen.
            self._mailbox_timer.start()
            self._duplicates_timer.start()
        if getattr(self, "_default_sizes_pending", False):
            self._default_sizes_pending = False
            width = max(self.splitter.width(), 900)
            queue, middle = int(width * QUEUE_SHARE), int(width * MIDDLE_SHARE)
            self.splitter.setSizes([queue, middle, width - queue - middle])

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        if self.sync is not None:
            self._auto_sync.stop()
            if self.sync.running:
                # A sync waiting on a slow hub ends its step before the cache closes (up to the
                # hub client's deadline); the moderator asked to quit, so the window goes now.
                self.hide()
                print(
                    "moderator-app: waiting for the running sync to end its step…",
                    file=sys.stderr,
                    flush=True,
                )
            self.sync.shutdown()
        self._count_pool.waitForDone()
        super().closeEvent(event)


def default_window_size(free_width: int, free_height: int) -> tuple[int, int]:
    """85% of a large screen's free area; all of a small one (up to 1280x800), where every
    pixel goes to the queue and the panes."""
    return (
        max(int(free_width * SCREEN_SHARE), min(free_width, SMALL_SCREEN[0])),
        max(int(free_height * SCREEN_SHARE), min(free_height, SMALL_SCREEN[1])),
    )


@dataclass(frozen=True)
class Counters:
    """The status bar's numbers; each an indexed count, cheap even with a million proposals
    (unlike the core's full status, whose pending count scans the proposals)."""

    decisions_unsent: int
    conflicts: int
    mails_queued: int
    mails_failed: int
    last_sync: datetime | None


def read_counters(session: Session, hub_url: str | None) -> Counters:
    def count(statement: Any) -> int:
        return int(session.scalar(statement) or 0)

    state = session.get(HubSyncState, hub_url) if hub_url else None
    return Counters(
        decisions_unsent=count(
            select(func.count()).where(Decision.sync_state.in_(ACTIVE_SYNC_STATES))
        ),
        conflicts=count(select(func.count()).where(Decision.sync_state == "conflict")),
        mails_queued=count(
            select(func.count()).where(MailOutbox.state.in_(("waiting_hub", "sendable")))
        ),
        mails_failed=count(select(func.count()).where(MailOutbox.state == "failed")),
        last_sync=state.last_sync_at if state else None,
    )


def _fts_ids(query: str) -> Any:
    return (
        select(sql_text("rowid"))
        .select_from(sql_text("proposals_fts"))
        .where(sql_text("proposals_fts MATCH :similar").bindparams(similar=query))
    )
