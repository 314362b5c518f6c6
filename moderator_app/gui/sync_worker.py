"""Sync on one worker thread, never on the GUI thread.

One QThread runs one worker object; jobs run there one after another, so the network and the
sync's database writes never block painting or typing. The worker talks to the cache only through
the core's `Database` (a session per step, its own pooled connection), and reports back with
signals; the GUI thread refreshes what changed when `finished` arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from moderator_app.core.errors import UserError

# A sync job: (claim count, progress callback(phase, done)) -> (the core's SyncReport, a
# one-line note: the mails sent afterwards, a token remembered; None when there is nothing).
Progress = Callable[[str, int], None]
SyncRunner = Callable[[int, Progress], tuple[Any, str | None]]


@dataclass(frozen=True)
class SyncOutcome:
    """What a finished sync tells the window."""

    report: Any | None
    error: str | None = None
    mail: str | None = None

    @property
    def online(self) -> bool:
        return self.error is None and bool(getattr(self.report, "online", False))


class _Worker(QObject):
    progressed = Signal(str, int)
    finished = Signal(object)

    def __init__(self, runner: SyncRunner) -> None:
        super().__init__()
        self._runner = runner

    @Slot(int)
    def run(self, claim: int) -> None:
        try:
            report, mail = self._runner(claim, self.progressed.emit)
        except UserError as error:
            self.finished.emit(SyncOutcome(report=None, error=error.message))
            return
        except Exception as error:  # a bug: keep the window alive, say what happened
            self.finished.emit(SyncOutcome(report=None, error=f"sync failed: {error!r}"))
            return
        self.finished.emit(SyncOutcome(report=report, mail=mail))


class SyncController(QObject):
    """Starts syncs on the worker thread; at most one runs, one more may be queued."""

    started = Signal()
    progressed = Signal(str, int)
    finished = Signal(object)  # SyncOutcome
    _request = Signal(int)

    def __init__(self, runner: SyncRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("sync-worker")
        self._worker = _Worker(runner)
        self._worker.moveToThread(self._thread)
        self._request.connect(self._worker.run)
        self._worker.progressed.connect(self.progressed)
        self._worker.finished.connect(self._on_finished)
        self._running = False
        self._queued_claim: int | None = None
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._running

    def request(self, claim: int = 0) -> None:
        """Sync now (claiming `claim` more proposals); queued if a sync is already running."""
        if self._running:
            self._queued_claim = max(self._queued_claim or 0, claim)
            return
        self._running = True
        self.started.emit()
        self._request.emit(claim)

    def _on_finished(self, outcome: SyncOutcome) -> None:
        self._running = False
        self.finished.emit(outcome)
        if self._queued_claim is not None:
            claim, self._queued_claim = self._queued_claim, None
            self.request(claim)

    def shutdown(self) -> None:
        """Let a running sync finish its step and stop the thread (called when closing)."""
        self._queued_claim = None
        self._thread.quit()
        self._thread.wait()
