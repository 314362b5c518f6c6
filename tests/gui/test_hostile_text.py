"""A hostile corpus through the whole window: nothing is interpreted, nothing is hidden."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from moderator_app.core.account import Account, save_account
from moderator_app.core.database import cache_path, open_database
from moderator_app.demo.memory_keyring import MemoryKeyring
from moderator_app.gui.app import open_workbench
from moderator_app.gui.plain_text import neutralise, single_line
from moderator_app.gui.queue_model import QueueModel
from tests.gui.conftest import make_proposal, show_active

HOSTILE = [
    ("<b>Bold</b>", "Il faut <b>former</b> les <i>détenus</i>"),
    ("<script>", "<script>alert('x')</script> Il faut des stages"),
    ("Ève\u202e", "Il faut \u202eesuoh\u202c des formations"),
    ("Zo\u200bé", "Il faut\u200b\u200d\ufeff des ateliers"),
    ("Bob\r\nBcc: x@example.org", "Il faut\r\nune ligne\rune autre\u2028et encore"),
    ("<img src=x>", "<img src='http://127.0.0.1:1/x.png'> Il faut des images"),
    ("Nul\x00", "Il faut\x00 des octets nuls\x07"),
    ("Long", "Il faut " + "très " * 200_000),  # a megabyte
    ("Emoji 😀", "😀 Il faut www.example.org et #hashtag @mention !!!"),
]


def test_hostile_proposals_are_shown_exactly_and_as_plain_text(qtbot, tmp_path: Path) -> None:
    save_account(tmp_path, Account(hub_url="http://127.0.0.1:9", user="alice"))
    database = open_database(cache_path(tmp_path))
    with database.write() as session:
        for number, (name, content) in enumerate(HOSTILE, start=1):
            session.add(make_proposal(number, author_first_name=name, content=content))
    database.close()
    window = open_workbench(tmp_path, keyring_backend=MemoryKeyring(), ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        assert window.model.rowCount() == len(HOSTILE)
        for position, (name, content) in enumerate(HOSTILE):
            if position:
                qtbot.keyClick(window.queue, Qt.Key.Key_J)
            row = window.current_row()
            assert row.content == content  # the cache keeps the text as written
            assert window.proposal.content.toPlainText() == neutralise(content)
            assert window.proposal.author.text() == single_line(name)
            for label in window.findChildren(QLabel):
                assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
            shown = window.model.data(window.model.index(position, QueueModel.CONTENT))
            assert shown == single_line(content, 160)
            for control in ("\u202e", "\u200b", "\x00", "\r"):
                assert control not in window.proposal.content.toPlainText()
                assert control not in shown
        # The refusal preview of a hostile proposal is plain text too, and complete.
        window.step_queue(-8)
        qtbot.keyClick(window.queue, Qt.Key.Key_R)
        qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_1)
        preview = window.decision_bar.refusal.preview.toPlainText()
        assert "<b>former</b>" in preview  # shown as typed, never rendered
    finally:
        window.close()
        window.services.database.close()


def test_gui_command_without_an_account_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "moderator_app", "--home", str(tmp_path), "gui"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "not logged in" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
