"""Desktop integration: a launcher entry and AppStream metadata that software centres accept."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from moderator_app.cli import build_parser
from moderator_app.core.paths import project_root

RESOURCES = project_root() / "resources"
APP_ID = "io.github.moderator_workbench"


def _desktop_entry() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(RESOURCES / "moderator-app.desktop", encoding="utf-8")
    return parser


def test_desktop_entry_launches_existing_commands() -> None:
    entry = _desktop_entry()
    main = entry["Desktop Entry"]
    assert main["Type"] == "Application"
    assert main["Icon"] == APP_ID
    assert (RESOURCES / f"{APP_ID}.svg").is_file()
    assert main["Categories"].endswith(";")
    for section in ("Desktop Entry", "Desktop Action demo"):
        program, *arguments = entry[section]["Exec"].split()
        assert program == "moderator-app"
        # The command line parses: `--help` on it exits 0 (an unknown command exits 2).
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([*arguments, "--help"])
        assert exit_info.value.code == 0, arguments


def test_metainfo_names_the_desktop_entry_and_the_binary() -> None:
    root = ET.parse(RESOURCES / f"{APP_ID}.metainfo.xml").getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == "moderator-app.desktop"
    assert root.findtext("provides/binary") == "moderator-app"
    assert root.findtext("project_license") == "AGPL-3.0-or-later"


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli is not installed")
def test_metainfo_passes_appstream_validation() -> None:
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(RESOURCES / f"{APP_ID}.metainfo.xml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
