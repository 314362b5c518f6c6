"""The outbox against real SMTP servers on loopback: queued with the decision, sent exactly once."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from moderator_app.core.charter import Charter
from moderator_app.core.database import Database
from moderator_app.core.errors import UserError
from moderator_app.core.mail.outbox import (
    NOT_REACHABLE,
    find_mails,
    mail_detail,
    preview_refusal_mail,
    resend_mail,
    send_sendable,
)
from moderator_app.core.mail.render import MailRenderer, MailTemplateError
from moderator_app.core.models import AuditEntry, Decision, MailAttempt, MailOutbox, Proposal

from .support import (
    NOW,
    Clock,
    ScriptedHandler,
    SmtpServer,
    add_proposal,
    confirm_by_hub,
    queue_sendable,
    refuse,
)

StartServer = Callable[..., SmtpServer]


def _mails(database: Database) -> list[MailOutbox]:
    with database.session() as session:
        return list(session.scalars(select(MailOutbox).order_by(MailOutbox.created_at)))


def _attempts(database: Database, mail_id: str) -> list[MailAttempt]:
    with database.session() as session:
        return list(
            session.scalars(
                select(MailAttempt).where(MailAttempt.mail_id == mail_id).order_by(MailAttempt.id)
            )
        )


def test_refusal_queues_its_mail_in_the_decision_transaction(
    database: Database, charter: Charter, renderer: MailRenderer
) -> None:
    add_proposal(database, 7)
    decision_id = refuse(database, charter, renderer, 7, "multiple-ideas", note="Bonne idée !")
    [mail] = _mails(database)
    assert mail.decision_id == decision_id
    assert mail.state == "waiting_hub"
    assert mail.to_address == "camille@example.org"
    assert mail.message_id.startswith("<")
    assert mail.message_id.endswith(">")
    assert mail.language == "fr"
    assert mail.template == "refusal"
    assert mail.clause_id == "multiple-ideas"
    assert mail.charter_version == charter.version
    assert "Il faut des formations au permis de conduire en détention" in mail.body_text
    assert "Bonne idée !" in mail.body_text
    assert "article 6" in mail.subject


def test_a_mail_that_cannot_be_rendered_cancels_the_decision_too(
    database: Database, charter: Charter, tmp_path: Path
) -> None:
    add_proposal(database, 8)
    empty = tmp_path / "no-templates"
    empty.mkdir()
    with pytest.raises(MailTemplateError):
        refuse(database, charter, MailRenderer(empty), 8)
    with database.session() as session:
        assert session.scalars(select(Decision)).all() == []
    assert _mails(database) == []


@pytest.mark.parametrize(
    ("email", "reachable", "reason"),
    [
        ("camille@example.org", False, NOT_REACHABLE),
        (None, True, "no e-mail address"),
        ("not an address", True, "unusable"),
    ],
)
def test_unreachable_authors_are_recorded_as_not_sent(
    database: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: StartServer,
    email: str | None,
    reachable: bool,
    reason: str,
) -> None:
    add_proposal(database, 9, email=email, reachable=reachable)
    refuse(database, charter, renderer, 9)
    confirm_by_hub(database)  # the core only moves waiting_hub rows; not_sent stays
    server = smtp_server()
    report = send_sendable(database, server.sender(), Clock())
    [mail] = _mails(database)
    assert mail.state == "not_sent"
    assert reason in (mail.last_error or "")
    assert report.sent == 0
    assert server.handler.received == []


def test_good_server_gets_each_mail_once_over_one_connection(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    add_proposal(database, 1)
    refuse(database, charter, renderer, 1)
    server = smtp_server()
    assert send_sendable(database, server.sender(), Clock()).sent == 0  # hub has not confirmed
    assert server.handler.received == []

    queue_sendable(database, charter, renderer, 4, start=2)
    confirm_by_hub(database)
    report = send_sendable(database, server.sender(), Clock())
    assert report.sent == 5
    assert server.handler.sessions == 1
    mails = _mails(database)
    assert all(mail.state == "sent" for mail in mails)
    assert all(mail.sent_at == NOW for mail in mails)
    assert server.handler.counts() == {mail.message_id: 1 for mail in mails}
    [attempt] = _attempts(database, mails[0].id)
    assert attempt.outcome == "sent"
    assert attempt.smtp_code == 250
    assert "queued as" in attempt.smtp_reply

    # Sending again sends nothing more.
    assert send_sendable(database, server.sender(), Clock()).sent == 0
    assert len(server.handler.received) == 5

    first = next(r for r in server.handler.received if r.message_id == mails[0].message_id)
    message = first.message
    assert message.get_content_type() == "multipart/alternative"
    assert first.rcpt_tos == ["camille@example.org"]
    assert str(message["To"]) == "Camille <camille@example.org>"
    assert "moderation@platform.example" in str(message["From"])
    assert str(message["Subject"]) == mails[0].subject
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().replace("\r\n", "\n") == mails[0].body_text
    assert html.get_content().replace("\r\n", "\n") == mails[0].body_html


def test_4xx_is_retried_later_with_backoff_and_the_same_message_id(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 1)
    server = smtp_server(ScriptedHandler(script=["451 4.7.1 Greylisted, try again later"]))
    clock = Clock()
    report = send_sendable(database, server.sender(), clock)
    assert (report.sent, report.retry_later) == (0, 1)
    [mail] = _mails(database)
    assert mail.state == "sendable"
    assert mail.attempts == 1
    assert mail.next_attempt_at == NOW + timedelta(minutes=1)
    assert "451 4.7.1 Greylisted" in (mail.last_error or "")

    assert send_sendable(database, server.sender(), clock).sent == 0  # not due yet
    assert server.handler.data_commands == 1
    clock.now = NOW + timedelta(minutes=1)
    assert send_sendable(database, server.sender(), clock).sent == 1
    assert server.handler.counts() == {mail.message_id: 1}
    outcomes = [(a.outcome, a.smtp_code) for a in _attempts(database, mail.id)]
    assert outcomes == [("transient", 451), ("sent", 250)]


def test_backoff_doubles_then_gives_up_with_the_last_reply(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 1)
    server = smtp_server(ScriptedHandler(script=["421 4.3.2 System not available"] * 20))
    clock = Clock()
    delays = []
    for _ in range(12):
        send_sendable(database, server.sender(), clock)
        [mail] = _mails(database)
        if mail.next_attempt_at is None:
            break
        delays.append(mail.next_attempt_at - clock.now)
        clock.now = mail.next_attempt_at
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(delays) == timedelta(hours=6)
    [mail] = _mails(database)
    assert mail.state == "failed"
    assert "421 4.3.2 System not available" in (mail.last_error or "")
    assert "gave up after 12 attempts" in (mail.last_error or "")
    assert server.handler.received == []


@pytest.mark.parametrize("where", ["rcpt", "data"])
def test_5xx_fails_for_good_with_the_server_reply(
    database: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: StartServer,
    where: str,
) -> None:
    queue_sendable(database, charter, renderer, 2)
    handler = (
        ScriptedHandler(refuse_rcpt={"author1@example.org"})
        if where == "rcpt"
        else ScriptedHandler(script=["554 5.7.1 Message rejected as spam"])
    )
    server = smtp_server(handler)
    clock = Clock()
    report = send_sendable(database, server.sender(), clock)
    assert (report.sent, report.failed) == (1, 1)
    failed, sent = sorted(_mails(database), key=lambda m: m.state)
    assert failed.state == "failed"
    assert sent.state == "sent"
    expected = "550 5.1.1" if where == "rcpt" else "554 5.7.1 Message rejected as spam"
    assert expected in (failed.last_error or "")
    [attempt] = _attempts(database, failed.id)
    assert attempt.outcome == "permanent"
    assert expected in f"{attempt.smtp_code} {attempt.smtp_reply}"
    clock.now += timedelta(days=2)
    assert send_sendable(database, server.sender(), clock).sent == 0  # never retried
    assert server.handler.counts() == {sent.message_id: 1}


def test_connection_dropped_mid_data_loses_nothing_and_sends_nothing_twice(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 4)
    server = smtp_server(ScriptedHandler(script=["250 2.0.0 Ok", "drop"]))
    clock = Clock()
    report = send_sendable(database, server.sender(), clock)
    # The second mail's connection dropped; the run reconnected and sent the others.
    assert (report.sent, report.retry_later) == (3, 1)
    dropped = next(m for m in _mails(database) if m.state == "sendable")
    assert "connection lost" in (dropped.last_error or "")
    clock.now += timedelta(minutes=1)
    assert send_sendable(database, server.sender(), clock).sent == 1
    mails = _mails(database)
    assert all(m.state == "sent" for m in mails)
    assert server.handler.counts() == {m.message_id: 1 for m in mails}


def test_a_refused_sender_address_stops_the_batch_and_fails_no_mail(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 3)
    server = smtp_server(ScriptedHandler(refuse_sender=True))
    report = send_sendable(database, server.sender(), Clock())
    assert report.error is not None
    assert "refused the sender moderation@platform.example: 553 5.7.1" in report.error
    assert all(m.state == "sendable" and m.attempts == 0 for m in _mails(database))
    server.handler.refuse_sender = False  # the sender address fixed
    assert send_sendable(database, server.sender(), Clock()).sent == 3


def test_unreachable_server_changes_nothing(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 2)
    server = smtp_server()
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    report = send_sendable(database, server.sender(port=closed_port), Clock())
    assert report.error is not None
    assert "cannot connect" in report.error
    assert all(m.state == "sendable" and m.attempts == 0 for m in _mails(database))


def test_only_one_process_sends_at_a_time(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 1)
    server = smtp_server()
    descriptor = os.open(f"{database.path}.mail-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        report = send_sendable(database, server.sender(), Clock())
        assert report.busy
    finally:
        os.close(descriptor)
    assert server.handler.received == []
    assert send_sendable(database, server.sender(), Clock()).sent == 1


def test_hostile_first_name_adds_no_header_and_no_recipient(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    hostile = 'Bob\r\nBcc: x@example.org\r\n\r\n<b>"Hi"</b>\u202e\x00'
    add_proposal(database, 3, first_name=hostile, content="<script>alert(1)</script>\r\nBcc: y@x")
    refuse(database, charter, renderer, 3)
    confirm_by_hub(database)
    server = smtp_server()
    assert send_sendable(database, server.sender(), Clock()).sent == 1
    [received] = server.handler.received
    assert received.rcpt_tos == ["camille@example.org"]
    message = received.message
    assert message["Bcc"] is None
    assert b"\nBcc:" not in received.raw.split(b"\r\n\r\n", 1)[0]
    to = message["To"]
    assert to.addresses[0].addr_spec == "camille@example.org"
    assert "\n" not in str(to)
    assert to.addresses[0].display_name == 'Bob Bcc: x@example.org <b>"Hi"</b>'
    html = message.get_body(("html",))
    assert html is not None
    assert "<script>" not in html.get_content()
    assert "&lt;script&gt;" in html.get_content()


def test_find_and_inspect_mails(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 3)
    server = smtp_server(ScriptedHandler(script=["452 4.2.2 Mailbox full"]))
    send_sendable(database, server.sender(), Clock())
    with database.session() as session:
        assert [m.proposal_id for m in find_mails(session, proposal_id=2)] == [2]
        [by_email] = find_mails(session, email="  AUTHOR3@Example.org ")
        assert by_email.proposal_id == 3
        assert len(find_mails(session, since=NOW.date())) == 3
        assert find_mails(session, since=NOW + timedelta(seconds=1)) == []
        assert len(find_mails(session, until=NOW.date())) == 3
        [retrying] = [m for m in find_mails(session) if m.attempts == 1 and m.state == "sendable"]
        detail = mail_detail(session, retrying.id[:8])
    assert detail.summary.id == retrying.id
    assert detail.body_text.startswith("Bonjour Camille,")
    assert [(a.outcome, a.smtp_code, a.smtp_reply) for a in detail.attempts] == [
        ("transient", 452, "4.2.2 Mailbox full")
    ]
    payload = json.loads(json.dumps(detail.to_json()))
    assert payload["template"] == "refusal"
    assert payload["charter_version"] == charter.version
    with database.session() as session, pytest.raises(UserError, match="no mail"):
        mail_detail(session, "ffffffff-0000")


def test_resend_sends_the_same_text_with_a_reason_in_the_audit_log(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 1)
    server = smtp_server()
    clock = Clock()
    send_sendable(database, server.sender(), clock)
    [original] = _mails(database)
    with database.write() as session:
        resent = resend_mail(
            session,
            original.id,
            reason="The author says it never arrived",
            actor="support-bob",
            now=clock(),
            to_address="author1.new@example.org",
        )
    assert resent.state == "sendable"
    assert send_sendable(database, server.sender(), clock).sent == 1
    first, second = server.handler.received
    assert second.rcpt_tos == ["author1.new@example.org"]
    assert first.message_id != second.message_id
    assert second.message["References"] == first.message_id
    assert str(first.message["Subject"]) == str(second.message["Subject"])
    first_text = first.message.get_body(("plain",))
    second_text = second.message.get_body(("plain",))
    assert first_text is not None
    assert second_text is not None
    assert first_text.get_content() == second_text.get_content()
    with database.session() as session:
        [audit] = session.scalars(select(AuditEntry).where(AuditEntry.action == "mail_resend"))
        detail = mail_detail(session, original.id)
    assert audit.actor == "support-bob"
    assert json.loads(audit.detail or "{}")["reason"] == "The author says it never arrived"
    assert detail.resends == (resent.id,)


def test_resends_are_limited_per_address_per_hour(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 1)
    server = smtp_server()
    clock = Clock()
    send_sendable(database, server.sender(), clock)
    [original] = _mails(database)
    for minute in range(3):
        clock.now = NOW + timedelta(minutes=minute)
        with database.write() as session:
            resend_mail(session, original.id, reason="again", actor="s", now=clock())
    clock.now = NOW + timedelta(minutes=30)
    with database.write() as session, pytest.raises(UserError, match="at most 3"):
        resend_mail(session, original.id, reason="again", actor="s", now=clock())
    with database.write() as session:  # another address is not limited by this one
        resend_mail(
            session, original.id, reason="fix", actor="s", now=clock(), to_address="o@x.org"
        )
    clock.now = NOW + timedelta(minutes=61)
    with database.write() as session:
        resend_mail(session, original.id, reason="again", actor="s", now=clock())


def test_resend_needs_a_reason_and_a_mail_that_may_go(
    database: Database, charter: Charter, renderer: MailRenderer
) -> None:
    add_proposal(database, 1)
    add_proposal(database, 2, reachable=False)
    refuse(database, charter, renderer, 1)
    refuse(database, charter, renderer, 2)
    waiting, not_sent = sorted(_mails(database), key=lambda m: m.proposal_id)
    with database.write() as session:
        with pytest.raises(UserError, match="not confirmed by the hub"):
            resend_mail(session, waiting.id, reason="x", actor="s", now=NOW)
        # Not sent, but its decision is not confirmed either: it must not leave yet.
        with pytest.raises(UserError, match="not confirmed by the hub"):
            resend_mail(session, not_sent.id, reason="x", actor="s", now=NOW, to_address="c@x.org")
    confirm_by_hub(database)
    with database.write() as session:
        with pytest.raises(UserError, match="--why"):
            resend_mail(session, not_sent.id, reason=" \n ", actor="s", now=NOW)
        with pytest.raises(UserError, match="not valid"):
            resend_mail(session, not_sent.id, reason="x", actor="s", now=NOW, to_address="a\r\nb")
        # An author whose address was not verified can get it at a corrected address.
        fixed = resend_mail(
            session,
            not_sent.id,
            reason="verified by phone",
            actor="s",
            now=NOW,
            to_address="c@x.org",
        )
    assert fixed.state == "sendable"
    assert fixed.to_address == "c@x.org"


def test_no_resend_once_the_hub_refused_the_decision(
    database: Database, charter: Charter, renderer: MailRenderer
) -> None:
    add_proposal(database, 1, reachable=False)
    refuse(database, charter, renderer, 1)
    with database.write() as session:
        for decision in session.scalars(select(Decision)):
            decision.sync_state = "conflict"  # as the sync engine records a conflict
    [mail] = _mails(database)
    with database.write() as session, pytest.raises(UserError, match="hub refused"):
        resend_mail(session, mail.id, reason="x", actor="s", now=NOW, to_address="c@x.org")


def test_an_address_the_hub_reveals_after_the_decision_is_used(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    # Refused without a claim: the hub had not shown the address to this moderator yet.
    add_proposal(database, 5, email=None)
    refuse(database, charter, renderer, 5)
    [mail] = _mails(database)
    assert mail.state == "waiting_hub"
    assert mail.to_address is None
    with database.write() as session:  # the next pull shows it (the moderator decided it)
        proposal = session.get(Proposal, 5)
        assert proposal is not None
        proposal.author_email = "late@example.org"
    confirm_by_hub(database)
    server = smtp_server()
    assert send_sendable(database, server.sender(), Clock()).sent == 1
    assert server.handler.received[0].rcpt_tos == ["late@example.org"]


def test_the_preview_is_the_mail_that_gets_queued(
    database: Database, charter: Charter, renderer: MailRenderer
) -> None:
    add_proposal(database, 4, content="Il faut des formations en prison!!!")
    with database.session() as session:
        preview = preview_refusal_mail(
            session, 4, "hard-to-read", charter, renderer, note="Merci !", now=NOW
        )
    refuse(database, charter, renderer, 4, "hard-to-read", note="Merci !")
    [mail] = _mails(database)
    assert preview.to_address == mail.to_address
    assert preview.subject == mail.subject
    reference = next(line for line in mail.body_text.splitlines() if "R-4-" in line)
    assert preview.text == mail.body_text.replace(
        reference, "Référence de la décision : R-4-········"
    )
    # The repeated "!!!" is a pre-check finding of this clause: the mail says automation helped.
    assert "Des vérifications automatiques ont signalé" in mail.body_text
    with database.session() as session:
        other_clause = preview_refusal_mail(session, 4, "off-topic", charter, renderer)
    assert other_clause.subject != preview.subject


def test_a_one_megabyte_proposal_goes_out_capped_in_both_parts(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    huge = "Il faut " + ("<b>former</b> \u202eles\u202c détenus\r\n" * 40_000)
    add_proposal(database, 6, content=huge[:1_000_000], first_name="\u202eA" * 10_000)
    refuse(database, charter, renderer, 6)
    confirm_by_hub(database)
    server = smtp_server()
    assert send_sendable(database, server.sender(), Clock()).sent == 1
    [received] = server.handler.received
    assert len(received.raw) < 60_000
    text = received.message.get_body(("plain",))
    html = received.message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "> Il faut <b>former</b> les détenus" in text.get_content()
    assert "Il faut &lt;b&gt;former&lt;/b&gt; les détenus" in html.get_content()
    assert "\u202e" not in received.raw.decode("utf-8", "replace")
    assert "\u202e" not in text.get_content() + html.get_content()


def test_international_addresses(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    add_proposal(database, 11, email="jose@exämple.org")  # domain: sent as punycode
    add_proposal(database, 12, email="josé@example.org")  # local part: not supported
    refuse(database, charter, renderer, 11)
    refuse(database, charter, renderer, 12)
    confirm_by_hub(database)
    server = smtp_server()  # no SMTPUTF8 needed
    assert send_sendable(database, server.sender(), Clock()).sent == 1
    assert server.handler.received[0].rcpt_tos == ["jose@xn--exmple-cua.org"]
    unsupported = next(m for m in _mails(database) if m.proposal_id == 12)
    assert unsupported.state == "not_sent"
    assert "not ASCII" in (unsupported.last_error or "")


def test_the_pool_gets_its_connections_back_at_full_durability(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 2)
    assert send_sendable(database, smtp_server().sender(), Clock()).sent == 2
    with database.engine.connect() as first, database.engine.connect() as second:
        levels = [c.exec_driver_sql("PRAGMA synchronous").scalar() for c in (first, second)]
    assert levels == [2, 2]  # FULL: decisions recorded later are not weakened by the sender
