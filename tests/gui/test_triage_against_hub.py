"""Fifty proposals triaged by keystrokes against a real hub, then synced: the hub has them all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from sqlalchemy import select

from moderation_hub import wire
from moderation_hub.embedded import EmbeddedHub
from moderator_app.core.account import Account, save_account
from moderator_app.core.credentials import Credentials, hub_token_name
from moderator_app.core.database import cache_path, open_database
from moderator_app.core.models import Decision, MailOutbox
from moderator_app.demo.memory_keyring import MemoryKeyring
from moderator_app.gui import app
from moderator_app.gui.app import TokenDialog, open_workbench
from moderator_app.gui.main_window import MainWindow
from tests.gui.conftest import make_proposal, show_active

COUNT = 50
SYNC_TIMEOUT_MS = 60_000


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[EmbeddedHub, str]]:
    with EmbeddedHub(db_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}") as server:
        token = server.add_user("alice", "moderator")
        server.add_question("insertion", title="Comment améliorer l'insertion ?", language="fr")
        server.ingest(
            question="insertion",
            proposals=[
                {
                    "external_id": f"ext-{number}",
                    "content": f"Il faut former les détenus au métier numéro {number}",
                    "author_first_name": f"Auteur{number}",
                    "author_email": f"author{number}@example.org",
                    "author_reachable": True,
                    "language": "fr",
                    "created_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=number),
                }
                for number in range(COUNT)
            ],
        )
        yield server, token


def sync(qtbot, window: MainWindow, claim: int = 0):
    assert window.sync is not None
    with qtbot.waitSignal(window.sync.finished, timeout=SYNC_TIMEOUT_MS) as blocker:
        window.request_sync(claim)
    outcome = blocker.args[0]
    assert outcome.error is None, outcome.error
    assert outcome.report.online
    return outcome.report


def feed(server: EmbeddedHub) -> list[wire.FeedDecision]:
    return server.storage.decision_feed(since=0, limit=1000).items


def test_fifty_proposals_triaged_by_keys_reach_the_hub(qtbot, tmp_path: Path, hub) -> None:
    server, token = hub
    home = tmp_path / "home"
    save_account(home, Account(hub_url=server.url, user="alice"))
    window = open_workbench(home, keyring_backend=MemoryKeyring(), token=token, ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        report = sync(qtbot, window, claim=COUNT)
        assert report.claimed == COUNT
        assert window.model.rowCount() == COUNT
        assert window.online_label.text() == "● online"

        expected: dict[int, tuple[str, str | None]] = {}
        refuse_clause = window.services.charter.clauses[1]  # number 2
        for position in range(COUNT):
            row = window.current_row()
            assert row is not None
            assert not row.decided
            if position % 5 == 0:
                qtbot.keyClick(window.queue, Qt.Key.Key_R)
                qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_2)
                qtbot.keyClick(window.decision_bar.refusal.clauses, Qt.Key.Key_Return)
                expected[row.id] = ("refuse", refuse_clause.id)
            elif position % 7 == 3:
                qtbot.keyClick(window.queue, Qt.Key.Key_P)
                expected[row.id] = ("postpone", None)
            else:
                qtbot.keyClick(window.queue, Qt.Key.Key_A)
                expected[row.id] = ("accept", None)
            if position == 10:
                # Changed my mind: undo the accept, postpone instead.
                qtbot.keyClick(window.queue, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
                assert window.current_row().id == row.id
                qtbot.keyClick(window.queue, Qt.Key.Key_P)
                expected[row.id] = ("postpone", None)
        assert window.last_status.decisions_unsent == COUNT
        assert feed(server) == []  # nothing reaches the hub before a sync

        report = sync(qtbot, window)
        assert report.pushed == COUNT
        assert report.conflicts == 0
        applied = {item.proposal_id: (item.outcome, item.clause) for item in feed(server)}
        assert applied == expected
        assert all(item.moderator == "alice" for item in feed(server))
        assert window.last_status.decisions_unsent == 0
        with window.services.database.session() as session:
            states = set(session.scalars(select(Decision.sync_state)))
            mails = session.scalars(select(MailOutbox)).all()
        assert states == {"applied"}
        # One refusal mail per refusal, now sendable since the hub confirmed the decisions.
        assert sorted(mail.proposal_id for mail in mails) == sorted(
            pid for pid, (outcome, _c) in expected.items() if outcome == "refuse"
        )
        assert {mail.state for mail in mails} == {"sendable"}
        # After the sync the sent decisions can no longer be undone.
        assert not window.undo_stack.canUndo()
    finally:
        window.close()
        window.services.database.close()


def test_a_conflict_is_listed_and_can_be_dropped(qtbot, qtmodeltester, tmp_path: Path, hub) -> None:
    server, token = hub
    bob = server.add_user("bob", "moderator")
    home = tmp_path / "home"
    save_account(home, Account(hub_url=server.url, user="alice"))
    window = open_workbench(home, keyring_backend=MemoryKeyring(), token=token, ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        sync(qtbot, window)  # everything pulled, nothing claimed
        row = window.current_row()
        qtbot.keyClick(window.queue, Qt.Key.Key_A)
        # Meanwhile bob decides the same proposal at the hub.
        decision = wire.DecisionIn(
            id=uuid.uuid4(),
            proposal_id=row.id,
            proposal_version=row.version,
            outcome="refuse",
            reason="off-topic",
            charter_version="1.0.0",
            decided_at=datetime.now(UTC),
        )
        with httpx.Client(timeout=10) as client:
            answer = client.post(
                f"{server.api_url}/decisions",
                headers={"Authorization": f"Bearer {bob}"},
                json={"decisions": [decision.model_dump(mode="json")]},
            )
        assert answer.json()["results"][0]["status"] == "applied"

        report = sync(qtbot, window)
        assert report.conflicts == 1
        assert window.conflicts_label.text() == "1 conflict"
        window.show_conflicts()
        table = window.conflicts.model
        assert table.rowCount() == 1
        qtmodeltester.check(table)
        assert table.data(table.index(0, 0)) == f"#{row.id}"
        assert "another moderator decided it first" in table.data(table.index(0, 2))
        assert table.data(table.index(0, 3)).startswith("refused, refuse (off-topic) by bob")
        # Redo opens the proposal in the queue (conflicts filter) to decide it again.
        window.conflicts.redo_button.click()
        assert window.tabs.currentWidget() is window.triage
        assert window.filters().status == "conflict"
        assert window.current_row().id == row.id
        window.show_conflicts()
        window.conflicts.drop_button.click()
        assert table.rowCount() == 0
        assert window.conflicts_label.text() == "0 conflicts"
    finally:
        window.close()
        window.services.database.close()


def test_a_sync_ending_during_a_refusal_leaves_it_alone(qtbot, tmp_path: Path, hub) -> None:
    server, token = hub
    home = tmp_path / "home"
    save_account(home, Account(hub_url=server.url, user="alice"))
    window = open_workbench(home, keyring_backend=MemoryKeyring(), token=token, ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        sync(qtbot, window, claim=5)
        row = window.current_row()
        qtbot.keyClick(window.queue, Qt.Key.Key_R)
        panel = window.decision_bar.refusal
        qtbot.keyClick(panel.clauses, Qt.Key.Key_3)
        panel.note.setFocus()
        qtbot.keyClicks(panel.note, "Merci")
        sync(qtbot, window)  # e.g. the five-minute automatic sync
        assert window.decision_bar.mode() == window.decision_bar.REFUSING
        assert panel.note.text() == "Merci"
        assert window.current_row().id == row.id
        qtbot.keyClick(panel.note, Qt.Key.Key_Return)
        assert window.current_row().id != row.id
        assert window.last_status.decisions_unsent == 1
    finally:
        window.close()
        window.services.database.close()


def test_an_unreachable_hub_means_offline_and_decisions_wait(qtbot, tmp_path) -> None:
    home = tmp_path / "home"
    save_account(home, Account(hub_url="http://127.0.0.1:9", user="alice"))
    database = open_database(cache_path(home))
    with database.write() as session:
        session.add(make_proposal(1))
        session.add(make_proposal(2))
    database.close()
    window = open_workbench(home, keyring_backend=MemoryKeyring(), token="t0k", ask_token=False)
    qtbot.addWidget(window)
    show_active(qtbot, window)
    try:
        qtbot.keyClick(window.queue, Qt.Key.Key_A)
        with qtbot.waitSignal(window.sync.finished, timeout=SYNC_TIMEOUT_MS) as blocker:
            window.request_sync()
        assert not blocker.args[0].online
        assert window.online_label.text().startswith("○ offline")
        assert window.last_status.decisions_unsent == 1  # kept, pushed again next time
        # A push was attempted: the hub may have it, so the core no longer lets it be undone.
        assert not window.undo_stack.canUndo()
        assert window.model.row_at(0).id == 2  # the decided one left the "to decide" queue
    finally:
        window.close()
        window.services.database.close()


def test_a_typed_token_is_remembered_once_the_hub_accepted_it(
    qtbot, tmp_path: Path, hub, monkeypatch
) -> None:
    server, token = hub
    keyring = MemoryKeyring()
    name = hub_token_name("alice", server.url)
    for typed, kept in (("not-the-token", None), (token, token)):
        home = tmp_path / f"home-{len(typed)}"
        save_account(home, Account(hub_url=server.url, user="alice"))
        monkeypatch.setattr(app, "_ask_token", lambda *_args, typed=typed: (typed, True))
        window = open_workbench(home, keyring_backend=keyring)
        qtbot.addWidget(window)
        try:
            assert window.sync is not None
            with qtbot.waitSignal(window.sync.finished, timeout=SYNC_TIMEOUT_MS):
                window.request_sync()
            # A mistyped token (the hub refused it) is never remembered.
            assert Credentials(keyring).get(name) == kept
        finally:
            window.close()
            window.services.database.close()


def test_the_token_dialog_offers_to_remember_only_with_a_secure_keyring(qtbot) -> None:
    secure = TokenDialog("alice", "http://127.0.0.1:9", Credentials(MemoryKeyring()))
    qtbot.addWidget(secure)
    secure.token.setText("  s3cret ")
    assert not secure.remember.isHidden()
    assert secure.answer() == ("s3cret", True)
    secure.remember.setChecked(False)
    assert secure.answer() == ("s3cret", False)
    insecure = TokenDialog("alice", "http://127.0.0.1:9", Credentials(fail.Keyring()))
    qtbot.addWidget(insecure)
    insecure.token.setText("s3cret")
    assert insecure.remember.isHidden()
    assert insecure.answer() == ("s3cret", False)
