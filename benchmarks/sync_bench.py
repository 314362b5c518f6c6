"""Desktop-core speed: first sync, no-op sync, full-text search (figures in benchmarks/README.md).

    .venv/bin/python benchmarks/sync_bench.py                 # 100,000 synced, 1,000,000 searched
    .venv/bin/python benchmarks/sync_bench.py --proposals 20000 --fts-rows 100000   # quick

1. First sync of N proposals from a hub on loopback (an EmbeddedHub in this process; the client
   runs in a child process so its peak RSS is its own). Floor, same run: the same rows inserted
   straight into a fresh cache (same schema, same FTS triggers) with one executemany.
2. Incremental sync with nothing new: median of 20.
3. Full-text search over M cached proposals (rows written straight into the cache): median over
   a mix of common, rare, two-word and prefix queries, for `search_ids` (ids, oldest first)
   and `list_proposals(search=...)` (the rows the CLI prints, 50 of them). Also, on the same
   cache: the `status` counters and the oldest 50 proposals (`proposals --limit 50`).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WORDS = [
    "formation",
    "emploi",
    "insertion",
    "détenus",
    "prison",
    "sortie",
    "accompagnement",
    "entreprise",
    "stage",
    "métier",
    "apprentissage",
    "logement",
    "santé",
    "addiction",
    "suivi",
    "conseiller",
    "réinsertion",
    "travail",
    "chantier",
    "numérique",
    "permis",
    "mobilité",
    "association",
    "bénévole",
    "tuteur",
    "parrainage",
    "diplôme",
    "compétences",
    "orientation",
    "justice",
    "probation",
    "peine",
    "aménagement",
    "casier",
    "discrimination",
    "employeur",
    "contrat",
    "salaire",
    "atelier",
    "cuisine",
    "menuiserie",
    "agriculture",
    "bâtiment",
    "transport",
    "informatique",
    "langue",
    "lecture",
    "écriture",
    "mathématiques",
    "sport",
    "culture",
    "famille",
    "enfants",
    "dignité",
    "confiance",
    "réseau",
]
RARE = [f"rareterme{n}" for n in range(2_000)]


def _content(rng: random.Random, number: int) -> str:
    # Zipf-like: a few words are everywhere, most are uncommon; one rare word per proposal.
    words = [WORDS[min(int(rng.paretovariate(1.2)) - 1, len(WORDS) - 1)] for _ in range(12)]
    words.insert(rng.randrange(len(words)), RARE[number % len(RARE)])
    return "Il faut " + " ".join(words)


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- child: the client ------------------------------------------------------------------------


def _instrument() -> dict[str, float]:
    """Wrap the sync's steps with timers (first sync only: the caller clears them)."""
    from collections import defaultdict
    from concurrent.futures import Future

    from moderator_app.core import hubclient, sync

    spent: dict[str, float] = defaultdict(float)

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started

        setattr(owner, name, wrapper)

    timed(hubclient.HubClient, "_request", "fetch_http")
    timed(hubclient.HubClient, "_parse", "fetch_parse")
    timed(sync, "store_items", "store")
    timed(Future, "result", "main_waits_for_page")
    return spent


def client(hub_url: str, token: str, workdir: Path) -> None:
    import httpx
    from sqlalchemy import text

    from moderator_app.core.database import cache_path, open_database
    from moderator_app.core.sync import _PROPOSAL_COLUMNS, run_sync

    result: dict[str, Any] = {}
    spent = _instrument()
    with open_database(cache_path(workdir / "home")) as database, httpx.Client(timeout=60) as http:
        started = time.perf_counter()
        cpu_started = time.process_time()
        report = run_sync(database, http, hub_url=hub_url, token=token, moderator="bench")
        result["first_sync_s"] = time.perf_counter() - started
        # The client's own CPU (both threads): less sensitive to the shared box's load.
        result["first_sync_client_cpu_s"] = time.process_time() - cpu_started
        # Where it went: the fetch thread waits for the hub (HTTP) and parses; the main thread
        # stores and waits for the next page when the fetch is the slower of the two.
        result |= {f"{name}_s": round(seconds, 3) for name, seconds in spent.items()}
        spent.clear()
        result["pulled"] = report.pulled
        result["peak_rss_mb"] = _peak_rss_mb()
        noop = []
        for _ in range(20):
            started = time.perf_counter()
            again = run_sync(database, http, hub_url=hub_url, token=token, moderator="bench")
            noop.append(time.perf_counter() - started)
            assert again.pulled == 0
        result["noop_sync_ms"] = statistics.median(noop) * 1000
        with database.session() as session:
            rows = session.execute(
                text(f"SELECT {', '.join(_PROPOSAL_COLUMNS)} FROM proposals ORDER BY seq")
            ).all()
    # Floor: the same rows straight into a fresh cache, one transaction.
    with open_database(cache_path(workdir / "floor")) as floor:
        placeholders = ", ".join("?" for _ in _PROPOSAL_COLUMNS)
        started = time.perf_counter()
        cpu_started = time.process_time()
        with floor.write() as session:
            session.connection().exec_driver_sql(
                f"INSERT INTO proposals ({', '.join(_PROPOSAL_COLUMNS)}) VALUES ({placeholders})",
                [tuple(row) for row in rows],
            )
        result["floor_insert_s"] = time.perf_counter() - started
        result["floor_cpu_s"] = time.process_time() - cpu_started
    print(json.dumps(result))


