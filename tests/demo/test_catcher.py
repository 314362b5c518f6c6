"""The demo's mail catcher: a real SMTP server on loopback that keeps every mail as an .eml file."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest

from moderator_app.demo.catcher import (
    MailCatcher,
    caught_mail_folder,
    list_caught_mails,
    read_caught_mail,
)


def _refusal(to: str, subject: str, name: str = "Léa") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Modération <moderation@consultation.example.org>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(1764446400, usegmt=True)
    message["Message-ID"] = make_msgid(domain="consultation.example.org")
    message.set_content(f"Bonjour {name},\n\nVotre proposition « Il faut <b>plus</b> » ...\n")
    message.add_alternative(f"<p>Bonjour {name},</p><p>&lt;b&gt;</p>", subtype="html")
    return message


def _send(catcher: MailCatcher, *messages: EmailMessage) -> None:
    with smtplib.SMTP(catcher.host, catcher.port, timeout=10) as client:
        for message in messages:
            client.send_message(message)


def test_a_sent_mail_is_kept_as_an_eml_file_and_listed(tmp_path: Path) -> None:
    folder = tmp_path / "caught"
    with MailCatcher(folder) as catcher:
        assert catcher.host == "127.0.0.1"
        assert catcher.port > 0
        _send(catcher, _refusal("lea.martin@example.org", "Votre proposition n'a pas été publiée"))
        mails = list_caught_mails(folder)

    assert len(mails) == 1
    mail = mails[0]
    assert mail.subject == "Votre proposition n'a pas été publiée"
    assert mail.to == "lea.martin@example.org"
    assert mail.sender.endswith("<moderation@consultation.example.org>")
    assert mail.date is not None
    assert mail.date.year == 2025
    assert mail.path.parent == folder
    assert mail.path.suffix == ".eml"
    # Written atomically: no temporary file is left behind.
    assert [p.name for p in folder.iterdir()] == [mail.path.name]


def test_reading_a_mail_gives_both_parts_as_text_and_the_envelope(tmp_path: Path) -> None:
    with MailCatcher(tmp_path) as catcher:
        _send(catcher, _refusal("a@example.org", "Sujet àccentué 🙂", name="Zoé"))
    message = read_caught_mail(list_caught_mails(tmp_path)[0].path)
    assert message.mail.subject == "Sujet àccentué 🙂"
    assert "Bonjour Zoé" in message.text
    assert "<b>plus</b>" in message.text
    assert message.html is not None
    assert "<p>Bonjour Zoé,</p>" in message.html
    headers = dict(message.headers)
    assert headers["X-Catcher-Envelope-To"] == "a@example.org"
    shown = message.as_plain_text()
    assert shown.startswith("From: Modération <moderation@consultation.example.org>\nTo: a@")
    assert "\nSubject: Sujet àccentué 🙂\n\nBonjour Zoé," in shown
    assert headers["X-Catcher-Envelope-From"] == "moderation@consultation.example.org"


def test_several_mails_are_listed_oldest_first(tmp_path: Path) -> None:
    with MailCatcher(tmp_path) as catcher:
        _send(catcher, *(_refusal(f"author{n}@example.org", f"mail {n}") for n in range(5)))
        _send(catcher, _refusal("late@example.org", "mail 5"))
    assert [m.subject for m in list_caught_mails(tmp_path)] == [f"mail {n}" for n in range(6)]


def test_stopping_frees_the_port_and_is_idempotent(tmp_path: Path) -> None:
    catcher = MailCatcher(tmp_path)
    catcher.start()
    port = catcher.port
    catcher.stop()
    catcher.stop()
    assert not catcher.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = catcher.port


def test_two_catchers_run_side_by_side(tmp_path: Path) -> None:
    with MailCatcher(tmp_path / "a") as first, MailCatcher(tmp_path / "b") as second:
        assert first.port != second.port
        _send(second, _refusal("b@example.org", "to b"))
    assert list_caught_mails(tmp_path / "a") == []
    assert [m.to for m in list_caught_mails(tmp_path / "b")] == ["b@example.org"]


def test_broken_files_are_listed_without_crashing(tmp_path: Path) -> None:
    (tmp_path / "0-garbage.eml").write_bytes(b"\x00\xff\xfe not a mail \r\n\r\n\x00")
    (tmp_path / "1-badcharset.eml").write_bytes(
        b"Subject: =?x-unknown?q?abc?=\r\nDate: not a date\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nbody \xe9\r\n"
    )
    (tmp_path / "ignored.txt").write_text("not listed")
    mails = list_caught_mails(tmp_path)
    assert [m.path.name for m in mails] == ["0-garbage.eml", "1-badcharset.eml"]
    assert mails[1].date is None
    message = read_caught_mail(mails[1].path)
    assert "body" in message.text


def test_listing_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list_caught_mails(tmp_path / "none") == []


def test_the_caught_mail_folder_exists_only_in_demo_homes(tmp_path: Path) -> None:
    assert caught_mail_folder(tmp_path) is None
    with MailCatcher(tmp_path / "caught-mail"):
        pass
    assert caught_mail_folder(tmp_path) == tmp_path / "caught-mail"
