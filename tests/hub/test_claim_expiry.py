"""Claims expire: an expired claim goes to the next claimer, a stale holder then conflicts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from moderation_hub.embedded import EmbeddedHub
from tests.hub.conftest import Api, claim, decide, decision, seed


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def hub(db_url: str, clock: FakeClock) -> Iterator[EmbeddedHub]:
    with EmbeddedHub(db_url=db_url, clock=clock) as running:
        yield running


def test_expired_claim_goes_to_the_next_moderator(
    hub: EmbeddedHub, question: str, make_api: Any, clock: FakeClock
) -> None:
    seed(hub, question, 1)
    alice, bob = make_api("moderator"), make_api("moderator")
    (held,) = claim(alice, question, ttl_seconds=60)
    assert claim(bob, question) == []
    clock.advance(61)
    assert alice.get(f"/proposals/{held['id']}").json()["claim"] is None
    assert alice.get(f"/proposals/{held['id']}").json()["author_email"] is None
    assert alice.post("/claims/renew", json={}).json()["items"] == []
    (taken,) = claim(bob, question)
    assert taken["id"] == held["id"]
    (late,) = decide(alice, decision(held, "accept", decided_at=clock.now.isoformat()))
    assert late["status"] == "conflict"
    assert late["conflict"] == "claimed_by_other"
    assert (
        decide(bob, decision(taken, "refuse", decided_at=clock.now.isoformat()))[0]["status"]
        == "applied"
    )


def test_decision_after_own_expired_claim_is_accepted_when_nobody_took_over(
    hub: EmbeddedHub, question: str, make_api: Any, clock: FakeClock
) -> None:
    seed(hub, question, 1)
    alice: Api = make_api("moderator")
    (held,) = claim(alice, question, ttl_seconds=60)
    clock.advance(3600)  # alice worked offline past her lease; nobody else claimed it
    (result,) = decide(alice, decision(held, "accept", decided_at=clock.now.isoformat()))
    assert result["status"] == "applied"