# -- parent -----------------------------------------------------------------------------------


def bench_sync(count: int, workdir: Path) -> dict[str, Any]:
    from moderation_hub.embedded import EmbeddedHub

    rng = random.Random(7)
    with EmbeddedHub(db_url=f"sqlite:///{workdir / 'hub.sqlite3'}") as hub:
        token = hub.add_user("bench", "moderator")
        hub.add_question("insertion", title="Comment améliorer l'insertion ?", language="fr")
        started = time.perf_counter()
        base = datetime(2026, 1, 1, tzinfo=UTC)
        for start in range(0, count, 10_000):
            hub.ingest(
                question="insertion",
                proposals=[
                    {
                        "external_id": f"b{n}",
                        "content": _content(rng, n),
                        "author_first_name": "Ana",
                        "language": "fr",
                        "created_at": base + timedelta(seconds=n),
                    }
                    for n in range(start, min(start + 10_000, count))
                ],
            )
        seeding = time.perf_counter() - started
        child = subprocess.run(
            [sys.executable, __file__, "--client", hub.url, token, str(workdir)],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, Any] = json.loads(child.stdout)
    result["hub_seeding_s"] = seeding
    return result


def bench_fts(count: int, workdir: Path) -> dict[str, Any]:
    from moderator_app.core.database import cache_path, open_database
    from moderator_app.core.models import format_utc
    from moderator_app.core.queries import list_proposals, search_ids, status

    rng = random.Random(11)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    result: dict[str, Any] = {}
    with open_database(cache_path(workdir / "fts")) as database:
        started = time.perf_counter()
        for start in range(0, count, 50_000):
            rows = [
                (
                    n + 1,
                    f"f{n}",
                    "insertion",
                    _content(rng, n),
                    "fr",
                    format_utc(base + timedelta(seconds=n)),
                    "pending",
                    1,
                    "Ana",
                    0,
                    n + 1,
                )
                for n in range(start, min(start + 50_000, count))
            ]
            with database.write() as session:
                session.connection().exec_driver_sql(
                    "INSERT INTO proposals (id, external_id, question, content, language, "
                    "created_at, status, version, author_first_name, author_reachable, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        result["fts_build_s"] = time.perf_counter() - started
        queries = (
            [WORDS[i] for i in (0, 1, 2, 5, 10, 20, 40, 55)]  # common to uncommon
            + [RARE[i] for i in (3, 500, 1999)]  # one proposal in 2,000
            + ["formation emploi", "accompagnement sortie prison", "menuis", "numérique permis"]
            + ["atelier cuisine menuiserie", "insertion", "rareterme12 formation"]
        )
        now = datetime.now(UTC)
        with database.session() as session:
            for query in queries:  # warm the page cache once
                search_ids(session, query, 50)
            ids_times, list_times = [], []
            for _ in range(5):
                for query in queries:
                    started = time.perf_counter()
                    search_ids(session, query, 50)
                    ids_times.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    list_proposals(session, now=now, search=query, limit=50)
                    list_times.append(time.perf_counter() - started)
            status_times, oldest_times = [], []
            for _ in range(20):
                started = time.perf_counter()
                status(session, hub_url=None, user="bench", now=now)
                status_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                list_proposals(session, now=now, limit=50)
                oldest_times.append(time.perf_counter() - started)
        result["status_median_ms"] = statistics.median(status_times) * 1000
        result["list_oldest_50_median_ms"] = statistics.median(oldest_times) * 1000
        result["fts_rows"] = count
        result["search_ids_median_ms"] = statistics.median(ids_times) * 1000
        result["search_ids_p90_ms"] = statistics.quantiles(ids_times, n=10)[-1] * 1000
        result["list_search_median_ms"] = statistics.median(list_times) * 1000
        result["list_search_p90_ms"] = statistics.quantiles(list_times, n=10)[-1] * 1000
        result["fts_db_mb"] = database.path.stat().st_size / 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proposals", type=int, default=100_000)
    parser.add_argument("--fts-rows", type=int, default=1_000_000)
    parser.add_argument("--client", nargs=3, metavar=("HUB_URL", "TOKEN", "WORKDIR"))
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument("--skip-fts", action="store_true")
    args = parser.parse_args()
    if args.client:
        client(args.client[0], args.client[1], Path(args.client[2]))
        return
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        results: dict[str, Any] = {}
        if not args.skip_sync:
            results |= bench_sync(args.proposals, workdir)
            results["first_sync_vs_floor"] = results["first_sync_s"] / results["floor_insert_s"]
        if not args.skip_fts:
            results |= bench_fts(args.fts_rows, workdir)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
