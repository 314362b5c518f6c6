"""`moderator-app charter check|render|release`: the charter as code, for leads and publishers."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from moderator_app.core.charter import default_charter_dir, load_charter
from moderator_app.core.charter.check import check_charter
from moderator_app.core.charter.releases import record_release
from moderator_app.core.charter.render import render_html, render_markdown
from moderator_app.core.errors import UserError
from moderator_app.core.paths import project_root


def register(subparsers: Any) -> None:
    charter = subparsers.add_parser("charter", help="check, publish and release the charter")
    commands = charter.add_subparsers(dest="charter_command", metavar="ACTION", required=True)

    check = commands.add_parser(
        "check", help="report every incoherence in a charter directory (exit 1 if any)"
    )
    check.add_argument("dir", nargs="?", type=Path, help="charter directory (default: shipped)")
    check.add_argument("--templates", type=Path, metavar="DIR", help="mail templates directory")
    check.set_defaults(handler=run_check)

    render = commands.add_parser("render", help="write the public charter page")
    render.add_argument("--format", choices=("html", "markdown"), default="html")
    render.add_argument("--lang", required=True, help="language of the page, e.g. fr or en")
    render.add_argument("--out", type=Path, metavar="FILE", help="output file (default: stdout)")
    render.add_argument("--charter", type=Path, metavar="DIR", help="charter directory")
    render.set_defaults(handler=run_render)

    release = commands.add_parser(
        "release", help="record the current charter version as released (after a clean check)"
    )
    release.add_argument("dir", nargs="?", type=Path, help="charter directory (default: shipped)")
    release.add_argument("--templates", type=Path, metavar="DIR", help="mail templates directory")
    release.add_argument("--date", type=dt.date.fromisoformat, help="release date (default: today)")
    release.set_defaults(handler=run_release)


def _templates_dir(args: argparse.Namespace) -> Path:
    explicit: Path | None = args.templates
    return explicit if explicit is not None else project_root() / "templates" / "mail"


def run_check(args: argparse.Namespace) -> int:
    charter_dir: Path = args.dir or default_charter_dir()
    report = check_charter(charter_dir, _templates_dir(args))
    if report.ok:
        print(report.summary)
        return 0
    for problem in report.problems:
        print(problem)
    return 1


def run_release(args: argparse.Namespace) -> int:
    charter_dir: Path = args.dir or default_charter_dir()
    report = check_charter(charter_dir, _templates_dir(args))
    blocking = [p for p in report.problems if "is not released" not in p.message]
    if blocking:
        for problem in blocking:
            print(problem)
        raise UserError("The charter has problems; fix them before releasing it.")
    if report.ok:
        raise UserError("This charter version is already released; raise 'version' first.")
    release = record_release(charter_dir, args.date or dt.date.today())
    print(f"released charter {release.version} as {charter_dir / release.file}")
    return 0


def run_render(args: argparse.Namespace) -> int:
    charter = load_charter(args.charter or default_charter_dir())
    page = (
        render_html(charter, args.lang)
        if args.format == "html"
        else render_markdown(charter, args.lang)
    )
    out: Path | None = args.out
    if out is None:
        sys.stdout.write(page)
        return 0
    _write_atomically(out, page)
    return 0


def _write_atomically(path: Path, text: str) -> None:
    """Readers never see a half-written page: write a sibling file, then rename it."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UserError(f"Cannot write {path}: {error.strerror}.") from error
