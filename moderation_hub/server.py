"""Serving the hub with Uvicorn, in the foreground (`moderation-hub serve`) or in a thread."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from moderation_hub.api import create_app
from moderation_hub.storage import HubStorage


class HubServer(uvicorn.Server):
    """A Uvicorn server that reports its actual URL once it listens (useful with port 0)."""

    def __init__(
        self,
        storage: HubStorage,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_started: Callable[[str], None] | None = None,
        log_level: str = "warning",
    ) -> None:
        config = uvicorn.Config(
            create_app(storage),
            host=host,
            port=port,
            lifespan="off",
            log_config=None,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        super().__init__(config)
        self._on_started = on_started
        self.url: str | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started:
            return
        listening = self.servers[0].sockets[0].getsockname()
        host = listening[0]
        if ":" in host:
            host = f"[{host}]"
        self.url = f"http://{host}:{listening[1]}"
        if self._on_started is not None:
            self._on_started(self.url)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Ctrl+C or SIGTERM is the normal way to stop a hub: shut down gracefully and exit 0
        # instead of re-raising the signal after shutdown as Uvicorn does by default.
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True
