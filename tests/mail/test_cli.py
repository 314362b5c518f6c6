"""`moderator-app mail ...` end to end in-process, against an aiosmtpd server that wants a login."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from moderator_app.cli import main
from moderator_app.core.charter import Charter
from moderator_app.core.credentials import SERVICE, smtp_password_name
from moderator_app.core.database import Database, open_database
from moderator_app.core.mail.render import MailRenderer
from moderator_app.core.models import Question
from moderator_app.demo.memory_keyring import MemoryKeyring

from .support import ScriptedHandler, SmtpServer, queue_sendable

PASSWORD = "s3cret p@ss"


class Authenticator:
    def __init__(self) -> None:
        self.logins: list[tuple[str, str]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd then answers 535 itself on failure.
        return AuthResult(success=(login, password) == ("mailer", PASSWORD), handled=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cache(home: Path) -> Iterator[Database]:
    db = open_database(home / "cache.sqlite3")
    with db.write() as session:
        session.add(Question(slug="insertion", title="Comment ?", language="fr"))
    yield db
    db.close()


class Cli:
    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.home = home
        self.capsys = capsys
        self.keyring = MemoryKeyring()

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.capsys.readouterr()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdin", io.StringIO(stdin))
            code = main(["--home", str(self.home), *argv], environ={}, keyring_backend=self.keyring)
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(home, capsys)


def _configure(cli: Cli, server: SmtpServer, *extra: str) -> tuple[int, str, str]:
    """Configure with a login; the password comes on stdin (as a script would pipe it)."""
    return cli(
        "mail",
        "configure",
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--security",
        "none",
        "--user",
        "mailer",
        "--from",
        "moderation@platform.example",
        *extra,
        stdin=PASSWORD + "\n",
    )


def test_configure_send_list_show_resend(
    cli: Cli,
    cache: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    authenticator = Authenticator()
    server = smtp_server(authenticator=authenticator, auth_require_tls=False)
    code, out, err = _configure(cli, server, "--password-stdin")
    assert (code, err) == (0, "")
    assert "password in the keyring" in out
    config = (cli.home / "mail.json").read_text()
    assert PASSWORD not in config
    assert json.loads(config)["user"] == "mailer"
    assert (cli.home / "mail.json").stat().st_mode & 0o077 == 0
    name = smtp_password_name("mailer", "127.0.0.1")
    assert cli.keyring.get_password(SERVICE, name) == PASSWORD

    queue_sendable(cache, charter, renderer, 3)
    code, out, err = cli("mail", "send")
    assert (code, err) == (0, "")
    assert out.strip() == "mail: 3 sent, 0 to retry later, 0 failed"
    assert authenticator.logins == [("mailer", PASSWORD)]  # one login for the whole batch
    assert len(server.handler.received) == 3

    code, out, _ = cli("mail", "list", "--proposal", "2", "--json")
    assert code == 0
    [listed] = json.loads(out)
    assert listed["proposal_id"] == 2
    assert listed["state"] == "sent"
    code, out, _ = cli("mail", "list", "--email", "AUTHOR3@example.org", "--since", "2026-11-27")
    assert code == 0
    assert "author3@example.org" in out
    code, out, _ = cli("mail", "list", "--since", "2026-11-28")
    assert out.strip() == "no mail matches"

    mail_id = listed["id"]
    code, out, _ = cli("mail", "show", mail_id[:8])
    assert code == 0
    assert f"mail {mail_id}  (sent)" in out
    assert "template refusal (fr)" in out
    assert f"charter {charter.version}" in out
    assert "sent      250" in out
    assert "Bonjour Camille," in out

    code, out, err = cli("mail", "resend", mail_id, "--why", "bounced: mailbox was full")
    assert (code, err) == (0, "")
    assert "1 sent" in out
    assert server.handler.received[-1].rcpt_tos == ["author2@example.org"]
    code, out, _ = cli("mail", "show", mail_id, "--json")
    detail = json.loads(out)
    assert len(detail["resends"]) == 1
    assert detail["attempt_log"][0]["smtp_code"] == 250


def test_resend_limit_and_errors_are_one_line(
    cli: Cli,
    cache: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    assert cli(
        "mail", "configure", "--host", "127.0.0.1", "--port", str(server.port),
        "--security", "none", "--from", "moderation@platform.example",
    )[0] == 0  # fmt: skip
    queue_sendable(cache, charter, renderer, 1)
    assert cli("mail", "send")[0] == 0
    mail_id = json.loads(cli("mail", "list", "--json")[1])[0]["id"]
    for _ in range(3):
        assert cli("mail", "resend", mail_id, "--why", "asked by the author")[0] == 0
    code, _, err = cli("mail", "resend", mail_id, "--why", "once more")
    assert code == 1
    assert err.count("\n") == 1
    assert "at most 3" in err
    code, _, err = cli("mail", "resend", mail_id, "--to", "x\r\nBcc: y@z.org", "--why", "w")
    assert code == 1
    assert "not valid" in err
    code, _, err = cli("mail", "show", "nonexistent")
    assert code == 1
    assert "no mail" in err
    assert len(server.handler.received) == 4


def test_wrong_password_and_unsafe_settings_are_refused(
    cli: Cli,
    cache: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server(authenticator=Authenticator(), auth_require_tls=False)
    assert _configure(cli, server, "--password-stdin")[0] == 0
    queue_sendable(cache, charter, renderer, 1)
    cli.keyring.set_password(SERVICE, smtp_password_name("mailer", "127.0.0.1"), "wrong")
    code, _, err = cli("mail", "send")
    assert code == 1
    assert "refused the login of mailer" in err
    assert err.count("\n") == 1
    assert server.handler.received == []

    code, _, err = cli(
        "mail", "configure", "--host", "smtp.example.org", "--port", "25",
        "--security", "none", "--from", "m@example.org",
    )  # fmt: skip
    assert code == 1
    assert "only allowed to a loopback host" in err
    code, _, err = cli(
        "mail", "configure", "--host", "smtp.example.org", "--port", "587",
        "--security", "starttls", "--from", "m@example.org\r\nBcc: x@y.org",
    )  # fmt: skip
    assert code == 1
    assert "sender address is invalid" in err


def test_send_without_configuration_says_what_to_do(cli: Cli, cache: Database) -> None:
    code, _, err = cli("mail", "send")
    assert code == 1
    assert "mail configure" in err


def test_send_exits_1_when_a_mail_failed_for_good(
    cli: Cli,
    cache: Database,
    charter: Charter,
    renderer: MailRenderer,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    # A script running `mail send` must notice a mail that will never arrive without a person.
    server = smtp_server(ScriptedHandler(refuse_rcpt={"author2@example.org"}))
    assert cli(
        "mail", "configure", "--host", "127.0.0.1", "--port", str(server.port),
        "--security", "none", "--from", "moderation@platform.example",
    )[0] == 0  # fmt: skip
    queue_sendable(cache, charter, renderer, 2)
    code, out, err = cli("mail", "send")
    assert code == 1
    assert out.strip() == "mail: 1 sent, 0 to retry later, 1 failed"
    assert "mail list --state failed" in err
    assert err.count("\n") == 1
    [failed] = json.loads(cli("mail", "list", "--state", "failed", "--json")[1])
    assert failed["proposal_id"] == 2


@pytest.mark.parametrize("damage", ["{not json", '["a list"]', '{"host": "127.0.0.1"}'])
def test_damaged_mail_settings_say_how_to_fix_them(cli: Cli, cache: Database, damage: str) -> None:
    (cli.home / "mail.json").write_text(damage, encoding="utf-8")
    code, _, err = cli("mail", "send")
    assert code == 1
    assert "mail.json is damaged; run `moderator-app mail configure` again" in err
    assert err.count("\n") == 1
