"""The demo environment: a seeded embedded hub, a mail catcher and a logged-in demo moderator."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from moderation_hub import wire
from moderator_app.core.account import load_account
from moderator_app.core.credentials import hub_token_name
from moderator_app.core.database import cache_path, open_database
from moderator_app.core.errors import UserError
from moderator_app.core.models import Claim, Proposal
from moderator_app.demo.catcher import list_caught_mails, read_caught_mail
from moderator_app.demo.environment import (
    COLLEAGUE_CLAIMS,
    FIRST_CLAIM,
    LEAD,
    MODERATOR,
    SUPPORT,
    DemoEnvironment,
    check_home_is_usable,
    demo_home_under,
)
from moderator_app.demo.history import COLLEAGUE, UNTOUCHED_AGE
from moderator_app.demo.seed import CLAUSE_OF_FLAW, QUESTION_SLUG, QUESTION_TITLE

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoEnvironment]:
    with DemoEnvironment(tmp_path_factory.mktemp("demo") / "home", now=lambda: NOW) as running:
        running.sync()
        yield running


def _get(demo: DemoEnvironment, user: str, path: str) -> httpx.Response:
    token = demo.users[user].token
    with httpx.Client(timeout=10) as http:
        return http.get(
            f"{demo.hub_url}{wire.API_PREFIX}{path}", headers={"Authorization": f"Bearer {token}"}
        )


def test_the_hub_serves_the_seeded_consultation_on_loopback(demo: DemoEnvironment) -> None:
    assert demo.hub_url.startswith("http://127.0.0.1:")
    questions = _get(demo, MODERATOR, "/questions").json()
    assert [(q["slug"], q["title"]) for q in questions] == [(QUESTION_SLUG, QUESTION_TITLE)]
    assert "{external_id}" in questions[0]["rewrite_url_template"]
    assert demo.hub_proposal_count() == 840


def test_the_demo_users_have_their_roles(demo: DemoEnvironment) -> None:
    users = (
        (MODERATOR, "moderator"),
        (COLLEAGUE, "moderator"),
        (LEAD, "lead"),
        (SUPPORT, "support"),
    )
    for name, role in users:
        assert _get(demo, name, "/me").json() == {"name": name, "role": role}


def test_the_moderator_is_logged_in_with_the_token_in_memory_only(demo: DemoEnvironment) -> None:
    account = load_account(demo.home)
    assert account is not None
    assert (account.hub_url, account.user) == (demo.hub_url, MODERATOR)
    token = demo.credentials.get(hub_token_name(MODERATOR, demo.hub_url))
    assert token == demo.moderator.token
    # The token is never written to the demo's files.
    for path in demo.home.rglob("*"):
        if path.is_file():
            assert demo.moderator.token.encode() not in path.read_bytes(), path


def test_a_sync_fills_the_moderators_cache(demo: DemoEnvironment) -> None:
    report = demo.sync()
    assert report.online
    assert demo.cached_proposal_count() == 840
    summary = demo.summary()
    assert (summary.hub_proposals, summary.cached_proposals) == (840, 840)


def test_the_catcher_receives_mail_sent_to_it(demo: DemoEnvironment) -> None:
    message = EmailMessage()
    message["From"] = "moderation@consultation.example.org"
    message["To"] = "lea@example.org"
    message["Subject"] = "Votre proposition"
    message.set_content("Bonjour Léa")
    with smtplib.SMTP(demo.catcher.host, demo.catcher.port, timeout=10) as client:
        client.send_message(message)
    assert [m.subject for m in list_caught_mails(demo.mail_folder)] == ["Votre proposition"]


def test_stopping_releases_both_ports_and_keeps_the_data(tmp_path: Path) -> None:
    demo = DemoEnvironment(tmp_path / "home", count=200, now=lambda: NOW)
    with demo:
        hub_port = int(demo.hub_url.rsplit(":", 1)[1])
        smtp_port = demo.catcher.port
    demo.stop()  # a second stop is harmless
    for port in (hub_port, smtp_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert demo.hub_db_path.is_file()
    with pytest.raises(RuntimeError, match="not running"):
        _ = demo.hub_url


def test_the_demo_never_writes_into_a_used_directory(tmp_path: Path) -> None:
    (tmp_path / "cache.sqlite3").write_bytes(b"a real account's data")
    with pytest.raises(UserError, match="not empty"):
        DemoEnvironment(tmp_path).start()
    assert [p.name for p in tmp_path.iterdir()] == ["cache.sqlite3"]


def test_an_earlier_demo_home_is_not_reused(tmp_path: Path) -> None:
    with DemoEnvironment(tmp_path / "home", count=200, now=lambda: NOW):
        pass
    with pytest.raises(UserError, match="earlier demo"):
        check_home_is_usable(tmp_path / "home")


def test_default_demo_homes_are_fresh_and_inside_the_data_dir(tmp_path: Path) -> None:
    home = demo_home_under(tmp_path, NOW)
    assert home.parent.parent == tmp_path
    assert home.name == "20261129T200000Z"
    check_home_is_usable(home)
    home.mkdir(parents=True)
    # A second demo started within the same second gets its own directory.
    assert demo_home_under(tmp_path, NOW).name == "20261129T200000Z-2"


def test_a_colleague_already_decided_part_of_the_consultation(demo: DemoEnvironment) -> None:
    statuses = demo.cached_by_status()
    assert statuses["pending"] > 500
    assert statuses["accepted"] > 100
    assert statuses["refused"] > 20
    assert statuses["postponed"] > 0
    with (
        open_database(cache_path(demo.home)) as database,
        database.session() as session,
    ):
        decided = session.scalars(select(Proposal).where(Proposal.status != "pending")).all()
    assert {p.hub_decision_moderator for p in decided} == {COLLEAGUE}
    clause_ids = set(CLAUSE_OF_FLAW.values())
    assert all(p.hub_decision_clause in clause_ids for p in decided if p.status == "refused")
    # Spelling slips were corrected on accept; the hub keeps the author's original text.
    corrected = [p for p in decided if p.original_content is not None]
    assert corrected
    assert all(p.content != p.original_content for p in corrected)
    # Proposals younger than a few hours are still waiting for everyone.
    assert all(NOW - p.created_at >= UNTOUCHED_AGE for p in decided)
    assert demo.claims_by_moderator() == {MODERATOR: FIRST_CLAIM, COLLEAGUE: COLLEAGUE_CLAIMS}


def test_the_moderator_holds_the_oldest_proposals_with_their_addresses(
    demo: DemoEnvironment,
) -> None:
    with (
        open_database(cache_path(demo.home)) as database,
        database.session() as session,
    ):
        pending = session.scalars(
            select(Proposal).where(Proposal.status == "pending").order_by(Proposal.created_at)
        ).all()
        holders = {c.proposal_id: c.moderator for c in session.scalars(select(Claim))}
    # The top of the queue is the demo moderator's, so the first refusals can be mailed...
    oldest = pending[:FIRST_CLAIM]
    assert [holders.get(p.id) for p in oldest] == [MODERATOR] * FIRST_CLAIM
    assert sum(p.author_email is not None for p in oldest) > FIRST_CLAIM * 0.7
    # ...and right after it come proposals a colleague is working on.
    following = pending[FIRST_CLAIM : FIRST_CLAIM + COLLEAGUE_CLAIMS]
    assert [holders.get(p.id) for p in following] == [COLLEAGUE] * COLLEAGUE_CLAIMS
    # Personal data stays with whoever holds the proposal.
    assert all(p.author_email is None for p in pending if holders.get(p.id) != MODERATOR)


def test_the_refusal_loop_ends_in_the_catcher(tmp_path: Path) -> None:
    with DemoEnvironment(tmp_path / "home", count=300, now=lambda: NOW) as demo:
        caught = demo.rehearse_refusal()
        assert len(caught) == 1
        message = read_caught_mail(caught[0].path)
        with (
            open_database(cache_path(demo.home)) as database,
            database.session() as session,
        ):
            (refused,) = session.scalars(
                select(Proposal).where(Proposal.hub_decision_moderator == MODERATOR)
            ).all()
    assert refused.status == "refused"
    assert refused.author_email is not None
    assert refused.author_email in message.mail.to
    assert refused.author_first_name in message.text
    clause = refused.hub_decision_clause
    assert clause is not None
    assert "charte" in message.mail.subject
    assert dict(message.headers)["X-Catcher-Envelope-To"] == refused.author_email
