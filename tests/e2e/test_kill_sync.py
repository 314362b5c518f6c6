"""Durability: `moderator-app sync` killed with SIGKILL at random moments loses nothing and
applies nothing twice.

A real hub runs in this process on loopback; each round the moderator decides more proposals
(some while the sync runs), the platform adds more, and a real `moderator-app sync` process is
killed at a random instant of its run. A last sync must then leave every decision applied at the
hub exactly once and the cache identical to the hub.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from moderation_hub import wire
from moderation_hub.embedded import EmbeddedHub
from moderator_app.core.account import Account, save_account
from moderator_app.core.database import cache_path, open_database
from moderator_app.core.models import ACTIVE_SYNC_STATES, Decision, Proposal
from moderator_app.core.sync import run_sync
from moderator_app.core.triage import CharterRef, decide

KILLS_WANTED = 20
MAX_ROUNDS = 45
CHARTER = CharterRef.of("1.0.0", {"off-topic"})

# Imports everything first, says "ready", then runs the real CLI once the token arrives, so the
# random kill lands inside the sync rather than in interpreter start-up.
_SYNC_PROCESS = """
import sys
from moderator_app.cli import build_parser, main
build_parser()  # imports every command module
print("ready", flush=True)
sys.exit(main(["sync", "--token-stdin"]))
"""


def _proposals(start: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "external_id": f"kill-{number}",
            "content": f"Il faut un accompagnement vers l'emploi numéro {number}",
            "author_first_name": "Ana",
            "language": "fr",
            "created_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=number),
        }
        for number in range(start, start + count)
    ]


def _decide_some(home: Path, count: int, rng: random.Random) -> int:
    with open_database(cache_path(home)) as database:
        with database.session() as session:
            undecided = session.scalars(
                select(Proposal.id)
                .where(Proposal.status == "pending")
                .where(~select(Decision.id).where(Decision.proposal_id == Proposal.id).exists())
                .order_by(Proposal.id)
                .limit(count)
            ).all()
        for proposal_id in undecided:
            outcome = rng.choice(["accept", "refuse", "postpone"])
            decide(
                database,
                proposal_id,
                outcome,
                moderator="alice",
                charter=CHARTER,
                clause_id="off-topic" if outcome == "refuse" else None,
            )
    return len(undecided)


def _spawn_sync(environment: dict[str, str]) -> subprocess.Popen[str]:
    """Start a sync process; it imports while the test prepares the round."""
    return subprocess.Popen(
        [sys.executable, "-c", _SYNC_PROCESS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def _when_ready(process: subprocess.Popen[str]) -> subprocess.Popen[str]:
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", _finish(process)[1]
    return process


def _send_token(process: subprocess.Popen[str], token: str) -> None:
    assert process.stdin is not None
    process.stdin.write(token + "\n")
    process.stdin.close()


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stdout is not None
    assert process.stderr is not None
    err = process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    return process.returncode, err


def _hub_state(hub: EmbeddedHub, token: str) -> dict[int, tuple[int, str, int, str | None]]:
    rows: dict[int, tuple[int, str, int, str | None]] = {}
    cursor = 0
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            response = client.get(
                f"{hub.api_url}/proposals", params={"since": cursor, "limit": 1000}
            )
            page = wire.ProposalPage.model_validate_json(response.content)
            for item in page.items:
                decision = str(item.decision.id) if item.decision else None
                rows[item.id] = (item.version, item.status, item.seq, decision)
            cursor = page.next_cursor
            if not page.has_more:
                return rows


def _feed(hub: EmbeddedHub, token: str) -> list[str]:
    ids: list[str] = []
    cursor = 0
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            response = client.get(
                f"{hub.api_url}/decisions", params={"since": cursor, "limit": 1000}
            )
            page = wire.FeedPage.model_validate_json(response.content)
            ids += [str(item.decision_id) for item in page.items]
            cursor = page.next_cursor
            if not page.has_more:
                return ids


@pytest.mark.slow
def test_sync_killed_at_random_moments_loses_nothing_and_applies_once(tmp_path: Path) -> None:
    seed = int(os.environ.get("MODERATION_KILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    home = tmp_path / "home"
    with EmbeddedHub(db_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}") as hub:
        token = hub.add_user("alice", "moderator")
        lead = hub.add_user("lead", "lead")
        platform = hub.add_user("platform", "platform")
        hub.add_question("insertion", title="Comment améliorer l'insertion ?", language="fr")
        ingested = 600
        hub.ingest(question="insertion", proposals=_proposals(0, ingested))
        save_account(home, Account(hub_url=hub.url, user="alice"))
        environment = {
            **os.environ,
            "MODERATOR_APP_HOME": str(home),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }
        with open_database(cache_path(home)) as database, httpx.Client(timeout=30) as http:
            assert run_sync(database, http, hub_url=hub.url, token=token, moderator="alice").online

        # One unkilled run tells how long a round's sync lasts on this machine.
        decided = _decide_some(home, 25, rng)
        process = _when_ready(_spawn_sync(environment))
        started = time.monotonic()
        _send_token(process, token)
        code, err = _finish(process)
        assert code == 0, err
        duration = time.monotonic() - started

        kills = 0
        rounds = 0
        upcoming = _spawn_sync(environment)
        while kills < KILLS_WANTED and rounds < MAX_ROUNDS:
            rounds += 1
            decided += _decide_some(home, 20, rng)
            hub.ingest(question="insertion", proposals=_proposals(ingested, 150))
            ingested += 150
            process = _when_ready(upcoming)
            upcoming = _spawn_sync(environment)  # imports while this round runs
            _send_token(process, token)
            if rng.random() < 0.3:  # the moderator keeps working while the sync runs
                decided += _decide_some(home, 5, rng)
            time.sleep(rng.uniform(0, duration))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            code, err = _finish(process)
            assert code in (0, -signal.SIGKILL), err
        assert kills >= KILLS_WANTED, f"only {kills} kills in {rounds} rounds (seed {seed})"

        process = _when_ready(upcoming)
        _send_token(process, token)
        code, err = _finish(process)
        assert code == 0, err

        with open_database(cache_path(home)) as database, database.session() as session:
            local = {d.id: d for d in session.scalars(select(Decision)).all()}
            proposals = {
                p.id: (p.version, p.status, p.seq, p.hub_decision_id)
                for p in session.scalars(select(Proposal)).all()
            }
            with closing(session.connection().connection.cursor()) as cursor:  # type: ignore[union-attr]
                cursor.execute("PRAGMA integrity_check")
                assert cursor.fetchall() == [("ok",)]
        assert len(local) == decided
        waiting = [d.id for d in local.values() if d.sync_state in ACTIVE_SYNC_STATES]
        assert waiting == [], f"seed {seed}"
        assert {d.sync_state for d in local.values()} == {"applied"}, f"seed {seed}"
        feed = _feed(hub, platform)
        assert sorted(feed) == sorted(local), f"seed {seed}"  # each applied exactly once
        hub_rows = _hub_state(hub, lead)
        assert proposals == hub_rows, f"seed {seed}"  # no change skipped by a resumed pull
        for decision in local.values():
            assert hub_rows[decision.proposal_id][3] == decision.id
