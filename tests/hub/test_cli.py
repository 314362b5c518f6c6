"""The `moderation-hub` command line, run as a user would (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moderation_hub.storage import HubStorage


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moderation_hub", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def prepared(db_url: str) -> str:
    """A database with a question, created through the CLI."""
    result = run(
        "question",
        "add",
        "insertion",
        "--title",
        "Comment améliorer l'insertion ?",
        "--language",
        "fr",
        "--rewrite-url",
        "https://platform.example/{question}/rewrite/{external_id}",
        "--db",
        db_url,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "insertion\n"
    return db_url


def test_user_add_prints_only_the_token_and_revoke_disables_it(prepared: str) -> None:
    added = run("user", "add", "alice", "--role", "moderator", "--db", prepared)
    assert added.returncode == 0, added.stderr
    lines = added.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert len(token) >= 40
    storage = HubStorage.open(prepared)
    try:
        principal = storage.authenticate(token)
        assert principal is not None
        assert (principal.name, principal.role) == ("alice", "moderator")
        again = run("user", "add", "alice", "--role", "lead", "--db", prepared)
        assert again.returncode == 1
        assert again.stderr.count("\n") == 1
        assert "already exists" in again.stderr
        revoked = run("user", "revoke", "alice", "--db", prepared)
        assert revoked.returncode == 0, revoked.stderr
        assert storage.authenticate(token) is None
        # Adding a revoked user again issues a new token; the old one stays dead.
        restored = run("user", "add", "alice", "--role", "lead", "--db", prepared)
        assert restored.returncode == 0, restored.stderr
        new_token = restored.stdout.strip()
        assert new_token != token
        assert storage.authenticate(token) is None
        again_principal = storage.authenticate(new_token)
        assert again_principal is not None
        assert again_principal.role == "lead"
    finally:
        storage.close()
    unknown = run("user", "revoke", "nobody", "--db", prepared)
    assert unknown.returncode == 1
    assert "no user named 'nobody'" in unknown.stderr


def test_bad_role_and_bad_rewrite_link_are_refused(prepared: str) -> None:
    assert run("user", "add", "bob", "--role", "admin", "--db", prepared).returncode == 2
    bad = run(
        "question",
        "add",
        "other",
        "--title",
        "T",
        "--language",
        "fr",
        "--rewrite-url",
        "https://x.example/{author_email}",
        "--db",
        prepared,
    )
    assert bad.returncode == 1
    assert "{question} and {external_id}" in bad.stderr


def test_csv_import_skips_bad_rows_with_line_numbers_and_is_idempotent(
    prepared: str, tmp_path: Path
) -> None:
    csv_file = tmp_path / "proposals.csv"
    csv_file.write_text(
        "external_id,content,author_first_name,author_email,author_reachable,language,country,created_at\n"
        'c1,"Il faut des stages, vraiment",Léa,lea@example.org,yes,fr,FR,2026-01-05T10:00:00Z\n'
        'c2,"Il faut\nune ligne de plus",Ana,,no,fr,,2026-01-05T11:00:00Z\n'
        "c3,,Tom,tom@example.org,yes,fr,FR,2026-01-05T12:00:00Z\n"
        "c4,Il faut du travail,Ali,ali@example.org,maybe,fr,FR,2026-01-05T13:00:00Z\n"
        "c5,Il faut former,Zoé,zoe@example.org,1,fr,FR,not-a-date\n"
        "c1,Il faut un doublon,Léa,lea@example.org,yes,fr,FR,2026-01-05T10:00:00Z\n"
        "c6,Il faut écouter,Max,max@example.org,true,fr,BE,2026-01-05T14:00:00+01:00\n",
        encoding="utf-8",
    )
    first = run("import", str(csv_file), "--question", "insertion", "--db", prepared)
    assert first.returncode == 1  # some rows were skipped
    assert first.stdout.strip() == "3 created, 0 updated, 0 unchanged, 4 bad rows skipped"
    problems = first.stderr.splitlines()
    assert [line.split(":")[1] for line in problems] == ["5", "6", "7", "8"]
    assert "content" in problems[0]
    assert "author_reachable" in problems[1]
    assert "created_at" in problems[2]
    assert "line 2" in problems[3]
    second = run("import", str(csv_file), "--question", "insertion", "--db", prepared)
    assert second.stdout.strip() == "0 created, 0 updated, 3 unchanged, 4 bad rows skipped"


def test_jsonl_import(prepared: str, tmp_path: Path) -> None:
    good = {
        "external_id": "j1",
        "content": "Il faut des ateliers",
        "author_first_name": "Nina",
        "author_email": "nina@example.org",
        "author_reachable": True,
        "language": "fr",
        "country": "FR",
        "created_at": "2026-01-06T09:00:00Z",
    }
    lines = [
        json.dumps(good),
        "",
        "{not json",
        json.dumps({**good, "external_id": "j2", "colour": "red"}),
        json.dumps({**good, "external_id": "j3", "content": "a\x00b"}),
        json.dumps({**good, "external_id": "j4"}),
    ]
    jsonl = tmp_path / "proposals.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("import", str(jsonl), "--question", "insertion", "--db", prepared)
    assert result.stdout.strip() == "2 created, 0 updated, 0 unchanged, 3 bad rows skipped"
    assert [line.split(":")[1] for line in result.stderr.splitlines()] == ["3", "4", "5"]
    assert "colour" in result.stderr


def test_import_refuses_unknown_question_and_unknown_columns(prepared: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "p.csv"
    csv_file.write_text("external_id,content,language,created_at,votes\n", encoding="utf-8")
    bad_header = run("import", str(csv_file), "--question", "insertion", "--db", prepared)
    assert bad_header.returncode == 1
    assert "unknown column 'votes'" in bad_header.stderr
    csv_file.write_text("external_id,content,language,created_at\n", encoding="utf-8")
    no_question = run("import", str(csv_file), "--question", "nope", "--db", prepared)
    assert no_question.returncode == 1
    assert "no question 'nope'" in no_question.stderr


def _question(db_url: str, slug: str) -> tuple[str, str, str | None]:
    storage = HubStorage.open(db_url)
    try:
        (question,) = [q for q in storage.questions() if q.slug == slug]
    finally:
        storage.close()
    return question.title, question.language, question.rewrite_url_template


def test_question_add_refuses_an_existing_slug_and_update_changes_only_what_is_given(
    prepared: str,
) -> None:
    link = "https://platform.example/{question}/rewrite/{external_id}"
    created = run(
        "question", "add", "emploi", "--title", "Emploi ?", "--language", "fr",
        "--rewrite-url", link, "--db", prepared,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    again = run("question", "add", "emploi", "--title", "dup", "--language", "fr", "--db", prepared)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1
    assert "already exists" in again.stderr
    assert "question update" in again.stderr
    assert _question(prepared, "emploi") == ("Emploi ?", "fr", link)

    retitled = run("question", "update", "emploi", "--title", "L'emploi ?", "--db", prepared)
    assert retitled.returncode == 0, retitled.stderr
    assert retitled.stdout == 'emploi: title is now "L\'emploi ?"\n'
    # The rewrite link and language were not given, so they are kept.
    assert _question(prepared, "emploi") == ("L'emploi ?", "fr", link)

    same = run("question", "update", "emploi", "--language", "fr", "--db", prepared)
    assert (same.returncode, same.stdout) == (0, "emploi: unchanged\n")
    unlinked = run("question", "update", "emploi", "--no-rewrite-url", "--db", prepared)
    assert unlinked.stdout == "emploi: rewrite_url_template is now None\n"
    assert _question(prepared, "emploi") == ("L'emploi ?", "fr", None)

    missing = run("question", "update", "nope", "--title", "x", "--db", prepared)
    assert missing.returncode == 1
    assert "no question 'nope'" in missing.stderr
    bad = run("question", "update", "emploi", "--rewrite-url", "ftp://x", "--db", prepared)
    assert bad.returncode == 1
    assert _question(prepared, "emploi") == ("L'emploi ?", "fr", None)


def test_import_skips_rows_with_a_bad_address_language_or_country(
    prepared: str, tmp_path: Path
) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "external_id,content,author_email,author_reachable,language,country,created_at\n"
        "m1,Il faut des stages,not-an-email,yes,fr,FR,2026-01-07T10:00:00Z\n"
        '"m2","Il faut du travail","a@example.org\r\nBcc: x@evil.org",'
        "yes,fr,FR,2026-01-07T10:00:00Z\n"
        "m3,Il faut écouter,jo@example.org,yes,klingon,FR,2026-01-07T10:00:00Z\n"
        "m4,Il faut former,jo@example.org,yes,fr,ZZZ,2026-01-07T10:00:00Z\n"
        "m5,Il faut lire,jo+moderation@exämple.fr,yes,fr-BE,BE,2026-01-07T10:00:00Z\n",
        encoding="utf-8",
    )
    result = run("import", str(csv_file), "--question", "insertion", "--db", prepared)
    assert result.stdout.strip() == "1 created, 0 updated, 0 unchanged, 4 bad rows skipped"
    problems = result.stderr.splitlines()
    assert [line.split(":")[1] for line in problems] == ["2", "3", "5", "6"]
    assert ["author_email" in p for p in problems] == [True, True, False, False]
    assert "language" in problems[2]
    assert "country" in problems[3]


def test_import_of_a_file_that_is_not_utf8_text_says_so(prepared: str, tmp_path: Path) -> None:
    for name, data in (
        ("binary.csv", b"\xff\xfe garbage\x00\x01\x02\n\x89PNG\r\n"),
        ("latin1.csv", "external_id,contenu_é,language,created_at\n".encode("latin-1")),
        ("utf16.csv", "external_id,content,language,created_at\n".encode("utf-16")),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        result = run("import", str(path), "--question", "insertion", "--db", prepared)
        assert result.returncode == 1
        assert result.stderr == (
            f"moderation-hub: {path} is not UTF-8 text; save it as UTF-8 CSV or JSON Lines\n"
        )


def test_sqlite_database_is_private_and_its_directory_must_exist(tmp_path: Path) -> None:
    db = tmp_path / "hub.sqlite3"
    created = run("user", "add", "alice", "--role", "lead", "--db", f"sqlite:///{db}")
    assert created.returncode == 0, created.stderr
    assert db.stat().st_mode & 0o777 == 0o600
    wal = db.with_name("hub.sqlite3-wal")
    assert not wal.exists() or wal.stat().st_mode & 0o077 == 0

    missing = tmp_path / "no" / "such" / "dir"
    typo = run("user", "add", "bob", "--role", "lead", "--db", f"sqlite:///{missing / 'h.db'}")
    assert typo.returncode == 1
    assert typo.stderr.count("\n") == 1
    assert f"the directory {missing} does not exist" in typo.stderr
    assert not (tmp_path / "no").exists()
