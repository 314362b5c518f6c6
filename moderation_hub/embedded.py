"""A hub in a background thread, for tests and the demo.

    with EmbeddedHub(db_url="sqlite:///path/hub.db") as hub:
        token = hub.add_user("alice", "moderator")
        hub.add_question("insertion", title="...", language="fr")
        hub.ingest(question="insertion", proposals=[...])
        httpx.get(hub.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})

Leaving the block stops the server and disposes the database engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import httpx

from moderation_hub import wire
from moderation_hub.server import HubServer
from moderation_hub.storage import Clock, HubStorage, utc_now

_START_TIMEOUT_SECONDS = 30


class EmbeddedHub:
    """Migrates the database and serves the hub on a free 127.0.0.1 port in a thread."""

    def __init__(self, db_url: str, *, host: str = "127.0.0.1", clock: Clock = utc_now) -> None:
        self.db_url = db_url
        self._host = host
        self._clock = clock
        self._storage: HubStorage | None = None
        self._server: HubServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def storage(self) -> HubStorage:
        if self._storage is None:
            raise RuntimeError("the embedded hub is not running")
        return self._storage

    @property
    def api_url(self) -> str:
        """The base of every API path, e.g. f"{hub.api_url}/proposals"."""
        return self.url + wire.API_PREFIX

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the embedded hub is already running")
        self._storage = HubStorage.open(self.db_url, clock=self._clock)
        started = threading.Event()
        self._server = HubServer(
            self._storage, host=self._host, port=0, on_started=lambda _url: started.set()
        )
        self._thread = threading.Thread(
            target=self._server.run, name="embedded-moderation-hub", daemon=True
        )
        self._thread.start()
        while not started.wait(0.05):
            if not self._thread.is_alive() or self._server.should_exit:
                self.stop()
                raise RuntimeError("the embedded hub failed to start")
        assert self._server.url is not None
        self.url = self._server.url
        # FastAPI analyses its routes on the first request, silencing a pydantic warning with
        # warnings.catch_warnings(), which is not thread-safe. Make that first request now, while
        # this thread is the only one calling, so that hubs started one after the other never
        # analyse routes concurrently (which lets the warning escape, an error under pytest).
        httpx.get(f"{self.api_url}/health", timeout=_START_TIMEOUT_SECONDS).raise_for_status()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_START_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                raise RuntimeError("the embedded hub did not stop")
        if self._storage is not None:
            self._storage.close()
        self._server = None
        self._thread = None
        self._storage = None

    def __enter__(self) -> EmbeddedHub:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- seeding helpers -------------------------------------------------------------------------

    def add_user(self, name: str, role: str) -> str:
        """Create a user; returns its API token."""
        return self.storage.add_user(name, role)

    def add_question(
        self,
        slug: str,
        *,
        title: str,
        language: str,
        rewrite_url_template: str | None = None,
    ) -> wire.Question:
        return self.storage.add_question(
            slug, title=title, language=language, rewrite_url_template=rewrite_url_template
        )

    def ingest(
        self,
        *,
        question: str,
        proposals: Iterable[wire.IngestProposal | Mapping[str, Any]],
    ) -> list[wire.IngestResult]:
        """Add proposals to `question` (dicts may leave out "question"), as the platform would."""
        items = [
            wire.IngestProposal.model_validate(
                p.model_dump()
                if isinstance(p, wire.IngestProposal)
                else {"question": question, **p}
            )
            for p in proposals
        ]
        results: list[wire.IngestResult] = []
        for start in range(0, len(items), wire.MAX_INGEST_PER_BATCH):
            results += self.storage.ingest(
                "embedded", items[start : start + wire.MAX_INGEST_PER_BATCH]
            )
        return results
