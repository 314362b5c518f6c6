"""Fixtures: real SMTP servers on loopback (aiosmtpd), the charter, the renderer, a local cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from moderator_app.core.charter import Charter, default_charter_dir, load_charter
from moderator_app.core.database import Database, open_database
from moderator_app.core.mail.render import MailRenderer, default_templates_dir
from moderator_app.core.models import Question
from moderator_app.core.paths import project_root

from .support import LOOPBACK, FreePortController, ScriptedHandler, SmtpServer


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """Start servers on free loopback ports; all stopped cleanly at the end of the test."""
    started: list[Controller] = []

    def start(handler: ScriptedHandler | None = None, **controller_args: Any) -> SmtpServer:
        handler = handler or ScriptedHandler()
        controller = FreePortController(handler, hostname=LOOPBACK, port=0, **controller_args)
        controller.start()
        started.append(controller)
        return SmtpServer(handler, controller)

    yield start
    for controller in started:
        if controller.handler.hold is not None:
            controller.handler.hold.set()
        controller.stop()


@pytest.fixture(scope="session")
def charter() -> Charter:
    return load_charter(default_charter_dir())


@pytest.fixture(scope="session")
def renderer() -> MailRenderer:
    return MailRenderer(default_templates_dir(project_root()))


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(tmp_path / "home" / "cache.sqlite3")
    with db.write() as session:
        session.add(
            Question(
                slug="insertion",
                title="Comment améliorer l'insertion professionnelle des personnes condamnées ?",
                language="fr",
                rewrite_url_template=None,
            )
        )
    yield db
    db.close()
