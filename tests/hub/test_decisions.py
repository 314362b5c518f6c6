"""Decisions: applied once, replays answer `duplicate`, every conflict kind, per-item validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from moderation_hub.embedded import EmbeddedHub
from tests.hub.conftest import claim, decide, decision, proposal_dicts, seed


def test_replayed_batch_applies_nothing_twice(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 4)
    moderator, platform = make_api("moderator"), make_api("platform")
    items = claim(moderator, question, 4)
    batch = [
        decision(items[0], "accept"),
        decision(items[1], "refuse", note="Merci de reformuler"),
        decision(items[2], "postpone"),
        decision(items[3], "accept", edited_content="Il faut proposer une formation qualifiante"),
    ]
    feed_before = platform.get("/decisions").json()["next_cursor"]
    first = decide(moderator, *batch)
    assert [r["status"] for r in first] == ["applied"] * 4
    assert [r["current"]["status"] for r in first] == [
        "accepted",
        "refused",
        "postponed",
        "accepted",
    ]
    for _ in range(2):
        replay = decide(moderator, *batch)
        assert [r["status"] for r in replay] == ["duplicate"] * 4
        assert [r["id"] for r in replay] == [d["id"] for d in batch]
        # The same state as after the first answer: nothing was applied again.
        assert [r["current"]["version"] for r in replay] == [r["current"]["version"] for r in first]
    feed = platform.get("/decisions", params={"since": feed_before}).json()["items"]
    assert sorted(f["decision_id"] for f in feed) == sorted(d["id"] for d in batch)
    by_id = {f["decision_id"]: f for f in feed}
    assert by_id[batch[0]["id"]]["published_content"] == items[0]["content"]
    assert by_id[batch[1]["id"]]["clause"] == "off-topic"
    assert by_id[batch[1]["id"]]["published_content"] is None
    corrected = by_id[batch[3]["id"]]
    assert corrected["published_content"] == "Il faut proposer une formation qualifiante"
    assert first[3]["current"]["original_content"] == items[3]["content"]


def test_the_same_decision_twice_in_one_batch(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 1)
    moderator = make_api("moderator")
    (item,) = claim(moderator, question)
    once = decision(item, "accept")
    assert [r["status"] for r in decide(moderator, once, once)] == ["applied", "duplicate"]


def test_conflict_decided_by_other(hub: EmbeddedHub, question: str, make_api: Any) -> None:
    seed(hub, question, 1)
    alice, bob = make_api("moderator"), make_api("moderator")
    (item,) = claim(alice, question, ttl_seconds=60)
    decide(alice, decision(item, "accept"))
    (late,) = decide(bob, decision(item, "refuse"))
    assert late["status"] == "conflict"
    assert late["conflict"] == "decided_by_other"
    assert late["current"]["status"] == "accepted"
    assert late["current"]["decision"]["outcome"] == "accept"


def test_conflict_claimed_by_other(hub: EmbeddedHub, question: str, make_api: Any) -> None:
    seed(hub, question, 1)
    alice, bob = make_api("moderator"), make_api("moderator")
    (item,) = claim(alice, question)
    (result,) = decide(bob, decision(item, "accept"))
    assert result["status"] == "conflict"
    assert result["conflict"] == "claimed_by_other"
    assert result["current"]["status"] == "pending"
    assert result["current"]["claim"]["moderator"] == item["claim"]["moderator"]
    # Alice, who holds the claim, still decides normally.
    assert decide(alice, decision(item, "accept"))[0]["status"] == "applied"


def test_conflict_withdrawn(hub: EmbeddedHub, question: str, make_api: Any) -> None:
    seed(hub, question, 1)
    moderator, platform = make_api("moderator"), make_api("platform")
    (item,) = claim(moderator, question)
    platform.post(f"/proposals/{item['id']}/withdraw")
    (result,) = decide(moderator, decision(item, "refuse"))
    assert result["status"] == "conflict"
    assert result["conflict"] == "withdrawn"
    assert result["current"]["status"] == "withdrawn"


def test_conflict_version_changed(hub: EmbeddedHub, question: str, make_api: Any) -> None:
    moderator, platform = make_api("moderator"), make_api("platform")
    (row,) = proposal_dicts(1)
    platform.post("/proposals", json={"proposals": [{**row, "question": question}]})
    (item,) = claim(moderator, question)
    # The author edits the text while the moderator is offline.
    edited = {**row, "question": question, "content": "Il faut un tout autre texte"}
    platform.post("/proposals", json={"proposals": [edited]})
    stale = decision(item, "accept")
    (result,) = decide(moderator, stale)
    assert result["status"] == "conflict"
    assert result["conflict"] == "version_changed"
    assert result["current"]["content"] == "Il faut un tout autre texte"
    assert result["current"]["version"] == item["version"] + 1
    # A replay of the conflicted decision gets the same conflict, never `duplicate`.
    (replayed,) = decide(moderator, stale)
    assert replayed["status"] == "conflict"
    assert replayed["conflict"] == "version_changed"
    # Deciding on the current version works.
    (fresh,) = decide(moderator, decision(result["current"], "accept"))
    assert fresh["status"] == "applied"


def test_postponed_proposal_can_be_decided_later(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 1)
    moderator = make_api("moderator")
    (item,) = claim(moderator, question)
    (postponed,) = decide(moderator, decision(item, "postpone", note="ask the lead"))
    assert postponed["current"]["status"] == "postponed"
    assert postponed["current"]["claim"] is None
    (final,) = decide(moderator, decision(postponed["current"], "refuse"))
    assert final["status"] == "applied"
    assert final["current"]["status"] == "refused"


def test_each_invalid_item_gets_its_own_result(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 1)
    moderator = make_api("moderator")
    (item,) = claim(moderator, question)
    good = decision(item, "accept")
    no_clause = decision(item, "refuse")
    del no_clause["reason"]
    bad_items: list[Any] = [
        no_clause,
        decision(item, "refuse", edited_content="corrected"),
        decision(item, "accept", reason="off-topic"),
        {**decision(item), "outcome": "delete"},
        {**decision(item), "surprise": True},
        {**decision(item), "note": "a\x00b"},
        {**decision(item), "proposal_id": 987654321},
        {**decision(item), "edited_content": "x" * 10_001},
        {"id": "not-a-uuid"},
        42,
    ]
    results = decide(moderator, *bad_items, good)
    assert [r["status"] for r in results] == ["invalid"] * len(bad_items) + ["applied"]
    fields = [[e["field"] for e in r["errors"]] for r in results[:-1]]
    assert fields[0] == ["reason"]
    assert fields[1] == ["edited_content"]
    assert fields[2] == ["reason"]
    assert fields[3] == ["outcome"]
    assert fields[4] == ["surprise"]
    assert fields[5] == ["note"]
    assert fields[6] == ["proposal_id"]
    assert fields[7] == ["edited_content"]
    assert "id" in fields[8]
    assert results[8]["id"] is None
    assert results[0]["id"] == no_clause["id"]
    # An invalid decision is not recorded: the same id, corrected, is judged afresh (here a
    # conflict, as the good decision above accepted the proposal meanwhile).
    (later,) = decide(moderator, {**no_clause, "reason": "off-topic"})
    assert later["status"] == "conflict"
    assert later["conflict"] == "decided_by_other"


def test_a_decision_id_cannot_be_reused_for_another_proposal(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 2)
    moderator = make_api("moderator")
    first, second = claim(moderator, question, 2)
    applied = decision(first, "accept")
    decide(moderator, applied)
    (reused,) = decide(moderator, {**decision(second, "accept"), "id": applied["id"]})
    assert reused["status"] == "invalid"
    assert reused["errors"][0]["field"] == "id"


def test_decision_feed_pages_in_order(hub: EmbeddedHub, question: str, make_api: Any) -> None:
    seed(hub, question, 5)
    moderator, platform = make_api("moderator"), make_api("platform")
    start = platform.get("/decisions").json()["next_cursor"]
    items = claim(moderator, question, 5)
    decide(moderator, *(decision(i, "accept") for i in items))
    seen: list[int] = []
    cursor = start
    while True:
        page = platform.get("/decisions", params={"since": cursor, "limit": 2}).json()
        seen += [entry["proposal_id"] for entry in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == [i["id"] for i in items]


def test_a_decision_must_cite_a_real_looking_clause_version_and_time(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 1)
    moderator, platform = make_api("moderator"), make_api("platform")
    (item,) = claim(moderator, question)
    feed_before = platform.get("/decisions").json()["next_cursor"]
    now = datetime.now(UTC)
    bad_items = [
        decision(item, "refuse", reason="<script>no such clause\u202e"),
        decision(item, "refuse", reason="Off-Topic"),
        decision(item, "refuse", reason="off--topic"),
        decision(item, "refuse", reason="a" * 65),
        decision(item, "refuse", charter_version="banana"),
        decision(item, "refuse", charter_version="1.0"),
        decision(item, "refuse", charter_version="01.0.0"),
        decision(item, "refuse", decided_at="2099-11-29T20:00:00Z"),
        decision(item, "refuse", decided_at=(now + timedelta(hours=1)).isoformat()),
    ]
    results = decide(moderator, *bad_items)
    assert [r["status"] for r in results] == ["invalid"] * len(bad_items)
    fields = [[e["field"] for e in r["errors"]] for r in results]
    assert fields == [["reason"]] * 4 + [["charter_version"]] * 3 + [["decided_at"]] * 2
    # Nothing of it reached the platform's feed.
    assert platform.get("/decisions", params={"since": feed_before}).json()["items"] == []
    # A clock a minute ahead is tolerated; a plausible clause id and version are applied.
    good = decision(
        item,
        "refuse",
        reason="discriminatory-or-illegal",
        charter_version="1.10.0",
        decided_at=(now + timedelta(minutes=1)).isoformat(),
    )
    (applied,) = decide(moderator, good)
    assert applied["status"] == "applied"
    (entry,) = platform.get("/decisions", params={"since": feed_before}).json()["items"]
    assert (entry["clause"], entry["charter_version"]) == ("discriminatory-or-illegal", "1.10.0")


def test_the_future_is_judged_by_the_hubs_clock(tmp_path: Any) -> None:
    hub_time = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with EmbeddedHub(f"sqlite:///{tmp_path / 'hub.sqlite3'}", clock=lambda: hub_time) as hub:
        hub.add_question("q", title="Question", language="fr")
        seed(hub, "q", 2)
        token = hub.add_user("mod", "moderator")
        with httpx.Client(
            base_url=hub.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            items = http.post("/claims", json={"count": 2, "question": "q"}).json()["items"]
            batch = [
                decision(items[0], decided_at=(hub_time + timedelta(minutes=3)).isoformat()),
                decision(items[1], decided_at=(hub_time + timedelta(minutes=30)).isoformat()),
            ]
            results = http.post("/decisions", json={"decisions": batch}).json()["results"]
    assert [r["status"] for r in results] == ["applied", "invalid"]
    assert results[1]["errors"][0]["field"] == "decided_at"
