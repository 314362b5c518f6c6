"""A hub that answers garbage, errors, drops the connection or hangs: clear outcomes, no crash."""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from moderator_app.cli import main
from moderator_app.commands.sync import RetryNotice
from moderator_app.core.account import Account, save_account
from moderator_app.core.database import Database
from moderator_app.core.hubclient import HubAnswerInvalid, HubClient, HubTimeouts, HubUnreachable
from moderator_app.core.models import HubSyncState
from moderator_app.core.sync import SyncReport, run_sync
from tests.core.conftest import MemoryKeyring


class BadHub(ThreadingHTTPServer):
    """A loopback HTTP server misbehaving in one chosen way."""

    daemon_threads = False

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.hits = 0
        self.release = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: BadHub

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.hits += 1
        mode = self.server.mode
        if mode == "html":
            self._answer(200, b"<html><body>Please log in to the proxy</body></html>", "text/html")
        elif mode == "wrong-json":
            self._answer(200, b'{"items": "nope", "next_cursor": -1}', "application/json")
        elif mode == "huge-garbage":
            self._answer(200, b"\x00\xff" * 500_000, "application/json")
        elif mode == "error":
            self._answer(503, b"upstream down", "text/plain")
        elif mode == "busy":
            self._answer(429, b'{"error": "slow_down", "detail": "too many requests"}', "text/json")
        elif mode == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
        elif mode == "hang":
            self.server.release.wait(10)
            self.close_connection = True

    do_POST = do_GET


@pytest.fixture
def bad_hub(request: pytest.FixtureRequest) -> Iterator[BadHub]:
    server = BadHub(request.param)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        thread.join(10)
        server.server_close()


def _sync(cache: Database, url: str, timeout: float = 5.0) -> SyncReport:
    naps: list[float] = []
    with httpx.Client(timeout=httpx.Timeout(timeout)) as http:
        return run_sync(cache, http, hub_url=url, token="t", moderator="alice", sleep=naps.append)


@pytest.mark.parametrize("bad_hub", ["html", "wrong-json", "huge-garbage"], indirect=True)
def test_garbage_answers_are_one_clear_error(cache: Database, bad_hub: BadHub) -> None:
    with pytest.raises(HubAnswerInvalid) as raised:
        _sync(cache, bad_hub.url)
    message = raised.value.message
    assert bad_hub.url in message
    assert "unreadable answer" in message
    assert "\n" not in message
    assert len(message) < 400
    with cache.session() as session:
        state = session.scalars(select(HubSyncState)).one()
    assert state.last_error == message  # status shows why the last sync failed
    assert state.cursor == 0


@pytest.mark.parametrize(
    ("bad_hub", "reason"),
    [
        ("error", "server error 503"),
        ("busy", "server error 429"),
        ("drop", "unreachable"),
        ("hang", "no answer in time"),
    ],
    indirect=["bad_hub"],
)
def test_failing_hub_is_retried_then_reported_offline(
    cache: Database, bad_hub: BadHub, reason: str
) -> None:
    report = _sync(cache, bad_hub.url, timeout=0.5 if bad_hub.mode == "hang" else 10.0)
    assert report.online is False
    assert reason in (report.offline_reason or "")
    assert bad_hub.hits == 4  # the first try and three retries
    bad_hub.release.set()


@pytest.mark.parametrize("bad_hub", ["hang"], indirect=True)
def test_a_silent_hub_costs_the_deadline_not_every_attempt(bad_hub: BadHub) -> None:
    naps: list[float] = []
    with httpx.Client(timeout=httpx.Timeout(0.3)) as http:
        client = HubClient(
            http, bad_hub.url, "t", sleep=naps.append, attempts=4, deadline_seconds=0.5
        )
        with pytest.raises(HubUnreachable) as raised:
            client.proposals(since=0, limit=10)
    # The first try used 0.3 s; waiting and trying again would pass the 0.5 s deadline.
    assert bad_hub.hits == 1
    assert naps == []
    assert "after 1 attempt (no answer in time)" in raised.value.message


@pytest.mark.parametrize("bad_hub", ["hang"], indirect=True)
def test_each_try_is_cut_at_what_is_left_of_the_deadline(bad_hub: BadHub) -> None:
    # The read timeout alone (30 s) would outlast the hub's own 10 s hang.
    with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0)) as http:
        client = HubClient(http, bad_hub.url, "t", sleep=lambda _s: None, deadline_seconds=0.5)
        with pytest.raises(HubUnreachable) as raised:
            client.me()
    assert raised.value.reason == "no answer in time"
    assert bad_hub.hits == 1


@pytest.mark.parametrize("bad_hub", ["hang"], indirect=True)
def test_each_new_try_is_announced(bad_hub: BadHub) -> None:
    notices: list[tuple[int, int, str]] = []
    with httpx.Client(timeout=httpx.Timeout(0.2)) as http:
        client = HubClient(
            http,
            bad_hub.url,
            "t",
            sleep=lambda _s: None,
            attempts=3,
            deadline_seconds=30.0,
            on_retry=lambda attempt, attempts, reason: notices.append((attempt, attempts, reason)),
        )
        with pytest.raises(HubUnreachable):
            client.questions()
    assert notices == [(2, 3, "no answer in time"), (3, 3, "no answer in time")]
    assert bad_hub.hits == 3


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_retry_notice_shows_on_a_terminal_only() -> None:
    terminal = _Terminal()
    RetryNotice(terminal)(2, 4, "no answer in time")
    assert terminal.getvalue() == (
        "\r\x1b[Kmoderator-app: hub not answering (no answer in time), retrying (2/4)…\n"
    )
    piped = io.StringIO()
    RetryNotice(piped)(2, 4, "no answer in time")
    assert piped.getvalue() == ""


@pytest.mark.parametrize("bad_hub", ["hang"], indirect=True)
def test_sync_command_against_a_silent_hub_ends_in_one_line(
    bad_hub: BadHub, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from moderator_app.commands import sync as sync_command

    monkeypatch.setattr(
        sync_command, "TIMEOUTS", HubTimeouts(connect=0.5, read=0.2, deadline=1.0, attempts=4)
    )
    save_account(home, Account(hub_url=bad_hub.url, user="alice"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("token"))
    code = main(
        ["sync", "--token-stdin"],
        environ={"MODERATOR_APP_HOME": str(home)},
        keyring_backend=MemoryKeyring(),
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "no answer in time" in err
    assert 1 <= bad_hub.hits < 4
