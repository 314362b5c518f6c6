"""The embedded hub other parts use in tests and the demo, and `moderation-hub serve --port 0`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from moderation_hub import wire
from moderation_hub.embedded import EmbeddedHub


def test_embedded_hub_serves_seeded_data_and_stops_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    with EmbeddedHub(db_url=f"sqlite:///{db}") as hub:
        assert hub.url.startswith("http://127.0.0.1:")
        token = hub.add_user("alice", "moderator")
        hub.add_question(
            "insertion",
            title="Insertion",
            language="fr",
            rewrite_url_template="https://platform.example/{question}/rewrite/{external_id}",
        )
        results = hub.ingest(
            question="insertion",
            proposals=[
                {
                    "external_id": "a 1",
                    "content": "Il faut des stages",
                    "author_first_name": "Léa",
                    "language": "fr",
                    "created_at": "2026-01-01T10:00:00+01:00",
                }
            ],
        )
        assert [r.status for r in results] == ["created"]
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
            page = wire.ProposalPage.model_validate_json(
                client.get(f"{hub.api_url}/proposals").content
            )
        (item,) = page.items
        assert item.content == "Il faut des stages"
        assert item.rewrite_url == "https://platform.example/insertion/rewrite/a%201"
        assert item.created_at.utcoffset() is not None
        assert item.created_at.hour == 9  # converted to UTC
        url = hub.url
    # Stopped: the port no longer answers, and the database is released (reopening works).
    try:
        httpx.get(f"{url}/api/v1/health", timeout=2)
        raise AssertionError("the hub still answers after stopping")
    except httpx.TransportError:
        pass
    with EmbeddedHub(db_url=f"sqlite:///{db}") as again:
        assert again.storage.count_proposals() == 1


def test_serve_prints_its_url_first(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "moderation_hub",
            "serve",
            "--port",
            "0",
            "--db",
            f"sqlite:///{tmp_path / 'hub.db'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        health = httpx.get(f"{url}{wire.API_PREFIX}/health", timeout=10)
        assert health.json() == {"status": "ok", "version": "0.1.0"}
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert process.returncode == 0


def test_serve_on_a_busy_port_fails_with_one_clear_line(tmp_path: Path) -> None:
    with EmbeddedHub(db_url=f"sqlite:///{tmp_path / 'first.db'}") as hub:
        port = hub.url.rsplit(":", 1)[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "moderation_hub",
                "serve",
                "--port",
                port,
                "--db",
                f"sqlite:///{tmp_path / 'second.db'}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"could not listen on 127.0.0.1:{port}" in result.stderr
