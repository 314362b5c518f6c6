"""The `moderator-app` command line: parses arguments and dispatches to a command module.

Exit codes: 0 ok, 1 failure (one-line reason on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence

from keyring.backend import KeyringBackend

from moderator_app import __version__
from moderator_app.core.errors import UserError

Handler = Callable[[argparse.Namespace], int]

# Each module registers its own subcommands; add new groups here.
COMMAND_MODULES: tuple[str, ...] = (
    "charter",
    "demo",
    "account",
    "sync",
    "status",
    "proposals",
    "decide",
    "mail",
    "gui",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moderator-app",
        description="Moderator Workbench: triage citizen proposals against the moderation charter.",
    )
    parser.add_argument("--version", action="version", version=f"moderator-app {__version__}")
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="data directory (default: $MODERATOR_APP_HOME or the platform's user data dir)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"moderator_app.commands.{name}")
        module.register(subparsers)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    keyring_backend: KeyringBackend | None = None,
) -> int:
    """Run one command. `environ` and `keyring_backend` default to the process's own; tests
    pass theirs instead of changing global state."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    args.environ = dict(os.environ if environ is None else environ)
    args.keyring_backend = keyring_backend
    try:
        return handler(args)
    except UserError as error:
        print(f"moderator-app: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("moderator-app: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`moderator-app proposals | head`): not an error worth a trace.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
