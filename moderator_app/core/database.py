"""Opening the local cache: a private SQLite file in WAL mode, migrated by Alembic at open.

Errors SQLite reports that a user can act on (locked, disk full, read-only, corrupt, cannot open)
become a `UserError` naming the file; every other database error is a bug and keeps its traceback
(the split qutebrowser's misc/sql.py makes).

A damaged cache is only noticed when a query touches a damaged page, and a listing of 50 rows
touches few. So damage, once seen by any command, is remembered next to the file
(`cache.sqlite3.damaged`, naming that very file) and every later open refuses the same way, until
the file is moved aside; no command pays for a full integrity check.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from moderator_app.core.errors import UserError
from moderator_app.core.paths import ensure_private_dir

if TYPE_CHECKING:
    from alembic.config import Config

CACHE_FILE_NAME = "cache.sqlite3"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest revision in MIGRATIONS_DIR (a test checks it): a cache already there opens without
# importing Alembic (about 0.25 s of every start). If it lags behind, opening is only slower.
SCHEMA_HEAD = "0002"
BUSY_TIMEOUT_SECONDS = 10.0

# SQLite primary result codes (the low byte of an extended code) a user can act on.
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


def cache_path(home: Path) -> Path:
    """Where the cache of the account whose data directory is `home` lives."""
    return home / CACHE_FILE_NAME


class CacheDamaged(UserError):
    """The cache file is damaged (or not a database at all)."""


def damage_marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".damaged")


def _file_identity(path: Path) -> str:
    status = path.stat()
    return f"{status.st_dev}:{status.st_ino}"


def remember_damage(path: Path) -> None:
    """Note that the file now at `path` is damaged (best effort: the disk may be failing)."""
    with contextlib.suppress(OSError):
        damage_marker_path(path).write_text(_file_identity(path), encoding="ascii")


def known_damaged(path: Path) -> bool:
    """Whether damage was seen in the very file now at `path` (a marker left by a file since
    moved aside is removed)."""
    marker = damage_marker_path(path)
    try:
        noted = marker.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError):
        noted = ""
    try:
        if noted == _file_identity(path):
            return True
    except OSError:
        return False
    with contextlib.suppress(OSError):
        marker.unlink()
    return False


def corrupt_message(path: Path) -> str:
    return (
        f"the local cache {path} is damaged or is not a moderator-app database: move it aside "
        "(it may still hold unsent decisions) and run `moderator-app sync` to rebuild it"
    )


def known_sqlite_error(error: BaseException, path: Path) -> UserError | None:
    """The `UserError` for an SQLite failure the user can act on, or None when it is a bug."""
    original = error.orig if isinstance(error, DBAPIError) else error
    if not isinstance(original, sqlite3.Error):
        return None
    code = getattr(original, "sqlite_errorcode", None)
    if code is None:
        # Raised by Python's sqlite3 module itself, not SQLite: every text in the cache was
        # written as UTF-8, so one that no longer decodes was damaged on disk.
        if str(original).startswith("Could not decode to UTF-8"):
            return CacheDamaged(corrupt_message(path))
        return None
    primary = code & 0xFF
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return UserError(
            f"the local cache {path} is locked by another program (another moderator-app "
            "running?); close it and try again"
        )
    if primary == _SQLITE_FULL:
        return UserError(f"the disk holding the local cache {path} is full; free some space")
    if primary in (_SQLITE_READONLY, _SQLITE_PERM):
        return UserError(
            f"the local cache {path} cannot be written (read-only file or directory); "
            "check its permissions"
        )
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return CacheDamaged(corrupt_message(path))
    if primary == _SQLITE_CANTOPEN:
        return UserError(
            f"cannot open the local cache {path}; check that its directory exists and is writable"
        )
    if primary == _SQLITE_IOERR:
        return UserError(f"input/output error on the local cache {path}; check the disk")
    return None


def _create_private_file(path: Path) -> None:
    """Create the file readable by its owner only, whatever the umask (SQLite copies the mode
    to its -wal and -shm files)."""
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(descriptor)


def _enable_wal(cursor: sqlite3.Cursor, busy_timeout: float) -> None:
    """Switch to WAL, waiting for other connections doing the same on a new file.

    The switch needs an exclusive lock, and SQLite answers "locked" at once instead of calling
    the busy handler, so two processes opening a brand-new cache together would fail.
    """
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _install_sqlite_behaviour(engine: Engine, path: Path, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so writes can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        with closing(dbapi_connection.cursor()) as cursor:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            _enable_wal(cursor, busy_timeout)
            cursor.execute("PRAGMA synchronous=FULL")  # a recorded decision survives power loss
            cursor.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock at once, so a read-then-write never fails
        # half-way with "database is locked" and two writers never interleave.
        options = connection.get_execution_options()
        immediate = options.get("sqlite_immediate", False)
        if immediate:
            # Every write is flushed to disk at commit (a decision survives a power cut), except
            # those that could be fetched again (see Database.write).
            durable = options.get("sqlite_durable", True)
            connection.exec_driver_sql(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        user_error = known_sqlite_error(context.original_exception, path)
        if isinstance(user_error, CacheDamaged):
            remember_damage(path)
        if user_error is not None:
            raise user_error from context.original_exception


class Database:
    """The open cache: hands out sessions; `close()` (or leaving a `with` block) disposes it."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def session(self) -> Session:
        """A session for reading (and occasional writes); use it in a `with` block."""
        return self._sessions()

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Session]:
        """One write transaction: BEGIN IMMEDIATE, committed when the block ends.

        Durable (the default) means on disk before this returns, power cut included. With
        `durable=False` (data the hub can send again, e.g. a pulled page with its cursor) the
        commit skips the fsync: a power cut may lose the last such transactions whole (WAL stays
        consistent: the page and its cursor go together), a killed process loses nothing, and
        the next durable commit flushes them too."""
        with self._sessions() as session:
            session.connection(
                execution_options={"sqlite_immediate": True, "sqlite_durable": durable}
            )
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            session.commit()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def alembic_config(connection: Any = None, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision, as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def backup_copy(path: Path, now: datetime) -> Path:
    """A consistent copy of the database next to it (SQLite's online backup), private too."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.{stamp}.bak")
    _create_private_file(target)
    try:
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
    except sqlite3.Error as error:
        target.unlink(missing_ok=True)
        known = known_sqlite_error(error, path)
        if known is None:
            raise
        if isinstance(known, CacheDamaged):
            remember_damage(path)
        raise known from error
    return target


def open_database(
    path: Path,
    *,
    now: datetime | None = None,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    migrations_dir: Path = MIGRATIONS_DIR,
) -> Database:
    """Open (creating or migrating as needed) the cache at `path`.

    Raises `UserError` for a corrupt or foreign file, a database written by a newer version of
    the app, and the known SQLite failures. `migrations_dir` is for testing migrations.
    """
    path = Path(path)
    ensure_private_dir(path.parent)
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it just now
            _create_private_file(path)
        damage_marker_path(path).unlink(missing_ok=True)  # a damaged file's, moved aside
    elif known_damaged(path):
        raise CacheDamaged(corrupt_message(path))
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": busy_timeout},
    )
    _install_sqlite_behaviour(engine, path, busy_timeout)
    try:
        _migrate(engine, path, now or datetime.now(UTC), migrations_dir)
    except BaseException:
        engine.dispose()
        raise
    return Database(path, engine)


def _schema_state(connection: Connection) -> tuple[str | None, int]:
    """The revision the cache is at (None when it has none) and how many tables it has, read
    with plain SQL (no Alembic import)."""
    names = [
        row[0]
        for row in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    if "alembic_version" not in names:
        return None, len(names)
    revisions = [
        str(row[0]) for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")
    ]
    # Several rows would be branches this app never makes: unknown, like a newer version's.
    return (",".join(revisions) or None), len(names)


def _migrate(engine: Engine, path: Path, now: datetime, migrations_dir: Path) -> None:
    with engine.connect() as connection:
        current, _tables = _schema_state(connection)
        connection.rollback()
    if current == SCHEMA_HEAD and migrations_dir == MIGRATIONS_DIR:
        return  # the usual case: one read, no lock, no Alembic
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(migrations_dir=migrations_dir))
    head = script.get_current_head()
    known_revisions = {revision.revision for revision in script.walk_revisions()}
    if current == head:
        return
    # Check again under the write lock: two processes opening a new or old cache at once must
    # not both migrate it.
    with engine.connect() as connection:
        connection = connection.execution_options(sqlite_immediate=True)
        with connection.begin():
            current, table_count = _schema_state(connection)
            if current == head:
                return
            if current is not None and current not in known_revisions:
                raise UserError(
                    f"the local cache {path} was written by a newer version of moderator-app "
                    f"(schema {current}); upgrade moderator-app, or use another --home"
                )
            if current is None and table_count:
                raise UserError(
                    f"{path} is an SQLite file that moderator-app did not create; move it "
                    "aside or use another --home"
                )
            if current is not None:
                backup_copy(path, now)  # reads through its own connection: WAL lets it
            command.upgrade(alembic_config(connection, migrations_dir), "head")
