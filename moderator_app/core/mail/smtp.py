"""Building refusal messages and handing them to an SMTP server.

Headers are built with `email.headerregistry.Address` from cleaned values, so an author's name can
never add a header ("Bob\\r\\nBcc: x@example.org" stays a display name on one line). The connection
is STARTTLS, implicit TLS, or plain to a loopback host only; one connection serves a whole batch.

Every failure is classified for the outbox: transient (4xx, dropped connection, timeout: retry
later with backoff) or permanent (5xx, refused recipient, bad address: shown with the reply).
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address, BaseHeader
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal, cast, get_args

from moderator_app.core.errors import UserError
from moderator_app.core.mail.render import clean_text

Security = Literal["starttls", "ssl", "none"]
SECURITY_MODES: tuple[str, ...] = get_args(Security)
Outcome = Literal["sent", "transient", "permanent"]

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_DISPLAY_NAME_CHARS = 100
MAX_REPLY_CHARS = 2_000
_ADDRESS = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+\.[^\s@<>()\[\],;:\"\\]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MESSAGE_ID = re.compile(r"^<[A-Za-z0-9._%+-]{1,128}@[A-Za-z0-9.-]{1,253}>$")


class InvalidAddress(ValueError):
    """An e-mail address that cannot be used as a recipient or sender."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """How to reach the SMTP server. No secret here: the password lives in the keyring."""

    host: str
    port: int
    security: Security
    username: str | None
    from_address: str
    from_name: str = ""
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise UserError(
                f"SMTP security must be one of {', '.join(SECURITY_MODES)}, not {self.security!r}."
            )
        if not 0 < self.timeout <= 600:
            raise UserError(f"SMTP timeout {self.timeout} s is out of range (0-600 seconds).")
        if not 0 < self.port < 65536:
            raise UserError(f"SMTP port {self.port} is out of range (1-65535).")
        if not self.host or _CONTROL.search(self.host) or " " in self.host:
            raise UserError(f"SMTP host {self.host!r} is not a host name.")
        if self.security == "none" and not is_loopback_host(self.host):
            raise UserError(
                f"Plain (unencrypted) SMTP is only allowed to a loopback host, not {self.host}; "
                "use --security starttls or ssl."
            )
        try:
            checked_address(self.from_address)
        except InvalidAddress as error:
            raise UserError(f"The sender address is invalid: {error}") from error

    @property
    def credential_name(self) -> str:
        """The keyring user name of the SMTP password (CONTRACTS.md: smtp:<user>@<host>)."""
        return f"smtp:{self.username}@{self.host}"

    @property
    def message_id_domain(self) -> str:
        """The domain part of Message-IDs: the sender's own domain."""
        return self.from_address.rpartition("@")[2].lower()


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the server answered for one message."""

    outcome: Outcome
    code: int | None
    reply: str


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_address(value: str) -> str:
    """The address as it is sent: stripped, an international domain in its ASCII (punycode)
    form so any server takes it. InvalidAddress with a one-line reason otherwise; that includes
    a non-ASCII local part, which the standard library's e-mail headers cannot carry."""
    address = value.strip()
    if not address:
        raise InvalidAddress("the address is empty")
    shown = clean_text(address, one_line=True, max_chars=80)
    if len(address) > 254 or _CONTROL.search(address) or not _ADDRESS.match(address):
        raise InvalidAddress(f"{shown!r} is not valid")
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise InvalidAddress(f"{shown!r} is not valid here: its part before @ is not ASCII")
    if len(local) > 64:
        raise InvalidAddress(f"{shown!r} is not valid: its part before @ is over 64 characters")
    try:
        address = f"{local}@{domain.encode('idna').decode('ascii').lower()}"
        Address(addr_spec=address)
    except (UnicodeError, ValueError, HeaderParseError) as error:
        raise InvalidAddress(f"{shown!r} is not valid") from error
    return address


def display_name(value: str | None) -> str:
    """A recipient name safe for a header: one line, no control or invisible characters."""
    return clean_text(value or "", one_line=True, max_chars=MAX_DISPLAY_NAME_CHARS)


