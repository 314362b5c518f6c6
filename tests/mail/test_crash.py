"""A sending process killed with SIGKILL mid-send, then run again: nothing lost, nothing twice."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from sqlalchemy import select

from moderator_app.core.charter import Charter
from moderator_app.core.database import Database
from moderator_app.core.mail.outbox import send_sendable
from moderator_app.core.mail.render import MailRenderer
from moderator_app.core.models import MailOutbox

from .support import Clock, ScriptedHandler, SmtpServer, queue_sendable

# The client as a separate process: `moderator-app mail send` reduced to its core call.
SEND_DRIVER = """
import sys
from pathlib import Path
from moderator_app.core.database import open_database
from moderator_app.core.mail.outbox import send_sendable
from moderator_app.core.mail.smtp import SmtpSender, SmtpSettings

database = open_database(Path(sys.argv[1]))
try:
    settings = SmtpSettings(host="127.0.0.1", port=int(sys.argv[2]), security="none",
                            username=None, from_address="moderation@platform.example")
    print(send_sendable(database, SmtpSender(settings, None)).summary())
finally:
    database.close()
"""


def test_client_killed_mid_send_then_rerun_sends_every_mail_exactly_once(
    database: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    queue_sendable(database, charter, renderer, 6)
    hold = threading.Event()
    # Accept three messages, then keep the fourth in DATA (the client waits for the reply).
    server = smtp_server(ScriptedHandler(hold=hold, hold_after=3))
    process = subprocess.Popen(
        [sys.executable, "-c", SEND_DRIVER, str(database.path), str(server.port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert server.handler.holding.wait(timeout=60), "the client never reached the 4th DATA"
    finally:
        process.kill()  # SIGKILL: no cleanup, no finally blocks, the lock file stays behind
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == -9, stderr
    server.handler.hold = None
    hold.set()  # the held DATA gets its answer into a dead socket and records nothing

    with database.session() as session:
        states = sorted(session.scalars(select(MailOutbox.state)))
    assert states == ["sendable"] * 3 + ["sent"] * 3  # the 3 accepted ones were recorded at once
    assert len(server.handler.received) == 3

    report = send_sendable(database, server.sender(), Clock())  # the rerun (lock is free again)
    assert report.sent == 3
    with database.session() as session:
        mails = list(session.scalars(select(MailOutbox)))
    assert all(mail.state == "sent" for mail in mails)
    assert server.handler.counts() == {mail.message_id: 1 for mail in mails}


def test_random_kills_lose_nothing_and_duplicate_at_most_the_mail_in_flight(
    database: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    """SIGKILL at random moments while a slow server takes each mail.

    A kill after the server accepted a mail but before the client recorded it (the server's "250"
    still in flight) is the one case SMTP cannot settle (RFC 1047): that mail goes again after the
    restart, with the same Message-ID so the receiving side can tell. So: nothing is ever lost,
    and each kill adds at most one duplicate.
    """
    queue_sendable(database, charter, renderer, 30)
    server = smtp_server(ScriptedHandler(delay=0.02))
    chance = random.Random(20261129)
    kills = 0
    sent_so_far: list[int] = []
    for _ in range(4):
        process = subprocess.Popen(
            [sys.executable, "-c", SEND_DRIVER, str(database.path), str(server.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(chance.uniform(0.3, 1.2))  # start-up takes a good part of it
        process.kill()
        process.communicate(timeout=30)
        kills += process.returncode == -9
        with database.session() as session:
            sent_so_far.append(
                len(session.scalars(select(MailOutbox).where(MailOutbox.state == "sent")).all())
            )
    # The kills did land in the middle of the batch, not before or after it.
    assert any(0 < sent < 30 for sent in sent_so_far), sent_so_far
    send_sendable(database, server.sender(), Clock())
    with database.session() as session:
        mails = list(session.scalars(select(MailOutbox)))
    assert all(mail.state == "sent" for mail in mails)
    counts = server.handler.counts()
    assert set(counts) == {mail.message_id for mail in mails}  # nothing lost
    assert sum(counts.values()) - len(mails) <= kills  # at most the mail in flight per kill
