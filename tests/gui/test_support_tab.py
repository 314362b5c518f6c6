"""The support console tab: find a refusal mail, read its ledger entry, resend it."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from sqlalchemy import update

from moderator_app.core.account import Account, save_account
from moderator_app.core.database import cache_path, open_database
from moderator_app.core.models import Decision
from moderator_app.demo.memory_keyring import MemoryKeyring
from moderator_app.gui.app import open_workbench
from moderator_app.gui.support_tab import MailListModel
from tests.gui.conftest import make_proposal, show_active


def test_find_read_and_resend_a_mail(qtbot, qtmodeltester, tmp_path: Path) -> None:
    save_account(tmp_path, Account(hub_url="http://127.0.0.1:9", user="alice"))
    database = open_database(cache_path(tmp_path))
    with database.write() as session:
        # The author's address is not verified: the mail is recorded as not sent.
        session.add(make_proposal(1, author_reachable=False, author_first_name="<b>Zoé</b>"))
        session.add(make_proposal(2))
    database.close()
    window = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        qtbot.keyClick(window.queue, Qt.Key.Key_R)
        qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_2)
        qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_Return)

        qtbot.keyClick(window.queue, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
        support = window.support
        assert window.tabs.currentWidget() is support
        support.proposal_field.setText("#1")
        qtbot.keyClick(support.proposal_field, Qt.Key.Key_Return)
        assert support.model.rowCount() == 1
        assert support.feedback.text() == "1 mail found."
        # Dates read the same in every locale, and the date column is never cut.
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", support.since_field.text())
        created = support.model.data(support.model.index(0, 0))
        header = support.table.horizontalHeader()
        assert header.sectionSize(0) >= support.table.fontMetrics().horizontalAdvance(created)
        qtmodeltester.check(support.model)
        ledger = support.ledger.toPlainText()
        assert "State: not_sent — the author's e-mail address is not verified" in ledger
        charter = window.services.charter.version
        assert f"Template refusal (fr), clause off-topic, charter {charter}" in ledger
        assert "To: <b>Zoé</b> <auteur1@example.org>" in ledger  # shown, never rendered

        # A resend needs a reason for the audit log.
        support.resend_button.click()
        assert "say why" in support.feedback.text()
        # Only a decision the hub confirmed has its mail resent: as a sync would record it.
        with window.services.database.write() as session:
            session.execute(update(Decision).values(sync_state="applied"))
        support.resend_to.setText("zoe.corrected@example.org")
        support.resend_reason.setText("Author confirmed the address by phone")
        support.resend_button.click()
        assert support.feedback.text().startswith("Queued again as")
        assert support.model.rowCount() == 2
        states = {support.model.data(support.model.index(r, 1)) for r in range(2)}
        assert states == {"not_sent", "sendable (resend)"}
        assert window.mails_label.text() == "1 mail queued"  # the resend, sendable

        # Searching by the corrected address finds the resend only.
        support.proposal_field.clear()
        support.email_field.setText("ZOE.corrected@example.org")
        support.find_button.click()
        assert support.model.rowCount() == 1
        assert "Resend of" in support.ledger.toPlainText()

        support.proposal_field.setText("abc")
        support.find_button.click()
        assert support.feedback.text() == "A proposal id is a number."
    finally:
        window.close()
        window.services.database.close()


def test_mail_list_model_passes_the_model_tester(qtmodeltester) -> None:
    model = MailListModel()
    qtmodeltester.check(model)


def test_a_demo_home_shows_the_caught_mails_as_plain_text(qtbot, qtmodeltester, tmp_path) -> None:
    from moderator_app.demo.catcher import CAUGHT_MAIL_DIR_NAME

    save_account(tmp_path, Account(hub_url="http://127.0.0.1:9", user="alice"))
    open_database(cache_path(tmp_path)).close()
    folder = tmp_path / CAUGHT_MAIL_DIR_NAME
    folder.mkdir()
    (folder / "0001.eml").write_bytes(
        b"From: moderation@example.org\r\nTo: Zoe <zoe@example.org>\r\n"
        b"Subject: Votre proposition\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour <b>Zoe</b>,\r\nMerci.\r\n"
    )
    window = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        qtbot.waitUntil(lambda: window.tabs.count() == 4)
        window.tabs.setCurrentWidget(window.demo_mailbox)
        mailbox = window.demo_mailbox
        assert mailbox.model.rowCount() == 1
        qtmodeltester.check(mailbox.model)
        text = mailbox.reader.toPlainText()
        assert "Subject: Votre proposition" in text
        assert "Bonjour <b>Zoe</b>," in text
    finally:
        window.close()
        window.services.database.close()


def test_a_real_account_has_no_demo_mailbox(qtbot, tmp_path) -> None:
    save_account(tmp_path, Account(hub_url="http://127.0.0.1:9", user="alice"))
    window = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        qtbot.waitUntil(lambda: not window._mailbox_timer.isActive())
        assert window.tabs.count() == 3
        assert window.demo_mailbox is None
    finally:
        window.close()
        window.services.database.close()


def test_the_support_tab_lists_the_latest_mails_when_first_shown(qtbot, tmp_path) -> None:
    save_account(tmp_path, Account(hub_url="http://127.0.0.1:9", user="alice"))
    database = open_database(cache_path(tmp_path))
    with database.write() as session:
        session.add(make_proposal(1))
    database.close()
    window = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        qtbot.keyClick(window.queue, Qt.Key.Key_R)
        qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_2)
        qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_Return)
        window.tabs.setCurrentWidget(window.support)
        assert window.support.model.rowCount() == 1  # without pressing Find
        assert window.support.feedback.text() == "1 mail found."
    finally:
        window.close()
        window.services.database.close()