def build_message(
    *,
    settings: SmtpSettings,
    to_address: str,
    to_name: str | None,
    subject: str,
    body_text: str,
    body_html: str,
    message_id: str,
    date: datetime,
    references: str | None = None,
) -> EmailMessage:
    """The multipart/alternative message (text first, HTML preferred by capable readers).

    From, To and Subject, the headers carrying outside text, go through the email package's
    header registry (`Address`, RFC 2047 encoding, no way to add a line). The other headers are
    values this module makes itself, set as they are; the parts are UTF-8 in base64. Building
    them by hand rather than with `set_content`, and reusing the parsed headers that repeat from
    mail to mail (From, Subject, Content-Type), is what keeps sending fast.
    Raises InvalidAddress for an unusable recipient.
    """
    recipient = Address(display_name=display_name(to_name), addr_spec=checked_address(to_address))
    for own in (message_id, references or message_id):
        if not _MESSAGE_ID.match(own):
            raise ValueError(f"not a Message-ID made by this app: {own!r}")
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = _from_header(settings.from_name, settings.from_address)
    message["To"] = recipient
    message["Subject"] = _subject_header(subject)
    message.set_raw("Date", format_datetime(date))
    message.set_raw("Message-ID", message_id)
    if references:
        message.set_raw("References", references)
    # An automatic message in the sense of RFC 3834: no vacation auto-replies, please.
    message.set_raw("Auto-Submitted", "auto-generated")
    message.set_raw("MIME-Version", "1.0")
    message["Content-Type"] = _content_type("multipart/alternative", f'boundary="{_BOUNDARY}"')
    message.set_payload([_utf8_part("plain", body_text), _utf8_part("html", body_html)])
    return message


# "_" is not a base64 character, so this boundary can never occur inside a base64 part.
_BOUNDARY = "=_moderator-workbench_alternative"


@functools.lru_cache(maxsize=16)
def _from_header(name: str, address: str) -> BaseHeader:
    value = Address(display_name=display_name(name), addr_spec=address)
    return cast(BaseHeader, policy.SMTP.header_factory("From", value))


@functools.lru_cache(maxsize=256)
def _subject_header(subject: str) -> BaseHeader:
    value = clean_text(subject, one_line=True, max_chars=300)
    return cast(BaseHeader, policy.SMTP.header_factory("Subject", value))


@functools.lru_cache(maxsize=8)
def _content_type(mime_type: str, parameter: str) -> BaseHeader:
    # Parsed once: the generator asks each part for its Content-Type several times.
    return cast(BaseHeader, policy.SMTP.header_factory("Content-Type", f"{mime_type}; {parameter}"))


