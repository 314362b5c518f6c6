"""Workbench speed with a big cache: keystroke to next proposal painted, and cold start.

    .venv/bin/python benchmarks/gui_bench.py [--count 1000000] [--keys 1000] [--cache DIR]

Builds (once, reused when --cache is given) a cache of COUNT pending proposals, opens the window
offline on it and measures:

- keystroke to painted: J pressed on the queue until the proposal text view has painted the next
  proposal (every step, including the lazy fetch of the next batch of rows when it comes);
  floor: putting the same texts straight into a bare QPlainTextEdit and waiting for its paint;
- cold start: a fresh process from launch to the first proposal painted in the window;
  floor: a fresh process that imports Qt and paints an empty table in a main window.

Run under Xvfb (`xvfb-run -s "-screen 0 1280x800x24"` with QT_QPA_PLATFORM=xcb) or offscreen.
Figures go to benchmarks/README.md by hand.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = [
    "former",
    "accompagner",
    "emploi",
    "détention",
    "sortie",
    "stage",
    "atelier",
    "formation",
    "insertion",
    "entreprise",
    "apprentissage",
    "permis",
    "logement",
    "conseiller",
    "métier",
    "numérique",
    "chantier",
    "diplôme",
    "suivi",
    "parcours",
]


def build_cache(home: Path, count: int) -> None:
    from moderator_app.core.account import Account, save_account
    from moderator_app.core.database import cache_path, open_database

    save_account(home, Account(hub_url="http://127.0.0.1:9", user="bench"))
    path = cache_path(home)
    if path.exists():
        with sqlite3.connect(path) as connection:
            if connection.execute("SELECT count(*) FROM proposals").fetchone()[0] == count:
                return
        raise SystemExit(f"{path} exists with another number of proposals; use a new --cache")
    open_database(path).close()  # schema, triggers and FTS index through the real migrations
    start = datetime(2026, 1, 1, tzinfo=UTC)
    began = time.perf_counter()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("INSERT INTO questions VALUES ('insertion', 'Insertion ?', 'fr', NULL)")
        batch = []
        for number in range(1, count + 1):
            words = " ".join(WORDS[(number * k) % len(WORDS)] for k in (3, 7, 11, 13, 17))
            created = start + timedelta(seconds=number * 7)
            batch.append(
                (
                    number,
                    f"ext-{number}",
                    "insertion",
                    f"Il faut {words} numéro {number}",
                    "fr",
                    created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    f"Auteur{number % 997}",
                    f"a{number}@example.org",
                    number,
                )
            )
            if len(batch) == 50_000:
                _insert(connection, batch)
                batch = []
        _insert(connection, batch)
    print(f"built {count} proposals in {time.perf_counter() - began:.1f} s", file=sys.stderr)


def _insert(connection: sqlite3.Connection, batch: list[tuple[object, ...]]) -> None:
    connection.executemany(
        "INSERT INTO proposals (id, external_id, question, content, original_content, language, "
        "country, created_at, status, version, author_first_name, author_email, "
        "author_reachable, rewrite_url, seq) VALUES (?, ?, ?, ?, NULL, ?, 'FR', ?, 'pending', 1, "
        "?, ?, 1, NULL, ?)",
        batch,
    )


class PaintProbe:
    """Records whether a widget painted since the last reset."""

    def __init__(self, widget: object) -> None:
        from PySide6.QtCore import QEvent, QObject

        class Filter(QObject):
            painted = False

            def eventFilter(self, _watched: object, event: QEvent) -> bool:
                if event.type() == QEvent.Type.Paint:
                    self.painted = True
                return False

        self.filter = Filter()
        widget.installEventFilter(self.filter)  # type: ignore[attr-defined]

    def wait(self, app: object, timeout: float = 5.0) -> None:
        deadline = time.perf_counter() + timeout
        while not self.filter.painted:
            app.processEvents()  # type: ignore[attr-defined]
            if time.perf_counter() > deadline:
                raise RuntimeError("no paint event")
        self.filter.painted = False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def keystrokes(home: Path, keys: int) -> dict[str, float]:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QPlainTextEdit

    from moderator_app.demo.memory_keyring import MemoryKeyring
    from moderator_app.gui.app import application, open_workbench

    app = application()
    window = open_workbench(home, keyring_backend=MemoryKeyring(), ask_token=False)
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    probe = PaintProbe(window.proposal.content.viewport())
    probe.wait(app)
    for _ in range(50):
        app.processEvents()
    times = []
    texts = []
    for _ in range(keys):
        began = time.perf_counter()
        QTest.keyClick(window.queue, Qt.Key.Key_J)
        probe.wait(app)
        times.append((time.perf_counter() - began) * 1000)
        texts.append(window.proposal.content.toPlainText())
    assert window.current_row().id == keys + 1, "every key moved to the next proposal"
    window.close()
    window.services.database.close()

    bare = QPlainTextEdit()
    bare.resize(500, 400)
    bare.show()
    bare_probe = PaintProbe(bare.viewport())
    bare.setPlainText("start")
    bare_probe.wait(app)
    floor = []
    for text in texts:
        began = time.perf_counter()
        bare.setPlainText(text)
        bare_probe.wait(app)
        floor.append((time.perf_counter() - began) * 1000)
    bare.close()
    return {
        "median": statistics.median(times),
        "p99": percentile(times, 0.99),
        "max": max(times),
        "floor_median": statistics.median(floor),
        "floor_p99": percentile(floor, 0.99),
    }


def child_cold_start(home: Path, launched: float) -> None:
    from moderator_app.demo.memory_keyring import MemoryKeyring
    from moderator_app.gui.app import application, open_workbench

    app = application()
    window = open_workbench(home, keyring_backend=MemoryKeyring(), ask_token=False)
    window.resize(1280, 800)
    probe = PaintProbe(window.proposal.content.viewport())
    window.show()
    probe.wait(app)
    assert window.current_row() is not None
    print(time.time() - launched)
    window.close()
    window.services.database.close()


def child_floor(launched: float) -> None:
    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QApplication, QMainWindow, QTableView

    app = QApplication([])
    window = QMainWindow()
    table = QTableView()
    table.setModel(QStandardItemModel(10, 5))
    window.setCentralWidget(table)
    window.resize(1280, 800)
    probe = PaintProbe(table.viewport())
    window.show()
    probe.wait(app)
    print(time.time() - launched)
    window.close()


def cold_starts(home: Path, runs: int, floor: bool) -> list[float]:
    results = []
    for _ in range(runs):
        mode = ["--child-floor"] if floor else ["--child-cold-start", "--cache", str(home)]
        launched = time.time()
        output = subprocess.run(
            [sys.executable, __file__, *mode, "--launched", repr(launched)],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        )
        results.append(float(output.stdout.strip().splitlines()[-1]) * 1000)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--child-cold-start", action="store_true")
    parser.add_argument("--child-floor", action="store_true")
    parser.add_argument("--launched", type=float)
    args = parser.parse_args()
    if args.child_cold_start:
        child_cold_start(args.cache, args.launched)
        return
    if args.child_floor:
        child_floor(args.launched)
        return
    with tempfile.TemporaryDirectory() as scratch:
        home = args.cache or Path(scratch) / "home"
        build_cache(home, args.count)
        starts = cold_starts(home, args.runs, floor=False)
        floors = cold_starts(home, args.runs, floor=True)
        keys = keystrokes(home, args.keys)
    print(f"proposals cached: {args.count}, platform: {os.environ.get('QT_QPA_PLATFORM', '?')}")
    print(
        f"keystroke to next proposal painted ({args.keys} keys): median {keys['median']:.2f} ms, "
        f"p99 {keys['p99']:.2f} ms, max {keys['max']:.2f} ms; floor (bare text view) median "
        f"{keys['floor_median']:.2f} ms, p99 {keys['floor_p99']:.2f} ms; "
        f"ratio {keys['median'] / keys['floor_median']:.1f}x"
    )
    print(
        f"cold start to first proposal painted ({args.runs} runs): median "
        f"{statistics.median(starts):.0f} ms (min {min(starts):.0f}); floor (Qt + empty table) "
        f"median {statistics.median(floors):.0f} ms; ratio "
        f"{statistics.median(starts) / statistics.median(floors):.1f}x"
    )


if __name__ == "__main__":
    main()
    # Skip interpreter teardown: PySide6 can crash while garbage-collecting Qt wrappers at exit,
    # after every figure is printed (a shiboken refcount issue, not the workbench's).
    sys.stdout.flush()
    os._exit(0)
