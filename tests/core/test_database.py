"""The local cache file: private, WAL, migrated with a backup, refusing what it cannot trust."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from moderator_app.core.database import (
    MIGRATIONS_DIR,
    SCHEMA_HEAD,
    CacheDamaged,
    Database,
    cache_path,
    corrupt_message,
    damage_marker_path,
    head_revision,
    known_sqlite_error,
    open_database,
)
from moderator_app.core.errors import UserError
from moderator_app.core.models import Proposal, Question
from moderator_app.core.queries import list_proposals, search_ids

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _proposal(number: int, content: str) -> Proposal:
    return Proposal(
        id=number,
        external_id=f"e{number}",
        question="insertion",
        content=content,
        language="fr",
        created_at=NOW,
        status="pending",
        version=1,
        author_first_name="Ana",
        author_reachable=False,
        seq=number,
    )


def test_new_cache_is_private_in_wal_mode_with_the_full_schema(home: Path) -> None:
    path = cache_path(home)
    with open_database(path) as database, database.session() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        tables = set(
            session.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars()
        )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert {
        "questions",
        "proposals",
        "decisions",
        "claims",
        "hub_sync_state",
        "audit_log",
        "mail_outbox",
        "mail_attempt",
        "proposals_fts",
    } <= tables
    # A new database has nothing to back up.
    assert sorted(p.name for p in home.iterdir() if p.name.endswith(".bak")) == []


def test_data_survives_reopening_without_a_backup(home: Path) -> None:
    path = cache_path(home)
    with open_database(path) as database, database.write() as session:
        session.add(Question(slug="q", title="Une question ?", language="fr"))
    with open_database(path) as database, database.session() as session:
        assert session.get(Question, "q") is not None
    assert [p for p in home.iterdir() if p.name.endswith(".bak")] == []


def test_fts_index_follows_inserts_updates_and_deletes(cache: Database) -> None:
    with cache.write() as session:
        session.add(_proposal(1, "Il faut créer des ateliers de menuiserie"))
        session.add(_proposal(2, "Il faut ouvrir des formations au numérique"))
    with cache.session() as session:
        # Accents fold: "creer" finds "créer"; the last word is a prefix.
        assert search_ids(session, "creer atel", 10) == [1]
        assert search_ids(session, "numerique", 10) == [2]
    with cache.write() as session:
        proposal = session.get(Proposal, 1)
        assert proposal is not None
        proposal.content = "Il faut des stages en cuisine"
        second = session.get(Proposal, 2)
        session.delete(second)
    with cache.session() as session:
        assert search_ids(session, "menuiserie", 10) == []
        assert search_ids(session, "cuisine", 10) == [1]
        assert search_ids(session, "numerique", 10) == []


@pytest.mark.parametrize(
    "query",
    ['"', "AND OR NOT", "content:x", "*", "NEAR(a b)", "'; DROP TABLE proposals; --", "\x00", ""],
)
def test_search_text_never_reaches_fts_syntax(cache: Database, query: str) -> None:
    with cache.write() as session:
        session.add(_proposal(1, "Il faut AND OR NOT des x"))
    with cache.session() as session:
        ids = search_ids(session, query, 10)
        items = list_proposals(session, now=NOW, search=query)
        assert session.get(Proposal, 1) is not None
    assert ids in ([], [1])
    assert [item["id"] for item in items] == ids


def test_garbage_file_is_refused_with_a_clear_message(home: Path) -> None:
    home.mkdir()
    path = cache_path(home)
    path.write_bytes(b"this is not SQLite at all\n" * 200)
    with pytest.raises(UserError) as raised:
        open_database(path)
    assert str(path) in raised.value.message
    assert "move it aside" in raised.value.message


def test_damaged_pages_surface_as_user_error_not_a_crash(home: Path) -> None:
    path = cache_path(home)
    with open_database(path) as database, database.write() as session:
        for number in range(1, 3000):
            session.add(_proposal(number, f"Il faut un texte assez long numéro {number} " * 3))
    size = path.stat().st_size
    with path.open("r+b") as handle:  # scribble over the middle of the file
        handle.seek(size // 2)
        handle.write(b"\xde\xad\xbe\xef" * 4096)
    with pytest.raises(UserError) as raised:
        _read_everything(path)
    assert str(path) in raised.value.message


def _page_of(path: Path, index: str, position: int) -> int:
    with closing(sqlite3.connect(path)) as connection:
        pages = [
            row[0]
            for row in connection.execute(
                "SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", (index,)
            )
        ]
    return pages[position]


def _cli(home: Path, *argv: str) -> tuple[int, str, str]:
    from moderator_app.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(list(argv), environ={"MODERATOR_APP_HOME": str(home)})
    return code, stdout.getvalue(), stderr.getvalue()


def test_damage_seen_once_is_reported_by_every_later_command(home: Path) -> None:
    path = cache_path(home)
    with open_database(path) as database, database.write() as session:
        for number in range(1, 3000):
            session.add(_proposal(number, f"Il faut un texte assez long numéro {number} " * 3))
    # Damage a page of the status index only: the oldest-50 listing never reads it.
    page = _page_of(path, "ix_proposals_status_created", 2)
    with path.open("r+b") as handle:
        handle.seek((page - 1) * 4096)
        handle.write(b"\xde\xad\xbe\xef" * 1024)
    code, out, _ = _cli(home, "proposals", "--json")
    assert code == 0  # nothing damaged on its way: no way to know without a full check
    assert len(json.loads(out)) == 50
    code, _, err = _cli(home, "status", "--json")
    assert code == 1
    assert "is damaged" in err
    for argv in (("proposals", "--json"), ("proposals", "--search", "numéro"), ("status",)):
        code, out, err = _cli(home, *argv)
        assert (code, out) == (1, "")
        assert err == f"moderator-app: {corrupt_message(path)}\n"
    # Moved aside as the message says: a new cache opens, the damaged copy is still refused.
    aside = path.with_name("damaged.sqlite3")
    path.rename(aside)
    code, out, _ = _cli(home, "proposals", "--json")
    assert (code, json.loads(out)) == (0, [])
    assert not damage_marker_path(path).exists()


def test_text_that_no_longer_decodes_is_damage_not_a_crash(home: Path) -> None:
    path = cache_path(home)
    with open_database(path) as database, database.write() as session:
        session.add(_proposal(1, "Il faut des formations"))
    with closing(sqlite3.connect(path)) as connection, connection:
        # What a flipped byte in a text does: invalid UTF-8 SQLite stores without complaint.
        connection.execute("UPDATE proposals SET content = CAST(x'496c20c328' AS TEXT)")
    with pytest.raises(CacheDamaged) as raised:
        _read_everything(path)
    assert raised.value.message == corrupt_message(path)
    with pytest.raises(CacheDamaged):
        open_database(path).close()


def _read_everything(path: Path) -> None:
    with open_database(path) as database, database.session() as session:
        list_proposals(session, now=NOW, limit=5000)
        session.execute(text("SELECT count(*), sum(length(content)) FROM proposals")).one()


def test_database_from_a_newer_version_refuses_to_open(home: Path) -> None:
    path = cache_path(home)
    open_database(path).close()
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
        connection.commit()
    with pytest.raises(UserError) as raised:
        open_database(path)
    assert "newer version" in raised.value.message
    assert str(path) in raised.value.message


def test_foreign_sqlite_file_is_not_taken_over(home: Path) -> None:
    home.mkdir()
    path = cache_path(home)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
        connection.commit()
    with pytest.raises(UserError, match="did not create"):
        open_database(path)
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("photos",)]


def test_migration_takes_a_backup_first(tmp_path: Path, home: Path) -> None:
    """An existing cache on an older revision is copied aside, then upgraded."""
    path = cache_path(home)
    with open_database(path) as database, database.write() as session:
        session.add(Question(slug="q", title="Avant la migration", language="fr"))
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations)
    (migrations / "versions" / "r9000_add_flag.py").write_text(
        f'''"""Test revision: add a column."""
import sqlalchemy as sa
from alembic import op

revision = "9000"
down_revision = "{head_revision()}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("flag", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("flag")
''',
        encoding="utf-8",
    )
    with (
        open_database(path, now=NOW, migrations_dir=migrations) as database,
        database.session() as session,
    ):
        columns = [row[1] for row in session.execute(text("PRAGMA table_info(questions)"))]
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert "flag" in columns
    assert revision == "9000"
    backups = [p for p in home.iterdir() if p.name.endswith(".bak")]
    assert len(backups) == 1
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    with closing(sqlite3.connect(backups[0])) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]
        assert copy.execute("SELECT title FROM questions").fetchall() == [("Avant la migration",)]
    # The shipped app now sees a newer schema and refuses it rather than guessing.
    with pytest.raises(UserError, match="newer version"):
        open_database(path)


def test_locked_database_is_a_user_error(home: Path) -> None:
    path = cache_path(home)
    with open_database(path, busy_timeout=0.2) as database:
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(UserError) as raised, database.write() as session:
                session.add(Question(slug="q", title="t", language="fr"))
            other.execute("ROLLBACK")
        assert "locked" in raised.value.message
        # Once the other writer is gone the cache works again.
        with database.write() as session:
            session.add(Question(slug="q", title="t", language="fr"))


def test_read_only_cache_is_a_user_error(home: Path) -> None:
    path = cache_path(home)
    with open_database(path) as database:
        with database.write() as session:
            session.execute(text("PRAGMA query_only = ON"))
            session.add(Question(slug="q", title="t", language="fr"))
            with pytest.raises(UserError) as raised:
                session.flush()
            session.rollback()
            session.execute(text("PRAGMA query_only = OFF"))
        assert "cannot be written" in raised.value.message


def _sqlite_error(kind: type[sqlite3.Error], code: int) -> sqlite3.Error:
    error = kind("simulated")
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (5, "locked"),  # SQLITE_BUSY
        (6, "locked"),  # SQLITE_LOCKED
        (13, "full"),  # SQLITE_FULL
        (13 | (1 << 8), "full"),  # an extended code keeps its primary code in the low byte
        (8, "cannot be written"),  # SQLITE_READONLY
        (11, "damaged"),  # SQLITE_CORRUPT
        (26, "damaged"),  # SQLITE_NOTADB
        (14, "cannot open"),  # SQLITE_CANTOPEN
        (10, "input/output"),  # SQLITE_IOERR
    ],
)
def test_known_sqlite_failures_become_one_sentence(code: int, words: str) -> None:
    path = Path("/data/cache.sqlite3")
    error = known_sqlite_error(_sqlite_error(sqlite3.OperationalError, code), path)
    assert error is not None
    assert words in error.message
    assert str(path) in error.message


def test_other_database_errors_stay_bugs(cache: Database) -> None:
    assert known_sqlite_error(_sqlite_error(sqlite3.OperationalError, 1), Path("x")) is None
    assert known_sqlite_error(ValueError("not sqlite"), Path("x")) is None
    with pytest.raises(OperationalError), cache.session() as session:
        session.execute(text("SELECT * FROM no_such_table"))


def test_a_write_transaction_holds_the_write_lock_from_its_first_moment(home: Path) -> None:
    """decide() reads then writes: no other writer may slip in between."""
    path = cache_path(home)
    with (
        open_database(path) as database,
        database.write(),
        closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as other,
    ):
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        # Readers are never blocked (WAL).
        assert other.execute("SELECT count(*) FROM proposals").fetchone() == (0,)


def test_search_with_a_status_filter(cache: Database) -> None:
    with cache.write() as session:
        session.add(_proposal(1, "Il faut des ateliers"))
        session.add(_proposal(2, "Il faut des ateliers partout"))
        session.add(_proposal(3, "Il faut des ateliers encore"))
    with cache.write() as session:
        second = session.get(Proposal, 2)
        assert second is not None
        second.status = "refused"
    with cache.session() as session:
        assert search_ids(session, "ateliers", 10) == [1, 2, 3]
        assert search_ids(session, "ateliers", 2) == [1, 2]
        assert search_ids(session, "ateliers", 10, status="refused") == [2]
        assert search_ids(session, "ateliers", 10, status="pending") == [1, 3]


def test_several_processes_opening_a_new_cache_at_once(home: Path) -> None:
    """The GUI and a CLI command starting together: one creates and migrates, all open it."""
    import threading

    path = cache_path(home)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        try:
            start.wait()
            open_database(path).close()
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]


def test_full_disk_is_a_user_error(home: Path) -> None:
    """SQLite reports SQLITE_FULL when the file may not grow (here: a page limit)."""
    path = cache_path(home)
    with open_database(path) as database, database.write() as session:
        pages = session.execute(text("PRAGMA page_count")).scalar_one()
        session.execute(text(f"PRAGMA max_page_count = {pages + 2}"))
        for number in range(1, 200):
            session.add(_proposal(number, "Il faut un texte qui prend de la place " * 20))
        with pytest.raises(UserError) as raised:
            session.flush()
        session.rollback()
        session.execute(text("PRAGMA max_page_count = 1073741823"))
    assert "full" in raised.value.message
    assert str(path) in raised.value.message


def test_models_and_migrations_describe_the_same_schema(cache: Database) -> None:
    """A model changed without its Alembic revision (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from moderator_app.core.models import Base

    def ours(obj: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
        # The FTS5 table and its shadow tables are created by raw SQL in the migration.
        return not (kind == "table" and name is not None and name.startswith("proposals_fts"))

    with cache.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": ours, "compare_type": False}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrading_a_first_release_cache_keeps_data_search_and_a_backup(home: Path) -> None:
    """A cache left at revision 0001 by an earlier version is backed up, then upgraded."""
    from alembic import command
    from sqlalchemy import create_engine

    from moderator_app.core.database import alembic_config

    home.mkdir()
    path = cache_path(home)
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
            connection.exec_driver_sql(
                "INSERT INTO proposals (id, external_id, question, content, language, created_at,"
                " status, version, author_first_name, author_reachable, seq) VALUES (1, 'e1', 'q',"
                " 'Il faut des ateliers de menuiserie', 'fr', '2026-01-01T00:00:00.000000Z',"
                " 'pending', 1, 'Ana', 0, 1)"
            )
    finally:
        engine.dispose()
    with open_database(path, now=NOW) as database, database.session() as session:
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert revision == head_revision()
        assert search_ids(session, "menuiserie", 10) == [1]
        triggers = session.execute(
            text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        ).scalar()
        assert triggers == 3
    with open_database(path) as database, database.write() as session:  # triggers still fire
        session.add(_proposal(2, "Il faut des stages en cuisine"))
    with open_database(path) as database, database.session() as session:
        assert search_ids(session, "cuisine", 10) == [2]
    backups = [p for p in home.iterdir() if p.name.endswith(".bak")]
    assert len(backups) == 1
    with closing(sqlite3.connect(backups[0])) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]


def test_the_schema_head_constant_is_the_newest_migration() -> None:
    # Add a migration: set SCHEMA_HEAD to its revision, or every start imports Alembic.
    assert head_revision() == SCHEMA_HEAD


def test_opening_a_cache_at_the_head_does_not_import_alembic(home: Path) -> None:
    open_database(cache_path(home)).close()  # created and migrated: Alembic runs here
    script = (
        "import sys\n"
        "from moderator_app.cli import main\n"
        f"code = main(['status', '--json'], environ={{'MODERATOR_APP_HOME': {str(home)!r}}})\n"
        "assert code == 0, code\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
