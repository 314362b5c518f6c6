"""`moderator-app gui`: the workbench window for the account of the data directory."""

from __future__ import annotations

import argparse
from typing import Any

from moderator_app.core.paths import resolve_home


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gui", help="open the workbench window (log in first with `moderator-app login`)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so the other commands work where Qt cannot load.
    from moderator_app.gui.app import run_workbench

    return run_workbench(resolve_home(args.home, args.environ))
