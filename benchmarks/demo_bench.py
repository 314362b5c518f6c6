"""How long `moderator-app demo` takes before the window can open; run by hand.

    .venv/bin/python benchmarks/demo_bench.py [--runs 5]

Measures, in the same run, the median of:
- floor: an embedded hub started on a fresh SQLite file with the seeded consultation ingested
  (the least a demo must do before a client can see anything);
- demo: the whole `DemoEnvironment` (hub, users, consultation, the colleague's history through the
  HTTP API, mail catcher, login, mail settings) plus the demo moderator's first sync claiming 50;
- corpus: building the 840 seeded proposals alone.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from moderation_hub.embedded import EmbeddedHub
from moderator_app.demo.environment import FIRST_CLAIM, DemoEnvironment
from moderator_app.demo.seed import (
    QUESTION_LANGUAGE,
    QUESTION_SLUG,
    QUESTION_TITLE,
    build_corpus,
    ingest_models,
)


def _time(action: Callable[[Path], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as directory:
            start = time.perf_counter()
            action(Path(directory))
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def floor(directory: Path) -> None:
    corpus = build_corpus(datetime.now(UTC))
    with EmbeddedHub(db_url=f"sqlite:///{directory / 'hub.sqlite3'}") as hub:
        hub.add_question(QUESTION_SLUG, title=QUESTION_TITLE, language=QUESTION_LANGUAGE)
        hub.ingest(question=QUESTION_SLUG, proposals=ingest_models(corpus))


def demo(directory: Path) -> None:
    with DemoEnvironment(directory / "demo") as environment:
        environment.sync(claim=FIRST_CLAIM)


def corpus_only(_directory: Path) -> None:
    build_corpus(datetime.now(UTC))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    corpus_s = _time(corpus_only, runs)
    floor_s = _time(floor, runs)
    demo_s = _time(demo, runs)
    print(f"corpus (840 proposals):        {corpus_s * 1000:7.0f} ms")
    print(f"floor (hub + ingest):          {floor_s * 1000:7.0f} ms")
    print(f"demo ready (incl. first sync): {demo_s * 1000:7.0f} ms")
    print(f"demo / floor:                  {demo_s / floor_s:7.2f}x")


if __name__ == "__main__":
    main()
