"""Hub test fixtures: a database per test module, on SQLite and on PostgreSQL.

PostgreSQL tests create a uniquely named scratch database in the `test` cluster and drop it
afterwards. They skip when the server is unreachable, unless MODERATION_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from moderation_hub import wire
from moderation_hub.embedded import EmbeddedHub

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_admin_url() -> str | None:
    url = os.environ.get("MODERATION_TEST_PG_URL", DEFAULT_PG_URL)
    return None if url == "skip" else url


def _unavailable(reason: str) -> None:
    if os.environ.get("MODERATION_REQUIRE_SERVICES") == "1":
        pytest.fail(f"PostgreSQL is required (MODERATION_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def _scratch_postgres() -> Iterator[str]:
    admin_url = pg_admin_url()
    if admin_url is None:
        _unavailable("MODERATION_TEST_PG_URL=skip")
        return
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    try:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as error:
            _unavailable(str(error).splitlines()[0])
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty hub database for this test module."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('hub') / 'hub.sqlite3'}"
    else:
        yield from _scratch_postgres()


@pytest.fixture(scope="module")
def hub(db_url: str) -> Iterator[EmbeddedHub]:
    with EmbeddedHub(db_url=db_url) as running:
        yield running


class Api:
    """A small authenticated client for one hub user."""

    def __init__(self, hub: EmbeddedHub, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=hub.api_url, headers=headers, timeout=60)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def make_api(hub: EmbeddedHub) -> Iterator[Any]:
    """make_api(role) -> Api for a new user of that role (closed after the test)."""
    clients: list[Api] = []

    def make(role: str, name: str | None = None) -> Api:
        token = hub.add_user(name or f"{role}-{uuid.uuid4().hex[:8]}", role)
        client = Api(hub, token)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def question(hub: EmbeddedHub) -> str:
    """A new question of its own, so tests sharing a hub do not see each other's queue."""
    slug = f"q-{uuid.uuid4().hex[:10]}"
    hub.add_question(
        slug,
        title="Comment améliorer l'insertion professionnelle ?",
        language="fr",
        rewrite_url_template="https://platform.example/{question}/rewrite/{external_id}",
    )
    return slug


_BASE_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def proposal_dicts(
    count: int, *, prefix: str | None = None, start: int = 0
) -> list[dict[str, Any]]:
    """Realistic ingest rows; created_at increases with the index (the queue's order)."""
    tag = prefix or uuid.uuid4().hex[:6]
    return [
        {
            "external_id": f"{tag}-{i}",
            "content": f"Il faut proposer une formation qualifiante n°{i} en détention",
            "author_first_name": "Camille",
            "author_email": f"camille{i}@example.org",
            "author_reachable": True,
            "language": "fr",
            "country": "FR",
            "created_at": (_BASE_TIME + timedelta(minutes=i)).isoformat(),
        }
        for i in range(start, start + count)
    ]


def seed(hub: EmbeddedHub, question: str, count: int) -> list[int]:
    """Ingest `count` proposals into `question`; returns their hub ids in queue order."""
    return [r.id for r in hub.ingest(question=question, proposals=proposal_dicts(count))]


def decision(item: dict[str, Any], outcome: str = "accept", **fields: Any) -> dict[str, Any]:
    """A decision on `item` (a ProposalItem as JSON) with a fresh id."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "proposal_id": item["id"],
        "proposal_version": item["version"],
        "outcome": outcome,
        "charter_version": "1.0.0",
        "decided_at": datetime.now(UTC).isoformat(),
    }
    if outcome == "refuse":
        body["reason"] = "off-topic"
    body.update(fields)
    return body


def claim(api: Api, question: str, count: int = 1, **fields: Any) -> list[dict[str, Any]]:
    response = api.post("/claims", json={"count": count, "question": question, **fields})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def decide(api: Api, *decisions: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.post("/decisions", json={"decisions": list(decisions)})
    assert response.status_code == 200, response.text
    page = wire.DecisionResults.model_validate_json(response.content)
    assert len(page.results) == len(decisions)
    results: list[dict[str, Any]] = response.json()["results"]
    return results
