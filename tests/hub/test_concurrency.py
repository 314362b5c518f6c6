"""Concurrency: claimers racing through two hub servers sharing one database, concurrent replays,
and a change cursor that never skips while others write."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from moderation_hub.embedded import EmbeddedHub
from tests.hub.conftest import Api, claim, decision, proposal_dicts, seed

CLAIMERS = 8
PROPOSALS = 2_000


@pytest.fixture(scope="module")
def second_hub(db_url: str, hub: EmbeddedHub) -> Iterator[EmbeddedHub]:
    """Another hub server on the same database, like a second hub process of a team."""
    with EmbeddedHub(db_url=db_url) as other:
        yield other


def _run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) in threads released at the same moment."""
    barrier = threading.Barrier(count)

    def start(index: int) -> Any:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


def test_concurrent_claimers_never_get_the_same_proposal(
    hub: EmbeddedHub, second_hub: EmbeddedHub, question: str
) -> None:
    ids = seed(hub, question, PROPOSALS)
    clients = [
        Api(hub if n % 2 else second_hub, hub.add_user(f"racer-{question}-{n}", "moderator"))
        for n in range(CLAIMERS)
    ]

    def claim_until_empty(index: int) -> list[int]:
        taken: list[int] = []
        while True:
            batch = claim(clients[index], question, 10)
            if not batch:
                return taken
            taken += [item["id"] for item in batch]

    try:
        per_claimer = _run_together(CLAIMERS, claim_until_empty)
    finally:
        for client in clients:
            client.close()
    everything = [pid for taken in per_claimer for pid in taken]
    duplicates = [pid for pid, n in Counter(everything).items() if n > 1]
    assert duplicates == []
    assert sorted(everything) == sorted(ids)
    assert sum(1 for taken in per_claimer if taken) > 1  # the claimers really competed


def test_concurrent_replays_apply_each_decision_once(
    hub: EmbeddedHub, second_hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 40)
    token = hub.add_user(f"replayer-{question}", "moderator")
    owner = Api(hub, token)
    try:
        batch = [decision(item, "accept") for item in claim(owner, question, 40)]
    finally:
        owner.close()
    senders = [Api(hub if n % 2 else second_hub, token) for n in range(4)]

    def send(index: int) -> list[str]:
        response = senders[index].post("/decisions", json={"decisions": batch})
        assert response.status_code == 200, response.text
        return [r["status"] for r in response.json()["results"]]

    try:
        answers = _run_together(len(senders), send)
    finally:
        for sender in senders:
            sender.close()
    for position in range(len(batch)):
        statuses = sorted(answer[position] for answer in answers)
        assert statuses == ["applied", "duplicate", "duplicate", "duplicate"]
    feed = make_api("platform").get("/decisions", params={"limit": 1000}).json()["items"]
    recorded = Counter(entry["decision_id"] for entry in feed)
    assert all(recorded[d["id"]] == 1 for d in batch)


def test_cursor_never_skips_a_change_under_concurrent_ingest(
    hub: EmbeddedHub, second_hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    reader = make_api("support")
    start = reader.get("/proposals", params={"limit": 1}).json()
    cursor = start["next_cursor"]
    while start["has_more"]:  # skip everything earlier tests wrote
        start = reader.get("/proposals", params={"since": cursor, "limit": 1000}).json()
        cursor = start["next_cursor"]
    start_cursor = cursor
    writers = [make_api("platform") for _ in range(4)]
    claimer = make_api("moderator")
    done = threading.Event()
    ingested: list[int] = []
    seen: dict[int, int] = {}

    def write(index: int) -> None:
        for batch in range(25):
            rows = proposal_dicts(8, prefix=f"w{index}-{batch}")
            body = {"proposals": [{**row, "question": question} for row in rows]}
            api = writers[index]
            response = api.post("/proposals", json=body)
            assert response.status_code == 200, response.text
            ingested.extend(r["id"] for r in response.json()["results"])
            if batch % 5 == 0:  # other kinds of change interleave with the inserts
                claim(claimer, question, 3)

    def read() -> None:
        nonlocal cursor
        while True:
            finished = done.is_set()
            page = reader.get("/proposals", params={"since": cursor, "limit": 50}).json()
            seqs = [item["seq"] for item in page["items"]]
            assert seqs == sorted(seqs)
            assert all(seq > cursor for seq in seqs)
            for item in page["items"]:
                seen[item["id"]] = item["seq"]
            cursor = page["next_cursor"]
            if finished and not page["has_more"]:
                return

    reader_thread = threading.Thread(target=read)
    reader_thread.start()
    try:
        _run_together(len(writers), write)
    finally:
        done.set()
        reader_thread.join()
    assert len(ingested) == 4 * 25 * 8
    assert set(ingested) <= set(seen)
    # The reader's last view of each proposal is its current state.
    final: dict[int, int] = {}
    since, more = start_cursor, True
    while more:
        page = reader.get("/proposals", params={"since": since, "limit": 1000}).json()
        final.update((item["id"], item["seq"]) for item in page["items"])
        since, more = page["next_cursor"], page["has_more"]
    assert {pid: seen[pid] for pid in ingested} == {pid: final[pid] for pid in ingested}


def test_mixed_writers_never_fail_and_decide_each_proposal_once(
    hub: EmbeddedHub, second_hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    """Decision batches over overlapping proposals, withdrawals, edits and claims at once,
    through two hub servers: every request succeeds (no deadlock, no 5xx) and the feed holds
    at most one accept/refuse per proposal."""
    rows = proposal_dicts(120, prefix=f"mix-{question}")
    ids = [r.id for r in hub.ingest(question=question, proposals=rows)]
    lead = make_api("lead")  # a lead may decide without holding the claim
    proposals = {pid: lead.get(f"/proposals/{pid}").json() for pid in ids}
    feed_start = lead.get("/decisions", params={"limit": 1}).json()
    cursor = feed_start["next_cursor"]
    while feed_start["has_more"]:
        feed_start = lead.get("/decisions", params={"since": cursor, "limit": 1000}).json()
        cursor = feed_start["next_cursor"]
    deciders = [
        Api(hub if n % 2 else second_hub, hub.add_user(f"mixer-{question}-{n}", "lead"))
        for n in range(4)
    ]
    platform = make_api("platform")

    def work(index: int) -> None:
        if index < 4:
            api = deciders[index]
            # Overlapping batches, in a different order for each decider.
            chosen = ids[index * 20 : index * 20 + 60]
            batch = [decision(proposals[pid], "accept") for pid in reversed(chosen)]
            response = api.post("/decisions", json={"decisions": batch})
            assert response.status_code == 200, response.text
            assert {r["status"] for r in response.json()["results"]} <= {"applied", "conflict"}
        elif index == 4:
            for pid in ids[::7]:
                response = platform.post(f"/proposals/{pid}/withdraw")
                assert response.status_code == 200, response.text
        else:
            edited = [
                {**row, "question": question, "content": row["content"] + " !"}
                for row in rows[::-5]
            ]
            response = platform.post("/proposals", json={"proposals": edited})
            assert response.status_code == 200, response.text

    try:
        _run_together(6, work)
    finally:
        for api in deciders:
            api.close()
    feed = lead.get("/decisions", params={"since": cursor, "limit": 1000}).json()["items"]
    decided = Counter(entry["proposal_id"] for entry in feed if entry["outcome"] != "postpone")
    assert decided
    assert max(decided.values()) == 1
