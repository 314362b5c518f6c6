"""`moderator-app demo`: the workbench on a seeded consultation, nothing to install or set up.

Starts an embedded hub (SQLite, free loopback port) holding about 840 proposals, a local SMTP
catcher for the refusal mails, logs in a demo moderator and opens the window; everything stops when
the window closes. `--no-gui` keeps the services up for other clients; `--headless-check` proves the
whole set-up works without a screen.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from moderator_app.core.errors import UserError
from moderator_app.core.paths import resolve_home

if TYPE_CHECKING:
    # The environment pulls in the hub (FastAPI, uvicorn, Alembic): about a second that every
    # other moderator-app command would pay if it were imported when the parser is built.
    from moderator_app.demo.environment import DemoEnvironment


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="try the workbench on a seeded consultation (embedded hub and mail catcher)",
        description=(
            "Start an embedded hub seeded with a realistic consultation, a local mail catcher, "
            "log in a demo moderator and open the workbench. Everything stops when the window "
            "closes. The demo lives in its own fresh directory (default: a new one under the "
            "data directory), never in a real account's data."
        ),
    )
    parser.add_argument(
        "--home",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="an empty or new directory for the demo (default: a fresh one under the data dir)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--no-gui",
        action="store_true",
        help="do not open the window: print the addresses and wait until Ctrl+C",
    )
    mode.add_argument(
        "--headless-check",
        action="store_true",
        help="set everything up, sync once, print a summary, tear down and exit",
    )
    parser.set_defaults(handler=run_demo)


def demo_home(args: argparse.Namespace) -> Path:
    if args.home:
        return Path(args.home).expanduser().resolve()
    from moderator_app.demo.environment import demo_home_under, utc_now

    return demo_home_under(resolve_home(None, args.environ), utc_now())


def check_display(environ: Mapping[str, str], platform: str = sys.platform) -> None:
    """Fail with a clear sentence, before starting anything, where no window can open."""
    if not platform.startswith("linux"):
        return
    if any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return
    raise UserError(
        "no display to open the window on; run `moderator-app demo --no-gui` "
        "(or --headless-check) instead"
    )


def run_demo(args: argparse.Namespace) -> int:
    if not (args.no_gui or args.headless_check):
        check_display(args.environ)
    home = demo_home(args)
    out: TextIO = sys.stdout
    print(f"Starting the demo in {home} ...", file=out, flush=True)
    from moderator_app.demo.environment import DemoEnvironment

    with DemoEnvironment(home) as demo:
        code = _run_mode(args, demo, out)
    print(
        f"The demo has stopped; its files stay in {home} (delete that folder when done).",
        file=out,
        flush=True,
    )
    return code


def _run_mode(args: argparse.Namespace, demo: DemoEnvironment, out: TextIO) -> int:
    # The environment synced once already; this pulls what the colleague claimed since.
    report = demo.sync()
    if not report.online:
        raise UserError(f"the demo hub did not answer: {report.offline_reason}")
    if args.headless_check:
        caught = demo.rehearse_refusal()
        _print_summary(demo, out)
        for mail in caught:
            print(f"mail caught:  {mail.to} | {mail.subject} | {mail.path.name}", file=out)
        return 0
    if args.no_gui:
        _print_summary(demo, out)
        _serve_until_interrupted(out)
        return 0
    return _open_workbench(demo, out)


def _print_summary(demo: DemoEnvironment, out: TextIO) -> None:
    summary = demo.summary()
    print(f"hub:          {demo.hub_url}", file=out)
    print(f"hub database: {demo.hub_db_path}", file=out)
    for user in demo.users.values():
        print(f"user:         {user.name} ({user.role}) token {user.token}", file=out)
    print(f"smtp catcher: {demo.catcher.host}:{demo.catcher.port} (no TLS, no login)", file=out)
    print(f"caught mails: {demo.mail_folder} ({summary.caught_mails} so far)", file=out)
    print(f"client home:  {demo.home}", file=out)
    print(f"proposals:    {summary.hub_proposals} on the hub", file=out)
    statuses = ", ".join(f"{status} {count}" for status, count in summary.cached_by_status.items())
    print(
        f"cached:       {summary.cached_proposals} in the demo moderator's cache ({statuses})",
        file=out,
    )
    claims = ", ".join(f"{name} {count}" for name, count in summary.claims_by_moderator.items())
    print(f"claimed:      {claims or 'nothing'}", file=out)
    out.flush()


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the demo as Ctrl+C does, so the services are torn down cleanly."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve_until_interrupted(out: TextIO) -> None:
    stop = threading.Event()
    with _terminate_as_interrupt():
        try:
            # Announced inside the try: an interrupt right after the line is still a clean stop.
            print("Press Ctrl+C to stop the demo.", file=out, flush=True)
            while not stop.wait(3600):
                pass
        except KeyboardInterrupt:
            print("Stopping the demo.", file=out, flush=True)


def _open_workbench(demo: DemoEnvironment, out: TextIO) -> int:
    # Imported here: the headless modes must work where Qt cannot load.
    try:
        gui_app = importlib.import_module("moderator_app.gui.app")
        qt_core = importlib.import_module("PySide6.QtCore")
    except ImportError as error:
        raise UserError(
            f"the workbench window cannot start ({error}); try `moderator-app demo --no-gui`"
        ) from error
    app = gui_app.application(sys.argv[:1])
    # Ctrl+C or SIGTERM in the terminal closes the window, so the demo still stops cleanly. Qt's
    # event loop keeps Python from running signal handlers; a short timer lets them through.
    ticker = qt_core.QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(200)

    def quit_window(_signum: int, _frame: FrameType | None) -> None:
        app.quit()
        # Also once the event loop runs, in case the signal came before it started.
        qt_core.QTimer.singleShot(0, app.quit)

    previous = {
        signum: signal.signal(signum, quit_window) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        print(
            f"Opening the workbench as {demo.moderator.name}; close the window to stop.",
            file=out,
            flush=True,
        )
        return int(gui_app.run_workbench(demo.home, keyring_backend=demo.keyring))
    finally:
        ticker.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
