"""A local SMTP server for the demo: every mail it receives becomes an .eml file in a folder.

The workbench sends refusal mails to it exactly as it would to a real server (plain SMTP on
loopback), and the demo moderator can then open what an author would have received.
"""

from __future__ import annotations

import asyncio
import email.policy
import itertools
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"
EML_SUFFIX = ".eml"
# Where the demo keeps caught mails, inside its data directory.
CAUGHT_MAIL_DIR_NAME = "caught-mail"
# Caught mails are at most this big when listed or read (the demo never sends more).
MAX_READ_BYTES = 8 * 1024 * 1024


class _EmlWriter:
    """aiosmtpd handler: writes each message atomically (temp file, fsync, rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.content
        caught_at = datetime.now(UTC)
        # Envelope addresses come from SMTP command lines, which cannot hold CR or LF.
        trace = (
            f"X-Catcher-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Catcher-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
            f"X-Catcher-Received-At: {caught_at.isoformat()}\r\n"
        ).encode("utf-8", errors="replace")
        with self._lock:
            number = next(self._counter)
        name = f"{caught_at:%Y%m%dT%H%M%S%f}Z-{os.getpid()}-{number:06d}{EML_SUFFIX}"
        write_atomically(self.folder / name, trace + content)
        return "250 Message accepted for delivery"


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see either no file or the whole file, even if the process dies mid-write."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class _FreePortController(Controller):
    """aiosmtpd's controller, bound to port 0 and then told which port the system picked."""

    def _trigger_server(self) -> None:
        if isinstance(self.server, asyncio.Server) and self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class MailCatcher:
    """An SMTP server on loopback storing mails in `folder`; a context manager.

    with MailCatcher(home / "caught-mail") as catcher:
        catcher.host, catcher.port      # plain SMTP, no authentication, no TLS
    """

    def __init__(self, folder: Path, *, host: str = LOOPBACK, port: int = 0) -> None:
        self.folder = folder
        self.host = host
        self._requested_port = port
        self._controller: _FreePortController | None = None

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("the mail catcher is not running")
        port: int = self._controller.port
        return port

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("the mail catcher is already running")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        controller = _FreePortController(
            _EmlWriter(self.folder),
            hostname=self.host,
            port=self._requested_port,
            server_hostname="catcher.moderator-app.localhost",
        )
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)
            if not controller.loop.is_closed():
                controller.loop.close()
            raise
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and join the server thread; safe to call twice."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def caught_mail_folder(home: Path) -> Path | None:
    """The folder of mails caught for the demo whose data directory is `home`; None elsewhere.

    The workbench calls this to offer the demo's mails (a real account has no such folder).
    """
    folder = home / CAUGHT_MAIL_DIR_NAME
    return folder if folder.is_dir() else None


@dataclass(frozen=True)
class CaughtMail:
    """One caught mail as a list shows it."""

    path: Path
    subject: str
    to: str
    sender: str
    date: datetime | None
    message_id: str


@dataclass(frozen=True)
class CaughtMessage:
    """One caught mail's content, for display as plain text (the HTML part is never rendered)."""

    mail: CaughtMail
    text: str
    html: str | None
    headers: tuple[tuple[str, str], ...]

    def as_plain_text(self) -> str:
        """What a mail reader shows: the main headers, a blank line, the text part.

        For a plain-text widget (never a rich-text one: the mail quotes the author's words).
        """
        date = self.mail.date.isoformat(sep=" ") if self.mail.date else "(no date)"
        lines = [
            f"From: {self.mail.sender}",
            f"To: {self.mail.to}",
            f"Date: {date}",
            f"Subject: {self.mail.subject}",
            "",
            self.text,
        ]
        return "\n".join(lines)


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        raw = handle.read(MAX_READ_BYTES)
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # malformed header: show it raw
        raw = message.get_all(name, failobj=[])
        value = str(raw[0]) if raw else None
    return "" if value is None else str(value)


def _date(message: EmailMessage) -> datetime | None:
    text = _header(message, "Date")
    if not text:
        return None
    try:
        return parsedate_to_datetime(text)
    except (ValueError, TypeError):
        return None


def _summary(path: Path, message: EmailMessage) -> CaughtMail:
    return CaughtMail(
        path=path,
        subject=_header(message, "Subject"),
        to=_header(message, "To"),
        sender=_header(message, "From"),
        date=_date(message),
        message_id=_header(message, "Message-ID"),
    )


def list_caught_mails(folder: Path) -> list[CaughtMail]:
    """The mails caught in `folder`, oldest first; an unreadable file is listed, never fatal."""
    if not folder.is_dir():
        return []
    mails: list[CaughtMail] = []
    for path in sorted(folder.glob(f"*{EML_SUFFIX}")):
        try:
            mails.append(_summary(path, _parse(path)))
        except (OSError, ValueError) as error:
            mails.append(CaughtMail(path, f"(unreadable: {error})", "", "", None, ""))
    return mails


def _content(part: object) -> str | None:
    if not isinstance(part, EmailMessage):
        return None
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # unknown charset or broken encoding: show what we can
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else None


def read_caught_mail(path: Path) -> CaughtMessage:
    """A caught mail's text and HTML parts and its headers, decoded but never interpreted."""
    message = _parse(path)
    text = _content(message.get_body(preferencelist=("plain",)))
    html = _content(message.get_body(preferencelist=("html",)))
    headers = tuple((name, _header(message, name)) for name in dict.fromkeys(message.keys()))
    return CaughtMessage(_summary(path, message), text or "", html, headers)
