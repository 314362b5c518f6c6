"""`moderator-app demo` end to end, as a user runs it, in a subprocess and without a screen."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from moderator_app.cli import main
from moderator_app.commands.demo import check_display
from moderator_app.core.errors import UserError
from moderator_app.demo.seed import DEFAULT_COUNT

# `moderator-app` as its console script runs it, failing if Qt got imported: the headless modes
# must work on machines where Qt cannot load.
_RUN_WITHOUT_QT = """
import sys
from moderator_app.cli import main
code = main(sys.argv[1:])
if "PySide6" in sys.modules:
    sys.exit("Qt was loaded")
sys.exit(code)
"""


def _environ(tmp_path: Path) -> dict[str, str]:
    environ = dict(os.environ)
    # Where a default demo home would go; the tests below pass --home anyway.
    environ["MODERATOR_APP_HOME"] = str(tmp_path / "data")
    environ.pop("DISPLAY", None)
    environ.pop("WAYLAND_DISPLAY", None)
    return environ


def test_headless_check_sets_everything_up_syncs_and_tears_down(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-c", _RUN_WITHOUT_QT, "demo", "--headless-check", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_environ(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Qt was loaded" not in result.stderr
    assert f"proposals:    {DEFAULT_COUNT} on the hub" in result.stdout
    assert f"cached:       {DEFAULT_COUNT} in the demo moderator's cache" in result.stdout
    assert re.search(r"^hub: +http://127\.0\.0\.1:\d+$", result.stdout, re.MULTILINE)
    # What the process left behind: the hub's database and the client's cache, both complete.
    with closing(sqlite3.connect(home / "cache.sqlite3")) as cache:
        assert cache.execute("SELECT count(*) FROM proposals").fetchone() == (DEFAULT_COUNT,)
    assert (home / "hub" / "hub.sqlite3").is_file()
    # The refusal loop ran for real: decided, synced, sent over SMTP, caught as an .eml file.
    (caught,) = (home / "caught-mail").glob("*.eml")
    assert re.search(r"^mail caught: .*@example\.org> \| Votre proposition", result.stdout, re.M)
    assert caught.name in result.stdout
    with closing(sqlite3.connect(home / "cache.sqlite3")) as cache:
        assert cache.execute("SELECT state FROM mail_outbox").fetchall() == [("sent",)]


def test_default_home_is_a_fresh_directory_under_the_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process this time: the whole demo also leaks no socket, thread or database handle.
    assert main(["demo", "--headless-check"], environ=_environ(tmp_path)) == 0
    (created,) = (tmp_path / "data" / "demo").iterdir()
    assert (created / "cache.sqlite3").is_file()
    assert f"client home:  {created}" in capsys.readouterr().out


def test_a_non_empty_home_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "taken"
    home.mkdir()
    (home / "cache.sqlite3").write_text("someone's data")
    # The global form `moderator-app --home DIR demo` reaches the demo too.
    code = main(["--home", str(home), "demo", "--headless-check"], environ=_environ(tmp_path))
    assert code == 1
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1
    assert "not empty" in stderr
    assert (home / "cache.sqlite3").read_text() == "someone's data"


def test_no_gui_serves_until_interrupted_then_stops_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    process = subprocess.Popen(
        [sys.executable, "-m", "moderator_app", "demo", "--no-gui", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environ(tmp_path),
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl+C"):
                break
        output = "".join(lines)
        assert "user:         demo-moderator (moderator)" in output
        assert f"caught mails: {home / 'caught-mail'}" in output
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"its files stay in {home}" in stdout


def test_modes_are_listed_in_help_and_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as help_exit:
        main(["demo", "--help"])
    assert help_exit.value.code == 0
    help_text = capsys.readouterr().out
    assert "--no-gui" in help_text
    assert "--headless-check" in help_text
    with pytest.raises(SystemExit) as usage_exit:
        main(["demo", "--no-gui", "--headless-check"])
    assert usage_exit.value.code == 2


def test_without_a_display_the_window_mode_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = _environ(tmp_path)
    environ.pop("QT_QPA_PLATFORM", None)
    code = main(["demo", "--home", str(tmp_path / "demo")], environ=environ)
    assert code == 1
    assert "--no-gui" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_a_display_or_a_qt_platform_is_enough() -> None:
    check_display({"DISPLAY": ":0"}, "linux")
    check_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    check_display({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    check_display({}, "darwin")
    with pytest.raises(UserError, match="no display"):
        check_display({}, "linux")


def test_the_window_opens_on_the_demo_and_ctrl_c_closes_it_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    environ = _environ(tmp_path)
    environ["QT_QPA_PLATFORM"] = "offscreen"
    process = subprocess.Popen(
        [sys.executable, "-m", "moderator_app", "demo", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Opening the workbench as demo-moderator"):
                break
        # The window saves its settings in the demo's home once it has been shown and closed.
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "The demo has stopped" in stdout
    assert (home / "workbench.ini").is_file()
