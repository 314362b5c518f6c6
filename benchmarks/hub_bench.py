"""Hub speed on PostgreSQL (run by hand, not in CI).

    .venv/bin/python benchmarks/hub_bench.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Creates a scratch database, serves the hub from a separate process (`moderation-hub serve`),
seeds 100,000 proposals, then measures from this process over loopback:
  * claims/s and decisions/s with 16 concurrent clients;
  * the time to serve one page of 1,000 proposals (median);
  * the time to stream all 100,000 proposals by following the cursor.
The floor, measured in the same run, is GET /health (an HTTP round trip that does no database work).
The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text

from moderation_hub import wire
from moderation_hub.storage import HubStorage

CLIENTS = 16
PROPOSALS = 100_000
CLAIM_ROUNDS = 40  # per client
PAGE_RUNS = 30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    name = f"hub_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    try:
        run(url)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


def run(url: str) -> None:
    storage = HubStorage.open(url)
    try:
        storage.add_question("bench", title="Bench", language="fr")
        tokens = {
            "support": storage.add_user("support", "support"),
            **{f"mod{n}": storage.add_user(f"mod{n}", "moderator") for n in range(CLIENTS)},
        }
        started = time.perf_counter()
        base = datetime(2026, 1, 1, tzinfo=UTC)
        for start in range(0, PROPOSALS, wire.MAX_INGEST_PER_BATCH):
            batch = [
                wire.IngestProposal(
                    external_id=f"p{i}",
                    question="bench",
                    content=f"Il faut proposer une formation qualifiante en détention, idée {i}",
                    author_first_name="Camille",
                    author_email=f"c{i}@example.org",
                    author_reachable=True,
                    language="fr",
                    country="FR",
                    created_at=base + timedelta(seconds=i),
                )
                for i in range(start, start + wire.MAX_INGEST_PER_BATCH)
            ]
            storage.ingest("bench", batch)
            if (start // wire.MAX_INGEST_PER_BATCH) % 10 == 9:
                # What autovacuum does on a live database; without it the planner believes the
                # table is still tiny and scans it whole.
                storage.refresh_statistics()
        print(f"seeded {PROPOSALS} proposals in {time.perf_counter() - started:.1f} s")
        print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    finally:
        storage.close()

    server = subprocess.Popen(
        [sys.executable, "-m", "moderation_hub", "serve", "--port", "0", "--db", url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        api = server.stdout.readline().strip() + wire.API_PREFIX
        measure(api, tokens)
    finally:
        server.terminate()
        server.wait(30)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(api: str, tokens: dict[str, str]) -> None:
    support = httpx.Client(
        base_url=api, headers={"Authorization": f"Bearer {tokens['support']}"}, timeout=60
    )
    with support:
        for _ in range(5):  # warm up connections and caches
            support.get("/proposals", params={"limit": 1000})
        floor = statistics.median(timed(lambda: support.get("/health")) for _ in range(PAGE_RUNS))
        page_times = []
        for run in range(PAGE_RUNS):
            since = (run * 3_000) % (PROPOSALS - 1_000)
            page_times.append(
                timed(lambda s=since: support.get("/proposals", params={"since": s, "limit": 1000}))
            )
        page = statistics.median(page_times)
        page_bytes = len(support.get("/proposals", params={"limit": 1000}).content)

        def stream_all(parse: Callable[[bytes], tuple[int, int, bool]]) -> int:
            cursor, count = 0, 0
            while True:
                content = support.get("/proposals", params={"since": cursor, "limit": 1000}).content
                items, cursor, more = parse(content)
                count += items
                if not more:
                    return count

        def with_model(content: bytes) -> tuple[int, int, bool]:
            page = wire.ProposalPage.model_validate_json(content)
            return len(page.items), page.next_cursor, page.has_more

        def with_json(content: bytes) -> tuple[int, int, bool]:
            page = json.loads(content)
            return len(page["items"]), page["next_cursor"], page["has_more"]

        def median_stream(parse: Callable[[bytes], tuple[int, int, bool]]) -> float:
            times = []
            for _ in range(3):
                start = time.perf_counter()
                assert stream_all(parse) >= PROPOSALS
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        stream = median_stream(with_model)
        stream_raw = median_stream(with_json)

    claimed: dict[str, list[dict[str, Any]]] = {}
    claim_seconds = concurrently(
        api, tokens, lambda client, name: claim_loop(client, name, claimed, 1)
    )
    claims = sum(len(v) for v in claimed.values())
    all_ids = [item["id"] for items in claimed.values() for item in items]
    assert len(all_ids) == len(set(all_ids)), "a proposal was claimed twice"
    decide_seconds = concurrently(
        api, tokens, lambda client, name: decide_loop(client, claimed[name], 1)
    )
    decisions = claims
    # How a workbench syncs: 50 proposals per claim, 50 decisions per request.
    batched: dict[str, list[dict[str, Any]]] = {}
    batch_claim_seconds = concurrently(
        api, tokens, lambda client, name: claim_loop(client, name, batched, 50)
    )
    batch_claims = sum(len(v) for v in batched.values())
    batch_decide_seconds = concurrently(
        api, tokens, lambda client, name: decide_loop(client, batched[name], 50)
    )

    print(f"floor GET /health median: {floor * 1000:.2f} ms")
    print(
        f"page of 1,000 proposals median: {page * 1000:.1f} ms "
        f"({page_bytes / 1e6:.2f} MB; {page / floor:.0f}x the floor)"
    )
    print(f"100,000 proposals streamed, parsed as wire.ProposalPage (median of 3): {stream:.2f} s")
    print(f"100,000 proposals streamed, json.loads only (median of 3): {stream_raw:.2f} s")
    print(
        f"claims, {CLIENTS} clients, one proposal per request: {claims} in {claim_seconds:.2f} s "
        f"= {claims / claim_seconds:.0f} claims/s"
    )
    print(
        f"decisions, {CLIENTS} clients, one per request: {decisions} in {decide_seconds:.2f} s "
        f"= {decisions / decide_seconds:.0f} decisions/s"
    )
    print(
        f"claims, {CLIENTS} clients, 50 per request: {batch_claims} in "
        f"{batch_claim_seconds:.2f} s = {batch_claims / batch_claim_seconds:.0f} claimed/s"
    )
    print(
        f"decisions, {CLIENTS} clients, 50 per request: {batch_claims} in "
        f"{batch_decide_seconds:.2f} s = {batch_claims / batch_decide_seconds:.0f} decisions/s"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def concurrently(
    api: str, tokens: dict[str, str], work: Callable[[httpx.Client, str], None]
) -> float:
    """Run work(client, name) for every moderator at once; returns the wall time."""
    names = [n for n in tokens if n.startswith("mod")]
    clients = {
        n: httpx.Client(base_url=api, headers={"Authorization": f"Bearer {tokens[n]}"}, timeout=60)
        for n in names
    }
    barrier = threading.Barrier(len(names) + 1)

    def body(name: str) -> None:
        barrier.wait()
        work(clients[name], name)

    threads = [threading.Thread(target=body, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for client in clients.values():
        client.close()
    return elapsed


def claim_loop(
    client: httpx.Client, name: str, claimed: dict[str, list[dict[str, Any]]], count: int
) -> None:
    mine: list[dict[str, Any]] = []
    rounds = CLAIM_ROUNDS if count == 1 else 4
    for _ in range(rounds):
        response = client.post("/claims", json={"count": count})
        response.raise_for_status()
        mine += response.json()["items"]
    claimed[name] = mine


def decide_loop(client: httpx.Client, items: list[dict[str, Any]], per_request: int) -> None:
    for start in range(0, len(items), per_request):
        body = {
            "decisions": [
                {
                    "id": str(uuid.uuid4()),
                    "proposal_id": item["id"],
                    "proposal_version": item["version"],
                    "outcome": "accept",
                    "charter_version": "1.0.0",
                    "decided_at": datetime.now(UTC).isoformat(),
                }
                for item in items[start : start + per_request]
            ]
        }
        response = client.post("/decisions", json=body)
        response.raise_for_status()
        assert {r["status"] for r in response.json()["results"]} == {"applied"}


if __name__ == "__main__":
    sys.exit(main())