def _utf8_part(subtype: str, body: str) -> EmailMessage:
    part = EmailMessage(policy=policy.SMTP)
    part["Content-Type"] = _content_type(f"text/{subtype}", 'charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", "base64")
    canonical = body.replace("\r\n", "\n").replace("\n", "\r\n")  # RFC 2045: CRLF lines
    part.set_payload(base64.encodebytes(canonical.encode("utf-8")).decode("ascii"))
    return part


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return clean_text(text, one_line=True, max_chars=MAX_REPLY_CHARS)


def classify_code(code: int) -> Outcome:
    """4xx is worth retrying; anything else that is not success is final."""
    return "transient" if 400 <= code < 500 else "permanent"


class SmtpConnectError(Exception):
    """The server could not be reached or refused the session (not any one mail's fault)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class _RecordingSMTP(smtplib.SMTP):
    """smtplib drops the server's answer to DATA on success; keep it ("250 Ok: queued as ...")."""

    last_data_reply: tuple[int, bytes] = (250, b"")

    def data(self, msg: bytes | str) -> tuple[int, bytes]:  # type: ignore[override]
        self.last_data_reply = super().data(msg)
        return self.last_data_reply


class _RecordingSMTPSSL(smtplib.SMTP_SSL):
    last_data_reply: tuple[int, bytes] = (250, b"")

    def data(self, msg: bytes | str) -> tuple[int, bytes]:  # type: ignore[override]
        self.last_data_reply = super().data(msg)
        return self.last_data_reply


class SmtpConnection:
    """One open, logged-in SMTP session; send many messages, then close."""

    def __init__(self, client: smtplib.SMTP, settings: SmtpSettings) -> None:
        self._client = client
        self._settings = settings
        self.broken = False

    def send(self, message: EmailMessage, to_address: str) -> SendResult:
        """Hand one message over and classify the server's answer.

        Raises SmtpConnectError only when the server refuses our sender address (a setting, not
        this mail). After a failure that broke the session (`broken`), open a new connection.
        """
        try:
            refused = self._client.send_message(
                message, from_addr=self._settings.from_address, to_addrs=[to_address]
            )
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()), (550, b"recipient refused"))
            self._reset()
            return SendResult(classify_code(code), code, _reply_text(reply))
        except smtplib.SMTPSenderRefused as error:
            # Our own From address refused: every mail would be, so none of them is at fault.
            self.broken = True
            raise SmtpConnectError(
                f"the SMTP server refused the sender {self._settings.from_address}: "
                f"{error.smtp_code} {_reply_text(error.smtp_error)}; check `mail configure --from`",
                transient=classify_code(error.smtp_code) == "transient",
            ) from error
        except smtplib.SMTPDataError as error:
            self._reset()
            return SendResult(
                classify_code(error.smtp_code), error.smtp_code, _reply_text(error.smtp_error)
            )
        except smtplib.SMTPNotSupportedError as error:
            self._reset()
            return SendResult("permanent", None, _reply_text(str(error)))
        except smtplib.SMTPServerDisconnected as error:
            self.broken = True
            return SendResult("transient", None, _reply_text(f"connection lost: {error}"))
        except smtplib.SMTPResponseException as error:
            self.broken = error.smtp_code == 421
            return SendResult(
                classify_code(error.smtp_code), error.smtp_code, _reply_text(error.smtp_error)
            )
        except (TimeoutError, OSError) as error:
            self.broken = True
            return SendResult("transient", None, _reply_text(f"network error: {error!r}"))
        if refused:
            refused_code, refused_reply = next(iter(refused.values()))
            return SendResult(classify_code(refused_code), refused_code, _reply_text(refused_reply))
        accepted_code, accepted_reply = self._last_reply()
        return SendResult("sent", accepted_code, accepted_reply)

    def _last_reply(self) -> tuple[int, str]:
        code, reply = getattr(self._client, "last_data_reply", (250, b""))
        return code, _reply_text(reply) or "accepted"

    def _reset(self) -> None:
        try:
            self._client.rset()
        except (smtplib.SMTPException, OSError):
            self.broken = True

    def close(self) -> None:
        try:
            self._client.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self._client.close()

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class SmtpSender:
    """Opens connections to the configured server. The password is passed in (from keyring)."""

    def __init__(
        self,
        settings: SmtpSettings,
        password: str | None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._password = password
        self._ssl_context = ssl_context

    def connect(self) -> SmtpConnection:
        """A ready session (TLS and login done). Raises SmtpConnectError."""
        settings = self.settings
        context = self._ssl_context or ssl.create_default_context()
        client: smtplib.SMTP
        try:
            if settings.security == "ssl":
                client = _RecordingSMTPSSL(
                    settings.host, settings.port, timeout=settings.timeout, context=context
                )
            else:
                client = _RecordingSMTP(settings.host, settings.port, timeout=settings.timeout)
        except (OSError, smtplib.SMTPException) as error:
            raise SmtpConnectError(
                f"cannot connect to the SMTP server {settings.host}:{settings.port}: {error}",
                transient=True,
            ) from error
        try:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if settings.username:
                if self._password is None:
                    raise SmtpConnectError(
                        f"no SMTP password stored for {settings.username}@{settings.host}; "
                        "run `moderator-app mail configure --password-stdin`",
                        transient=False,
                    )
                client.login(settings.username, self._password)
        except SmtpConnectError:
            client.close()
            raise
        except smtplib.SMTPAuthenticationError as error:
            client.close()
            raise SmtpConnectError(
                f"the SMTP server refused the login of {settings.username}: "
                f"{_reply_text(error.smtp_error)}",
                transient=False,
            ) from error
        except smtplib.SMTPNotSupportedError as error:
            client.close()
            raise SmtpConnectError(
                f"the SMTP server {settings.host} does not support {error}", transient=False
            ) from error
        except smtplib.SMTPResponseException as error:
            client.close()
            raise SmtpConnectError(
                f"the SMTP server {settings.host} answered {error.smtp_code} "
                f"{_reply_text(error.smtp_error)}",
                transient=classify_code(error.smtp_code) == "transient",
            ) from error
        except (TimeoutError, OSError, smtplib.SMTPException, ssl.SSLError) as error:
            client.close()
            raise SmtpConnectError(
                f"the SMTP session with {settings.host}:{settings.port} failed: {error}",
                transient=True,
            ) from error
        return SmtpConnection(client, settings)
