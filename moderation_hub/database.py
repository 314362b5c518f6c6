"""Engines and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# Taken by every hub process before migrating a PostgreSQL database, so several hubs starting
# together never run the same revision twice.
_PG_MIGRATION_LOCK_KEY = 7_304_117_215

WRITE_OPTION = "hub_write"


def make_engine(url: str | URL, *, pool_size: int = 20) -> Engine:
    """An engine tuned for the hub: SQLite in WAL mode with serialised writers, or PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
        )
    return create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        # Timestamps come back in UTC, so no per-row time zone conversion is needed.
        connect_args={"options": "-c timezone=UTC"},
    )


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:"):
        raise ValueError("the hub needs a SQLite file, not an in-memory database")
    _create_private_file(Path(database))
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes SQLite's write lock up front: writers queue instead of
        # failing with "database is locked" when two of them upgrade from a read.
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def _create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only (it holds author e-mail addresses and
    token hashes); SQLite gives its -wal and -shm files the same mode. An existing file is left
    as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def alembic_config(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (safe to call from several processes at once)."""
    # On SQLite a write connection (BEGIN IMMEDIATE) makes a second process wait for the first
    # one's migration instead of failing with "database is locked".
    with engine.execution_options(**{WRITE_OPTION: True}).connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK_KEY})
            connection.commit()
        try:
            command.upgrade(alembic_config(connection), "head")
            connection.commit()
        finally:
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK_KEY}
                )
                connection.commit()
