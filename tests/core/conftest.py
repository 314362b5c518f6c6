"""Desktop-core fixtures: a real hub on loopback, a real SQLite cache file, an in-memory keyring."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from moderation_hub import wire
from moderation_hub.embedded import EmbeddedHub
from moderator_app.core.database import Database, cache_path, open_database

QUESTION = "insertion"


class MemoryKeyring(KeyringBackend):
    """A secure-looking keyring that keeps secrets in a dict (one per test)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.secrets[(service, username)]
        except KeyError:
            raise PasswordDeleteError("no such secret") from None


@dataclass
class Hub:
    """The running hub and one token per role."""

    server: EmbeddedHub
    tokens: dict[str, str] = field(default_factory=dict)
    ingested: int = 0

    @property
    def url(self) -> str:
        return self.server.url

    def seed(self, count: int, *, reachable: bool = True) -> list[int]:
        """Ingest `count` new proposals; their hub ids."""
        start = self.ingested
        self.ingested += count
        results = self.server.ingest(
            question=QUESTION,
            proposals=[
                {
                    "external_id": f"ext-{number}",
                    "content": f"Il faut former les détenus au métier numéro {number}",
                    "author_first_name": f"Auteur{number}",
                    "author_email": f"author{number}@example.org",
                    "author_reachable": reachable,
                    "language": "fr",
                    "created_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=number),
                }
                for number in range(start, start + count)
            ],
        )
        return [result.id for result in results]

    def call(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        """One API call as `role` (alice, bob, platform, lead); the decoded JSON answer."""
        with httpx.Client(timeout=10) as client:
            response = client.request(
                method,
                f"{self.server.api_url}{path}",
                headers={"Authorization": f"Bearer {self.tokens[role]}"},
                **kwargs,
            )
        response.raise_for_status()
        return response.json()

    def proposal(self, proposal_id: int) -> wire.ProposalItem:
        return wire.ProposalItem.model_validate(
            self.call("lead", "GET", f"/proposals/{proposal_id}")
        )

    def feed(self) -> list[wire.FeedDecision]:
        """Every decision the hub applied, in order."""
        items: list[wire.FeedDecision] = []
        cursor = 0
        while True:
            page = wire.FeedPage.model_validate(
                self.call("platform", "GET", "/decisions", params={"since": cursor, "limit": 1000})
            )
            items += page.items
            cursor = page.next_cursor
            if not page.has_more:
                return items

    def decide_as(self, role: str, proposal_id: int, outcome: str = "accept") -> Any:
        item = self.proposal(proposal_id)
        decision = wire.DecisionIn(
            id=uuid.uuid4(),
            proposal_id=proposal_id,
            proposal_version=item.version,
            outcome=outcome,  # type: ignore[arg-type]
            reason="off-topic" if outcome == "refuse" else None,
            charter_version="1.0.0",
            decided_at=datetime.now(UTC),
        )
        return self.call(
            role, "POST", "/decisions", json={"decisions": [decision.model_dump(mode="json")]}
        )["results"][0]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with EmbeddedHub(db_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}") as server:
        running = Hub(server)
        for name, role in (
            ("alice", "moderator"),
            ("bob", "moderator"),
            ("platform", "platform"),
            ("lead", "lead"),
            ("sam", "support"),
        ):
            running.tokens[name] = server.add_user(name, role)
        server.add_question(QUESTION, title="Comment améliorer l'insertion ?", language="fr")
        yield running


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cache(home: Path) -> Iterator[Database]:
    with open_database(cache_path(home)) as database:
        yield database


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10.0, connect=2.0)) as client:
        yield client


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    return MemoryKeyring()
