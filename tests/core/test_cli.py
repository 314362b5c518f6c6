"""The headless CLI as scripts use it: exit codes, one-line errors, JSON, no leaked token."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from keyring.backends import null

from moderator_app.cli import main
from moderator_app.core.credentials import SERVICE, hub_token_name
from tests.core.conftest import Hub, MemoryKeyring


class Cli:
    """Runs `moderator-app` in-process with its own environment and keyring."""

    def __init__(
        self, home: Path, keyring: object, capsys: pytest.CaptureFixture[str], monkeypatch: object
    ) -> None:
        self.environ = {"MODERATOR_APP_HOME": str(home), "PATH": "/usr/bin:/bin"}
        self.keyring = keyring
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # type: ignore[attr-defined]
        code = main(list(argv), environ=self.environ, keyring_backend=self.keyring)  # type: ignore[arg-type]
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def cli(
    home: Path,
    keyring_backend: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    return Cli(home, keyring_backend, capsys, monkeypatch)


def _login(cli: Cli, hub: Hub, user: str = "alice") -> tuple[int, str, str]:
    return cli(
        "login", "--server", hub.url + "/", "--user", user, "--token-stdin", stdin=hub.tokens[user]
    )


def test_moderator_day_from_login_to_logout(
    cli: Cli, hub: Hub, home: Path, keyring_backend: MemoryKeyring
) -> None:
    ids = hub.seed(8)
    code, out, err = _login(cli, hub)
    assert (code, err) == (0, "")
    assert f"logged in to {hub.url} as alice" in out
    assert keyring_backend.secrets == {
        (SERVICE, hub_token_name("alice", hub.url)): hub.tokens["alice"]
    }

    code, out, err = cli("sync", "--claim", "3")
    assert (code, err) == (0, "")
    assert "fetched 8 changes" in out
    assert "claimed 3" in out

    code, out, _ = cli("status", "--json")
    status = json.loads(out)
    assert {
        key: status[key]
        for key in ("pending", "claimed_by_me", "decisions_unsent", "conflicts", "mails_queued")
    } == {
        "pending": 8,
        "claimed_by_me": 3,
        "decisions_unsent": 0,
        "conflicts": 0,
        "mails_queued": 0,
    }
    assert status["mails_failed"] == 0
    assert status["last_sync"] is not None

    code, out, _ = cli("proposals", "--json", "--limit", "2")
    items = json.loads(out)
    assert [item["id"] for item in items] == ids[:2]  # oldest first
    first = items[0]
    assert first["content"] == "Il faut former les détenus au métier numéro 0"
    assert (first["status"], first["question"], first["author_first_name"]) == (
        "pending",
        "insertion",
        "Auteur0",
    )
    assert first["claimed_by"] == "alice"
    assert first["decision"] is None

    code, out, err = cli("decide", str(ids[0]), "refuse", "--reason", "off-topic", "--json")
    assert (code, err) == (0, "")
    decision = json.loads(out)
    assert (decision["outcome"], decision["clause_id"], decision["sync_state"]) == (
        "refuse",
        "off-topic",
        "unsent",
    )
    code, out, err = cli("decide", str(ids[1]), "accept", "--content", "Il faut former au métier")
    assert code == 0
    waiting = json.loads(cli("status", "--json")[1])
    assert (waiting["pending"], waiting["decisions_unsent"]) == (6, 2)  # decided here: not pending

    code, out, _ = cli("proposals", "--json", "--search", "métier numéro 0")
    found = json.loads(out)
    assert [item["id"] for item in found] == [ids[0]]
    assert found[0]["decision"]["sync_state"] == "unsent"

    code, out, err = cli("sync", "--release")
    assert (code, err) == (0, "")
    assert "2 applied" in out
    assert "released 1" in out
    assert hub.proposal(ids[0]).status == "refused"
    assert hub.proposal(ids[1]).content == "Il faut former au métier"
    after = json.loads(cli("status", "--json")[1])
    assert (after["pending"], after["decisions_unsent"], after["claimed_by_me"]) == (6, 0, 0)
    code, out, _ = cli("proposals", "--json", "--status", "refused")
    assert [(i["id"], i["decision"]["sync_state"]) for i in json.loads(out)] == [
        (ids[0], "applied")
    ]

    # The token is in the keyring and nowhere else.
    token = hub.tokens["alice"].encode()
    for path in home.rglob("*"):
        if path.is_file():
            assert token not in path.read_bytes(), path

    code, out, _ = cli("logout")
    assert code == 0
    assert keyring_backend.secrets == {}
    assert not (home / "account.json").exists()
    code, _, err = cli("sync")
    assert code == 1
    assert "not logged in" in err


def test_wrong_token_is_one_line_and_nothing_is_saved(
    cli: Cli, hub: Hub, home: Path, keyring_backend: MemoryKeyring
) -> None:
    code, out, err = cli(
        "login", "--server", hub.url, "--user", "alice", "--token-stdin", stdin="not-a-token\n"
    )
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "rejected the token" in err
    assert keyring_backend.secrets == {}
    assert not (home / "account.json").exists()


def test_token_of_another_user_is_refused(cli: Cli, hub: Hub) -> None:
    code, _, err = cli(
        "login", "--server", hub.url, "--user", "alice", "--token-stdin", stdin=hub.tokens["bob"]
    )
    assert code == 1
    assert "belongs to hub user 'bob'" in err


def test_without_secure_storage_the_token_is_asked_each_time(
    home: Path,
    hub: Hub,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = Cli(home, null.Keyring(), capsys, monkeypatch)
    hub.seed(2)
    code, _, err = _login(cli, hub)
    assert code == 0
    assert "no secure password storage" in err
    code, _, err = cli("sync")
    assert code == 1
    assert "--token-stdin" in err
    code, out, err = cli("sync", "--token-stdin", stdin=hub.tokens["alice"])
    assert (code, err) == (0, "")
    assert "fetched 2 changes" in out


def test_decide_works_offline_and_sync_says_offline(cli: Cli, hub: Hub) -> None:
    ids = hub.seed(3)
    _login(cli, hub)
    assert cli("sync")[0] == 0
    hub.server.stop()
    code, out, err = cli("decide", str(ids[2]), "postpone", "--note", "à revoir")
    assert (code, err) == (0, "")
    assert "sent at the next sync" in out
    code, out, err = cli("sync")
    assert code == 1
    assert err.startswith("moderator-app: offline: hub ")
    assert err.count("\n") == 1
    status = json.loads(cli("status", "--json")[1])
    assert status["decisions_unsent"] == 1
    assert "unreachable" in status["last_error"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("decide", "1", "refuse"), "needs the charter clause"),
        (("decide", "1", "refuse", "--reason", "nope"), "unknown charter clause 'nope'"),
        (("decide", "999", "accept"), "not in the local cache"),
        (("undo", "00000000-0000-4000-8000-000000000000"), "no local decision"),
        (("sync", "--claim", "-1"), "--claim"),
        (("login", "--server", "ftp://hub", "--user", "alice", "--token-stdin"), "not a hub"),
        (("login", "--server", "http://127.0.0.1:9", "--user", " ", "--token-stdin"), "empty"),
    ],
)
def test_failures_are_one_line_with_exit_code_1(
    cli: Cli, hub: Hub, argv: tuple[str, ...], message: str
) -> None:
    hub.seed(1)
    _login(cli, hub)
    cli("sync")
    code, out, err = cli(*argv)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


def test_unreachable_hub_fails_in_one_line(cli: Cli, home: Path) -> None:
    from moderator_app.core.account import Account, save_account

    save_account(home, Account(hub_url="http://127.0.0.1:9", user="alice"))
    code, _, err = cli("sync", "--token-stdin", stdin="token")
    assert code == 1
    assert err.count("\n") == 1
    assert "unreachable after 4 attempts" in err


def test_login_to_an_unreachable_hub_says_the_login_failed(cli: Cli, home: Path) -> None:
    code, out, err = cli(
        "login", "--server", "http://127.0.0.1:9", "--user", "alice", "--token-stdin", stdin="t"
    )
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("moderator-app: cannot log in: hub http://127.0.0.1:9 did not answer (")
    assert "offline" not in err
    assert not (home / "account.json").exists()


def test_decide_refuses_control_characters_in_a_correction(cli: Cli, hub: Hub) -> None:
    ids = hub.seed(1)
    _login(cli, hub)
    cli("sync")
    code, out, err = cli("decide", str(ids[0]), "accept", "--content", "Il faut \x01\x02 ctrl")
    assert (code, out) == (1, "")
    assert err == (
        "moderator-app: the corrected text contains a control character (U+0001) at "
        "character 9; remove it\n"
    )
    code, out, _ = cli("status", "--json")
    assert json.loads(out)["decisions_unsent"] == 0


def test_undo_conflicts_and_drop_by_proposal_id(cli: Cli, hub: Hub) -> None:
    first, second = hub.seed(2)
    _login(cli, hub)
    cli("sync")
    assert cli("decide", str(first), "accept")[0] == 0
    code, out, err = cli("undo", str(first))
    assert (code, err) == (0, "")
    assert out == f"undone: accept on proposal {first}\n"
    code, _, err = cli("undo", str(first))
    assert code == 1
    assert f"proposal {first} has no local decision waiting to be sent" in err
    with pytest.raises(SystemExit) as raised:
        cli("undo", "not-an-id")
    assert raised.value.code == 2

    hub.decide_as("bob", second, "refuse")  # bob decides it first, at the hub
    code, out, _ = cli("decide", str(second), "accept", "--json")
    decision_id = json.loads(out)["id"]
    code, out, _ = cli("sync")
    assert code == 0
    assert "review them with `moderator-app conflicts`" in out
    code, out, _ = cli("conflicts", "--json")
    assert code == 0
    [conflict] = json.loads(out)
    assert conflict["decision_id"] == decision_id
    assert conflict["proposal_id"] == second
    assert conflict["outcome"] == "accept"
    assert conflict["conflict_kind"] == "decided_by_other"
    assert conflict["hub_status"] == "refused"
    assert conflict["hub_decision_moderator"] == "bob"
    code, out, _ = cli("conflicts")
    assert f"{second}  yours: accept" in out
    assert "hub: refused by bob" in out

    code, out, err = cli("drop", str(second))
    assert (code, err) == (0, "")
    assert out == f"dropped: your accept on proposal {second}\n"
    assert json.loads(cli("conflicts", "--json")[1]) == []
    assert cli("conflicts")[1] == "no conflicted decisions\n"
    assert json.loads(cli("status", "--json")[1])["conflicts"] == 0
    code, _, err = cli("drop", decision_id)
    assert code == 1
    assert f"no conflicted decision {decision_id}" in err


def _run(*argv: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moderator_app", "--home", str(home), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_exit_codes_from_a_real_process(home: Path) -> None:
    fresh = _run("status", "--json", home=home)
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout)["hub"] is None
    usage = _run("proposals", "--limit", "0", home=home)
    assert usage.returncode == 2
    assert "--limit" in usage.stderr


def test_usage_errors_exit_2(cli: Cli) -> None:
    for argv in (
        ("decide", "abc", "accept"),
        ("decide", "1", "ban"),
        ("proposals", "--limit", "x"),
    ):
        with pytest.raises(SystemExit) as raised:
            cli(*argv)
        assert raised.value.code == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only() -> None:
    from moderator_app.commands.sync import TerminalProgress
    from moderator_app.core.sync import SyncProgress

    terminal = _Terminal()
    progress = TerminalProgress(terminal)
    progress(SyncProgress("pull", 1_000, 1_000))
    progress(SyncProgress("pull", 2_000, 2_000))
    progress.finish()
    shown = terminal.getvalue()
    assert "\rfetched 1000 proposals…" in shown
    assert "\rfetched 2000 proposals…" in shown
    assert shown.endswith("\r\x1b[K")  # the line is cleared before the summary
    piped = io.StringIO()
    quiet = TerminalProgress(piped)
    quiet(SyncProgress("pull", 1_000, 1_000))
    quiet.finish()
    assert piped.getvalue() == ""


@pytest.mark.parametrize("damage", ["{not json", '["a list"]', '"a string"', "null"])
def test_damaged_account_file_says_how_to_fix_it(cli: Cli, home: Path, damage: str) -> None:
    home.mkdir(parents=True)
    (home / "account.json").write_text(damage, encoding="utf-8")
    code, _, err = cli("sync")
    assert code == 1
    assert "account.json is damaged; run `moderator-app login` again" in err


def test_switching_user_with_unsent_decisions_is_refused(cli: Cli, hub: Hub) -> None:
    ids = hub.seed(2)
    _login(cli, hub, "alice")
    cli("sync")
    assert cli("decide", str(ids[0]), "accept")[0] == 0
    code, _, err = _login(cli, hub, "bob")
    assert code == 1
    assert "unsent decisions by alice" in err
    assert cli("sync")[0] == 0  # alice sends them ...
    assert _login(cli, hub, "bob")[0] == 0  # ... then bob may use this directory
    assert hub.proposal(ids[0]).decision.moderator == "alice"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Il faut\r\nBcc: x@example.org", "Il faut  Bcc: x@example.org"),
        ("a\x1b[2Jb\x00c\x7fd", "a [2Jb c d"),
        ("txt\u202egnp.exe", "txtgnp.exe"),
        ("\u2066isolé\u2069 \u200fmark", "isolé mark"),
        ("<b>gras</b>", "<b>gras</b>"),
        ("x" * 100, "x" * 69 + "…"),
    ],
)
def test_listing_prints_hostile_text_on_one_inert_line(text: str, shown: str) -> None:
    from moderator_app.commands.proposals import one_line

    assert one_line(text, 70) == shown


def test_support_staff_cannot_decide_even_offline(cli: Cli, hub: Hub) -> None:
    # The hub would refuse a support user's decisions at every sync; say so before recording one.
    ids = hub.seed(1)
    assert _login(cli, hub, "sam")[0] == 0
    assert cli("sync")[0] == 0
    code, _, err = cli("decide", str(ids[0]), "refuse", "--reason", "off-topic")
    assert code == 1
    assert "sam is support" in err
    assert err.count("\n") == 1
    status = json.loads(cli("status", "--json")[1])
    assert status["decisions_unsent"] == 0
