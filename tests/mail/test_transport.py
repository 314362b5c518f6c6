"""SMTP transport: STARTTLS, implicit TLS, certificate checks, plain only to loopback, timeouts."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from moderator_app.core.charter import Charter
from moderator_app.core.database import Database
from moderator_app.core.errors import UserError
from moderator_app.core.mail.outbox import send_sendable
from moderator_app.core.mail.render import MailRenderer
from moderator_app.core.mail.smtp import SmtpSender, SmtpSettings, checked_address

from .support import Clock, ScriptedHandler, SmtpServer, queue_sendable

StartServer = Callable[..., SmtpServer]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (key file, certificate file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    key_file, cert_file = folder / "key.pem", folder / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile=certificate[1], keyfile=certificate[0])
    return context


def _client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[1]))


def test_starttls_with_a_trusted_certificate(
    database: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: StartServer,
    certificate: tuple[Path, Path],
) -> None:
    queue_sendable(database, charter, renderer, 2)
    server = smtp_server(tls_context=_server_context(certificate), require_starttls=True)
    sender = SmtpSender(
        server.settings(security="starttls"), None, ssl_context=_client_context(certificate)
    )
    assert send_sendable(database, sender, Clock()).sent == 2
    assert len(server.handler.received) == 2


def test_implicit_tls(
    database: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: StartServer,
    certificate: tuple[Path, Path],
) -> None:
    queue_sendable(database, charter, renderer, 1)
    server = smtp_server(ssl_context=_server_context(certificate))
    sender = SmtpSender(
        server.settings(security="ssl"), None, ssl_context=_client_context(certificate)
    )
    assert send_sendable(database, sender, Clock()).sent == 1
    assert len(server.handler.received) == 1


def test_untrusted_certificate_or_missing_starttls_sends_nothing(
    database: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: StartServer,
    certificate: tuple[Path, Path],
) -> None:
    queue_sendable(database, charter, renderer, 1)
    tls_server = smtp_server(tls_context=_server_context(certificate), require_starttls=True)
    # The system trust store does not know our self-signed certificate.
    report = send_sendable(database, tls_server.sender(security="starttls"), Clock())
    assert report.error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in report.error
    plain_server = smtp_server()
    report = send_sendable(database, plain_server.sender(security="starttls"), Clock())
    assert report.error is not None
    assert "STARTTLS" in report.error
    assert tls_server.handler.received == []
    assert plain_server.handler.received == []


def test_a_server_that_stops_answering_is_a_transient_failure(
    database: Database, charter: Charter, renderer: MailRenderer, smtp_server: StartServer
) -> None:
    queue_sendable(database, charter, renderer, 1)
    server = smtp_server(ScriptedHandler(hold=threading.Event()))
    report = send_sendable(database, server.sender(timeout=0.5), Clock())
    assert report.retry_later == 1
    assert server.handler.received == []


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_plain_smtp_is_allowed_to_loopback(host: str) -> None:
    settings = SmtpSettings(host, 25, "none", None, "m@example.org")
    assert settings.security == "none"


@pytest.mark.parametrize("host", ["smtp.example.org", "10.0.0.1", "127.0.0.1.nip.io"])
def test_plain_smtp_is_refused_elsewhere(host: str) -> None:
    with pytest.raises(UserError, match="loopback"):
        SmtpSettings(host, 25, "none", None, "m@example.org")


@pytest.mark.parametrize(
    "address",
    ["", "plain", "a@b", "a b@example.org", "a@example.org\r\nBcc: x@y.org", "<a@example.org>"],
)
def test_bad_addresses_are_rejected(address: str) -> None:
    with pytest.raises(ValueError, match=r"not valid|empty"):
        checked_address(address)
