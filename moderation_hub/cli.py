"""The `moderation-hub` command line: serve, users, questions, imports."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from sqlalchemy.exc import SQLAlchemyError

from moderation_hub import __version__, wire
from moderation_hub.charter import CharterFileError, read_released_clauses
from moderation_hub.errors import HubError
from moderation_hub.importer import ImportFileError, read_proposals
from moderation_hub.storage import ROLES, HubStorage

DB_ENV = "MODERATION_HUB_DB"


class CliError(Exception):
    """One sentence for stderr; the command exits with status 1."""


def default_db_url(environ: dict[str, str]) -> str:
    """$MODERATION_HUB_DB, else a SQLite file in the user's data directory."""
    if environ.get(DB_ENV):
        return environ[DB_ENV]
    return f"sqlite:///{Path(user_data_dir('moderation-hub')) / 'hub.sqlite3'}"


def _open(args: argparse.Namespace) -> HubStorage:
    url = args.db or default_db_url(dict(os.environ))
    if args.db or os.environ.get(DB_ENV):
        # Only the default data directory is created; a missing one elsewhere is likely a typo.
        _check_sqlite_directory(url)
    try:
        return HubStorage.open(url)
    except (SQLAlchemyError, ValueError, OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CliError(f"cannot open the hub database {_safe_url(url)}: {message}") from None


def _check_sqlite_directory(url: str) -> None:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # HubStorage.open reports it
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    directory = Path(parsed.database).parent
    if not directory.is_dir():
        raise CliError(
            f"cannot open the hub database {_safe_url(url)}: the directory {directory} "
            "does not exist (create it first)"
        )


def _safe_url(url: str) -> str:
    try:
        from sqlalchemy import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # only used to print a message
        return "(unreadable URL)"


def _serve(args: argparse.Namespace) -> int:
    from moderation_hub.server import HubServer

    storage = _open(args)
    try:

        def announce(url: str) -> None:
            print(url, flush=True)
            print(
                f"moderation hub {__version__} serving {url}{wire.API_PREFIX} (Ctrl+C stops)",
                file=sys.stderr,
                flush=True,
            )

        server = HubServer(
            storage,
            host=args.host,
            port=args.port,
            on_started=announce,
            log_level="info" if args.verbose else "warning",
        )
        # Uvicorn raises SystemExit when it cannot listen, after logging why.
        with contextlib.suppress(SystemExit):
            server.run()
        if not server.started:
            raise CliError(f"could not listen on {args.host}:{args.port} (see the message above)")
        return 0
    finally:
        storage.close()


def _user_add(args: argparse.Namespace) -> int:
    storage = _open(args)
    try:
        print(storage.add_user(args.name, args.role))
    finally:
        storage.close()
    return 0


def _user_revoke(args: argparse.Namespace) -> int:
    storage = _open(args)
    try:
        storage.revoke_user(args.name)
    finally:
        storage.close()
    print(f"revoked {args.name}", file=sys.stderr)
    return 0


def _question_add(args: argparse.Namespace) -> int:
    storage = _open(args)
    try:
        question = storage.add_question(
            args.slug,
            title=args.title,
            language=args.language,
            rewrite_url_template=args.rewrite_url,
        )
    finally:
        storage.close()
    print(question.slug)
    return 0


def _question_update(args: argparse.Namespace) -> int:
    storage = _open(args)
    try:
        fields: dict[str, Any] = {"title": args.title, "language": args.language}
        if args.no_rewrite_url:
            fields["rewrite_url_template"] = None
        elif args.rewrite_url is not None:
            fields["rewrite_url_template"] = args.rewrite_url
        question, changed = storage.update_question(args.slug, **fields)
    finally:
        storage.close()
    if not changed:
        print(f"{question.slug}: unchanged")
    for name in changed:
        print(f"{question.slug}: {name} is now {getattr(question, name)!r}")
    return 0


def _charter_load(args: argparse.Namespace) -> int:
    try:
        versions = read_released_clauses(Path(args.directory))
    except CharterFileError as error:
        raise CliError(str(error)) from None
    storage = _open(args)
    try:
        changed = storage.load_charter(versions)
    finally:
        storage.close()
    for version in changed:
        print(f"charter {version}: {len(versions[version])} clauses")
    if not changed:
        print(f"charter {', '.join(sorted(versions))}: unchanged")
    return 0


def _import(args: argparse.Namespace) -> int:
    try:
        parsed = read_proposals(Path(args.file), args.question)
    except ImportFileError as error:
        raise CliError(str(error)) from None
    storage = _open(args)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    try:
        if args.question not in {q.slug for q in storage.questions()}:
            raise CliError(
                f"no question {args.question!r}; create it with `moderation-hub question add`"
            )
        for start in range(0, len(parsed.proposals), wire.MAX_INGEST_PER_BATCH):
            batch = parsed.proposals[start : start + wire.MAX_INGEST_PER_BATCH]
            for result in storage.ingest("import", batch):
                counts[result.status] += 1
        if counts["created"]:
            storage.refresh_statistics()
    finally:
        storage.close()
    for bad in parsed.bad_rows:
        print(f"{args.file}:{bad.line}: skipped: {bad.message}", file=sys.stderr)
    print(
        f"{counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {len(parsed.bad_rows)} bad rows skipped"
    )
    return 1 if parsed.bad_rows else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moderation-hub", description="The moderation hub.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db_help = f"database URL (default: ${DB_ENV}, else a SQLite file in the user data dir)"

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        help_text: str,
        handler: Callable[[argparse.Namespace], int],
    ) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--db", help=db_help)
        sub.set_defaults(handler=handler)
        return sub

    serve = command(commands, "serve", "migrate the database, then serve the HTTP API", _serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    serve.add_argument("--verbose", action="store_true", help="log every request")

    user = commands.add_parser("user", help="manage API users")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    add = command(user_commands, "add", "create a user; prints its API token", _user_add)
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=sorted(ROLES))
    revoke = command(user_commands, "revoke", "revoke a user's token", _user_revoke)
    revoke.add_argument("name")

    question = commands.add_parser("question", help="manage questions")
    question_commands = question.add_subparsers(
        dest="question_command", required=True, metavar="COMMAND"
    )
    qadd = command(question_commands, "add", "create a question", _question_add)
    qadd.add_argument("slug")
    qadd.add_argument("--title", required=True)
    qadd.add_argument("--language", required=True, help="language code, e.g. fr")
    qadd.add_argument(
        "--rewrite-url",
        help="link an author follows to rewrite a proposal, with {question} and {external_id}",
    )
    qupdate = command(
        question_commands,
        "update",
        "change the given fields of a question (the others stay as they are)",
        _question_update,
    )
    qupdate.add_argument("slug")
    qupdate.add_argument("--title")
    qupdate.add_argument("--language", help="language code, e.g. fr")
    link = qupdate.add_mutually_exclusive_group()
    link.add_argument(
        "--rewrite-url",
        help="link an author follows to rewrite a proposal, with {question} and {external_id}",
    )
    link.add_argument(
        "--no-rewrite-url", action="store_true", help="remove the question's rewrite link"
    )

    charter = commands.add_parser("charter", help="the released charter versions")
    charter_commands = charter.add_subparsers(
        dest="charter_command", required=True, metavar="COMMAND"
    )
    cload = command(
        charter_commands,
        "load",
        "record the clause ids of every released charter version (DIRECTORY/releases.toml); "
        "from then on decisions must cite a known version and clause",
        _charter_load,
    )
    cload.add_argument("directory", help="the charter directory holding releases.toml")

    imp = command(commands, "import", "import proposals from CSV or JSON Lines", _import)
    imp.add_argument("file")
    imp.add_argument("--question", required=True, help="the question slug")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
        return result
    except (CliError, HubError) as error:
        print(f"moderation-hub: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
