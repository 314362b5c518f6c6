"""Two `moderation-hub serve` processes started together on one fresh database (as a team runs
them): both migrate safely at once, and claims through either never overlap."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from moderation_hub import wire
from moderation_hub.storage import HubStorage
from tests.hub.conftest import proposal_dicts


@pytest.fixture
def two_servers(db_url: str) -> Iterator[list[str]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "moderation_hub", "serve", "--port", "0", "--db", db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        urls = []
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("http://127.0.0.1:"), (
                process.stderr.read() if process.stderr else ""
            )
            urls.append(line + wire.API_PREFIX)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.communicate(timeout=30)
            assert process.returncode == 0


def test_two_hub_processes_share_one_database(db_url: str, two_servers: list[str]) -> None:
    storage = HubStorage.open(db_url)
    try:
        storage.add_question("shared", title="Shared", language="fr")
        tokens = [storage.add_user(f"mod{n}", "moderator") for n in range(2)]
        platform = storage.add_user("platform", "platform")
    finally:
        storage.close()
    rows = [{**row, "question": "shared"} for row in proposal_dicts(30)]
    ingested = httpx.post(
        f"{two_servers[0]}/proposals",
        json={"proposals": rows},
        headers={"Authorization": f"Bearer {platform}"},
        timeout=30,
    )
    assert ingested.status_code == 200, ingested.text
    taken: list[int] = []
    for _ in range(4):
        for n, url in enumerate(two_servers):
            response = httpx.post(
                f"{url}/claims",
                json={"count": 5},
                headers={"Authorization": f"Bearer {tokens[n]}"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            taken += [item["id"] for item in response.json()["items"]]
    assert len(taken) == len(set(taken)) == 30
