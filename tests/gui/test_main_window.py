"""The window over a real cache, offline: keyboard triage, undo, refusal mail, filters, state."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from sqlalchemy import select

from moderator_app.core.account import Account, save_account
from moderator_app.core.charter import default_charter_dir, load_charter
from moderator_app.core.database import cache_path, open_database
from moderator_app.core.mail.config import save_settings
from moderator_app.core.mail.smtp import SmtpSettings
from moderator_app.core.models import Claim, Decision, MailOutbox
from moderator_app.demo.memory_keyring import MemoryKeyring
from moderator_app.gui.app import open_workbench
from moderator_app.gui.decision_bar import DecisionBar
from moderator_app.gui.main_window import MainWindow, default_window_size
from moderator_app.gui.queue_model import QueueFilters, QueueModel
from moderator_app.gui.services import WorkbenchServices
from moderator_app.gui.settings import WorkbenchSettings
from tests.gui.conftest import make_proposal, show_active

HOUR = timedelta(hours=1)


def seed_home(home: Path, count: int, **overrides: object) -> None:
    save_account(home, Account(hub_url="http://127.0.0.1:9", user="alice"))
    database = open_database(cache_path(home))
    with database.write() as session:
        for number in range(1, count + 1):
            session.add(make_proposal(number, **overrides))
    database.close()


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    seed_home(tmp_path, 12)
    opened = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(opened)
    show_active(qtbot, opened)
    yield opened
    opened.close()
    opened.services.database.close()


def decisions(window: MainWindow) -> list[Decision]:
    with window.services.database.session() as session:
        return list(session.scalars(select(Decision).order_by(Decision.decided_at)))


def test_j_and_k_move_through_the_queue_oldest_first(qtbot, window: MainWindow) -> None:
    assert window.current_row().id == 1
    qtbot.keyClick(window.queue, Qt.Key.Key_J)
    qtbot.keyClick(window.queue, Qt.Key.Key_J)
    assert window.current_row().id == 3
    qtbot.keyClick(window.queue, Qt.Key.Key_K)
    assert window.current_row().id == 2
    assert window.proposal.content.toPlainText() == window.current_row().content


def test_a_accepts_and_the_next_proposal_shows_at_once(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_A)
    assert window.current_row().id == 2
    recorded = decisions(window)
    assert [(d.proposal_id, d.outcome, d.sync_state) for d in recorded] == [(1, "accept", "unsent")]
    assert window.unsent_label.text() == "1 unsent"


def test_refuse_with_number_keys_queues_the_previewed_mail(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_R)
    assert window.decision_bar.mode() == DecisionBar.REFUSING
    panel = window.decision_bar.refusal
    qtbot.keyClick(panel.clauses, Qt.Key.Key_2)
    clause = window.services.charter.clause(panel.current_clause().id)
    assert clause.number == 2
    preview = panel.preview.toPlainText()
    assert "To: Auteur1 <auteur1@example.org>" in preview
    qtbot.keyClick(panel.clauses, Qt.Key.Key_Return)
    assert window.decision_bar.mode() == DecisionBar.IDLE
    assert window.current_row().id == 2
    [decision] = decisions(window)
    assert (decision.outcome, decision.clause_id) == ("refuse", clause.id)
    with window.services.database.session() as session:
        [mail] = session.scalars(select(MailOutbox)).all()
    assert mail.state == "waiting_hub"
    assert mail.subject in preview
    # The preview showed the body that was queued, apart from the reference fixed on confirm.
    body_start = preview.index("\n\n") + 2
    shown_body = preview[body_start:]
    assert shown_body.splitlines()[0] == mail.body_text.splitlines()[0]


def test_a_refusal_mail_takes_its_message_id_in_the_senders_domain(
    qtbot, window: MainWindow
) -> None:
    # Like `moderator-app decide`, so a mail reads the same whichever tool refused it.
    save_settings(
        window.services.home,
        SmtpSettings(
            host="127.0.0.1",
            port=2525,
            security="none",
            username=None,
            from_address="moderation@platform.example",
        ),
    )
    qtbot.keyClick(window.queue, Qt.Key.Key_R)
    qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_2)
    qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_Return)
    with window.services.database.session() as session:
        [mail] = session.scalars(select(MailOutbox)).all()
    assert mail.message_id.endswith("@platform.example>")


def test_letters_typed_in_the_refusal_note_are_not_shortcuts(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_R)
    panel = window.decision_bar.refusal
    qtbot.keyClick(panel.clauses, Qt.Key.Key_1)
    panel.note.setFocus()
    qtbot.keyClicks(panel.note, "Please rephrase")  # contains a, p, e, r, ...
    assert decisions(window) == []
    assert window.decision_bar.mode() == DecisionBar.REFUSING
    qtbot.keyClick(panel.note, Qt.Key.Key_Return)
    [decision] = decisions(window)
    assert decision.note == "Please rephrase"


def test_ctrl_z_undoes_the_last_unsent_decision(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_A)
    qtbot.keyClick(window.queue, Qt.Key.Key_P)
    assert [d.outcome for d in decisions(window)] == ["accept", "postpone"]
    qtbot.keyClick(window.queue, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [d.outcome for d in decisions(window)] == ["accept"]
    assert window.current_row().id == 2  # back on the proposal whose decision was undone
    assert not window.current_row().decided
    qtbot.keyClick(window.queue, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert decisions(window) == []
    assert window.current_row().id == 1


def test_e_corrects_then_accepts(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_E)
    editor = window.decision_bar.correction.editor
    assert editor.hasFocus()
    qtbot.keyClicks(editor, " vite")
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    [decision] = decisions(window)
    assert decision.outcome == "accept"
    assert decision.edited_content.endswith("détenues vite")


def test_slash_focuses_search_and_search_filters(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_Slash)
    assert window.search.hasFocus()
    qtbot.keyClicks(window.search, "7")
    qtbot.keyClick(window.search, Qt.Key.Key_Return)
    assert [window.model.row_at(r).id for r in range(window.model.rowCount())] == [7]
    assert window.queue.hasFocus()
    qtbot.waitUntil(lambda: window.queue_count.text() == "1 proposal")  # counted after painting


def test_deciding_twice_shows_a_message_not_a_crash(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_A)
    qtbot.keyClick(window.queue, Qt.Key.Key_K)
    assert window.current_row().decided
    assert not window.actions_["accept"].isEnabled()
    window.accept_current()
    assert "already decided" in window.message.text()
    assert len(decisions(window)) == 1


def test_every_action_is_in_a_menu_and_has_a_shortcut(window: MainWindow) -> None:
    in_menus = {
        action.objectName()
        for menu_action in window.menuBar().actions()
        for action in menu_action.menu().actions()
    }
    on_toolbar = {action.objectName() for action in window.toolbar.actions()}
    for name in ("next", "previous", "accept", "refuse", "edit", "postpone", "undo", "search"):
        assert f"action_{name}" in in_menus
        assert not window.actions_[name].shortcut().isEmpty()
    for name in ("next", "accept", "refuse", "edit", "postpone", "undo"):
        assert f"action_{name}" in on_toolbar


def test_question_mark_shows_the_shortcut_sheet(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_Question)
    sheet = window.shortcut_sheet
    keys = [sheet.table.item(row, 0).text() for row in range(sheet.table.rowCount())]
    assert {"J", "K", "A", "R", "E", "P", "/", "?"} <= set(keys)
    sheet.close()


def test_filters_and_splitters_persist_per_home(qtbot, tmp_path: Path) -> None:
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    seed_home(home_a, 3)
    seed_home(home_b, 3)
    first = open_workbench(home_a, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(first)
    show_active(qtbot, first)
    first.resize(1200, 760)
    first.status_filter.setCurrentIndex(first.status_filter.findData("all"))
    first.order_filter.setChecked(True)
    first.splitter.setSizes([500, 400, 300])
    sizes = first.splitter.sizes()
    first_width = first.width()
    first.close()
    first.services.database.close()

    again = open_workbench(home_a, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(again)
    show_active(qtbot, again)
    other = open_workbench(home_b, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(other)
    try:
        assert again.filters().status == "all"
        assert again.filters().newest_first
        assert again.current_row().id == 3
        assert (again.width(), again.splitter.sizes()) == (first_width, sizes)
        assert other.filters().status == "to_decide"
        assert not other.filters().newest_first
    finally:
        for opened in (again, other):
            opened.close()
            opened.services.database.close()


def test_similar_decided_proposals_are_shown(qtbot, tmp_path: Path) -> None:
    save_account(tmp_path, Account(hub_url="http://127.0.0.1:9", user="alice"))
    database = open_database(cache_path(tmp_path))
    with database.write() as session:
        session.add(make_proposal(1, content="Il faut développer l'apprentissage en détention"))
        session.add(
            make_proposal(
                2,
                content="Il faut vraiment développer l'apprentissage partout",
                status="refused",
                hub_decision_clause="off-topic",
            )
        )
        session.add(make_proposal(3, content="Il faut des ateliers", status="accepted"))
    database.close()
    window = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        similar = window.proposal.similar
        qtbot.waitUntil(lambda: similar.count() == 1 and similar.item(0).text() != "None found.")
        assert similar.item(0).text().startswith("refused (off-topic) · Il faut vraiment")
    finally:
        window.close()
        window.services.database.close()


def test_every_control_has_an_accessible_name_and_takes_focus(window: MainWindow) -> None:
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QAbstractSpinBox,
        QComboBox,
        QHeaderView,
        QLineEdit,
        QPlainTextEdit,
        QToolButton,
    )

    controls = (QAbstractButton, QAbstractItemView, QComboBox, QLineEdit, QPlainTextEdit)
    unnamed = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, controls) or isinstance(widget, (QHeaderView, QToolButton)):
            continue
        if widget.objectName().startswith("qt_") or widget.window() is not window:
            continue  # Qt's own parts (a table's corner button, a combo box's popup list)
        if isinstance(widget.parentWidget(), (QAbstractSpinBox, QComboBox)):
            continue  # the editor inside a date field or combo box
        name = widget.accessibleName() or (
            widget.text() if isinstance(widget, QAbstractButton) else ""
        )
        if not name.strip():
            unnamed.append(f"{type(widget).__name__} {widget.objectName()}")
        assert widget.focusPolicy() != Qt.FocusPolicy.NoFocus, widget.objectName()
    assert unnamed == []


def test_redo_records_the_undone_decision_again(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_R)
    qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_4)
    qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_Return)
    [first] = decisions(window)
    qtbot.keyClick(window.queue, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert decisions(window) == []
    modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.queue, Qt.Key.Key_Z, modifiers)
    [again] = decisions(window)
    assert (again.proposal_id, again.outcome, again.clause_id) == (
        first.proposal_id,
        first.outcome,
        first.clause_id,
    )
    assert again.id != first.id  # a new decision, not a resurrected one
    with window.services.database.session() as session:
        [mail] = session.scalars(select(MailOutbox)).all()  # the undone one's mail went with it
    assert mail.decision_id == again.id


def test_possible_duplicates_are_found_but_not_the_proposal_itself(qtbot, tmp_path: Path) -> None:
    save_account(tmp_path, Account(hub_url="http://127.0.0.1:9", user="alice"))
    database = open_database(cache_path(tmp_path))
    text = "Il faut proposer des stages en entreprise aux personnes détenues avant la sortie"
    with database.write() as session:
        session.add(make_proposal(1, content=text))
        session.add(make_proposal(2, content="Il faut des ateliers de menuiserie en détention"))
        session.add(make_proposal(3, content=text.replace("stages", "stage"), status="accepted"))
    database.close()
    window = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        qtbot.waitUntil(lambda: window.proposal.findings.count() > 0, timeout=10_000)
        messages = [
            window.proposal.findings.item(i).text() for i in range(window.proposal.findings.count())
        ]
        duplicates = [message for message in messages if "duplicate" in message]
        assert len(duplicates) == 1  # proposal 3, not proposal 1 itself
        assert "Il faut proposer des stage en entreprise" in duplicates[0]
        qtbot.keyClick(window.queue, Qt.Key.Key_J)
        assert window.current_row().id == 2
        assert window.proposal.findings.count() == 0
    finally:
        window.close()
        window.services.database.close()


def test_a_proposal_held_by_someone_else_says_so_instead_of_opening_a_refusal(
    qtbot, tmp_path: Path
) -> None:
    seed_home(tmp_path, 3, author_email=None)
    database = open_database(cache_path(tmp_path))
    with database.write() as session:
        session.add(Claim(proposal_id=1, moderator="bob", expires_at=datetime.now(UTC) + HOUR))
    database.close()
    opened = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(opened)
    show_active(qtbot, opened)
    try:
        # Hidden under "To decide" by default; listed (greyed, "bob" in bold) on request.
        assert opened.current_row().id == 2
        opened.others_filter.setChecked(True)
        assert opened.current_row().id == 1
        holder = opened.model.index(0, QueueModel.HOLDER)
        assert opened.model.data(holder) == "bob"
        assert "held by bob" in opened.proposal.state.full_text()
        qtbot.keyClick(opened.queue, Qt.Key.Key_R)
        assert opened.decision_bar.mode() == DecisionBar.IDLE
        assert "claimed by bob" in opened.message.text()
        assert "conflict" in opened.message.text()
        assert decisions(opened) == []
        # The preview of a proposal nobody holds does not claim the author has no address.
        row = opened.model.row_at(1)
        preview = opened.services.preview_mail(row, opened.services.charter.clauses[0].id, "")
        assert "(nobody)" not in preview
        held = opened.services.preview_mail(
            opened.model.row_at(0), opened.services.charter.clauses[0].id, ""
        )
        assert "To: (held by bob; the address shows once you hold it)" in held
        assert "left no e-mail" not in held
    finally:
        opened.close()
        opened.services.database.close()


def test_the_charter_pane_follows_the_findings_and_the_clause_being_cited(
    qtbot, window: MainWindow
) -> None:
    charter = window.charter_pane
    qtbot.waitUntil(lambda: charter.model.rowCount() > 0)
    # The seeded proposals start with "Il faut" and break no rule: nothing is selected.
    assert window.model.findings(window.current_row()) == ()
    qtbot.waitUntil(lambda: charter.current_clause() is None)
    qtbot.keyClick(window.queue, Qt.Key.Key_R)
    qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_3)
    assert charter.current_clause().number == 3
    assert charter.details.toPlainText().startswith("3. ")
    qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: charter.current_clause() is None)


def test_the_proposal_column_takes_the_width_and_status_hides_under_to_decide(
    qtbot, window: MainWindow
) -> None:
    header = window.queue.horizontalHeader()
    assert window.queue.isColumnHidden(QueueModel.STATUS)
    widths = {
        column: header.sectionSize(column)
        for column in range(window.model.columnCount())
        if not window.queue.isColumnHidden(column)
    }
    assert max(widths, key=widths.__getitem__) == QueueModel.CONTENT
    assert widths[QueueModel.CONTENT] >= sum(widths.values()) / 2
    window.set_filters(QueueFilters(status="all"))
    assert not window.queue.isColumnHidden(QueueModel.STATUS)


def test_a_first_opening_takes_most_of_the_screen_not_a_fixed_size(window: MainWindow) -> None:
    area = window.screen().availableGeometry()
    assert abs(window.width() - area.width() * 0.85) <= 2
    assert abs(window.height() - area.height() * 0.85) <= 2
    assert area.contains(window.frameGeometry().topLeft())
    # The charter and proposal panes keep a useful width on that window.
    queue, middle, charter = window.splitter.sizes()
    assert queue > middle > charter > 250


def test_deciding_keys_only_act_on_the_triage_tab(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.queue, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.support
    assert not window.actions_["accept"].isEnabled()
    assert not window.decision_bar.buttons["accept"].isEnabled()
    qtbot.keyClick(window.support.table, Qt.Key.Key_A)  # a proposal the moderator cannot see
    qtbot.keyClick(window.support.table, Qt.Key.Key_J)
    assert decisions(window) == []
    window.tabs.setCurrentWidget(window.triage)
    assert window.actions_["accept"].isEnabled()
    qtbot.keyClick(window.queue, Qt.Key.Key_A)
    assert [d.proposal_id for d in decisions(window)] == [1]


def test_the_undo_action_keeps_a_short_label_and_details_its_tooltip(
    qtbot, window: MainWindow
) -> None:
    undo = window.actions_["undo"]
    qtbot.keyClick(window.queue, Qt.Key.Key_A)
    assert undo.isEnabled()
    assert undo.text() == "&Undo decision"  # the toolbar does not jump
    assert "accept proposal #1" in undo.toolTip()


def test_quitting_during_a_slow_sync_hides_the_window_at_once(qtbot, tmp_path: Path) -> None:
    seed_home(tmp_path, 2)
    release = threading.Event()
    started = threading.Event()
    seen_hidden: list[bool] = []

    def slow_runner(_claim, _progress):
        started.set()
        release.wait(30)  # a hub that does not answer
        return None, None

    database = open_database(cache_path(tmp_path))
    services = WorkbenchServices(
        home=tmp_path,
        database=database,
        moderator="alice",
        charter=load_charter(default_charter_dir()),
        sync_runner=slow_runner,
    )
    opened = MainWindow(services, WorkbenchSettings(tmp_path))
    qtbot.addWidget(opened)
    show_active(qtbot, opened)

    def watch() -> None:
        # Released as soon as the window is hidden (or after 20 s, failing below).
        for _ in range(200):
            if not opened.isVisible():
                seen_hidden.append(True)
                break
            time.sleep(0.1)
        release.set()

    try:
        opened.request_sync()
        assert started.wait(10)
        watcher = threading.Thread(target=watch)
        watcher.start()
        opened.close()  # waits for the sync's step: hidden meanwhile
        watcher.join()
        assert seen_hidden == [True]
    finally:
        release.set()
        database.close()


def test_a_small_screen_gives_the_window_all_its_free_area() -> None:
    assert default_window_size(1280, 770) == (1280, 770)
    assert default_window_size(1920, 1050) == (1632, 892)
    assert default_window_size(3840, 2100) == (3264, 1785)


def test_a_support_account_reads_but_never_records_a_decision(qtbot, tmp_path: Path) -> None:
    seed_home(tmp_path, 3)
    save_account(tmp_path, Account(hub_url="http://127.0.0.1:9", user="sam", role="support"))
    opened = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(opened)
    show_active(qtbot, opened)
    try:
        assert opened.current_row().id == 1  # the queue is there to read
        assert not opened.actions_["accept"].isEnabled()
        assert not opened.decision_bar.buttons["refuse"].isEnabled()
        assert "Read only" in opened.decision_bar.idle.text()
        qtbot.keyClick(opened.queue, Qt.Key.Key_A)
        qtbot.keyClick(opened.queue, Qt.Key.Key_R)
        opened.charter_pane.clauseActivated.emit(opened.services.charter.clauses[0].id)
        assert opened.decision_bar.mode() == DecisionBar.IDLE
        assert "only moderators and leads decide" in opened.message.text()
        assert decisions(opened) == []
        qtbot.keyClick(opened.queue, Qt.Key.Key_J)  # moving through the queue still works
        assert opened.current_row().id == 2
    finally:
        opened.close()
        opened.services.database.close()
