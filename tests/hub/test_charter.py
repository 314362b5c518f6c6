"""A hub told the released charter clause ids refuses decisions citing other versions or clauses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from moderation_hub.embedded import EmbeddedHub
from tests.hub.conftest import claim, decide, decision, seed


def _write_charter(directory: Path) -> Path:
    (directory / "releases").mkdir(parents=True)
    for version, clauses in (("1.0.0", ["off-topic", "insults"]), ("1.1.0", ["off-topic"])):
        body = "".join(f'[[clause]]\nid = "{c}"\nnumber = {i}\n\n' for i, c in enumerate(clauses))
        (directory / "releases" / f"{version}.toml").write_text(
            f'version = "{version}"\n\n{body}', encoding="utf-8"
        )
    (directory / "releases.toml").write_text(
        '[[release]]\nversion = "1.0.0"\nfile = "releases/1.0.0.toml"\n\n'
        '[[release]]\nversion = "1.1.0"\nfile = "releases/1.1.0.toml"\n',
        encoding="utf-8",
    )
    return directory


def _load(directory: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moderation_hub", "charter", "load", str(directory), "--db", db_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_loaded_charter_restricts_versions_and_clauses(
    hub: EmbeddedHub, question: str, make_api: Any, tmp_path: Path
) -> None:
    seed(hub, question, 2)
    moderator = make_api("moderator")
    first, second = claim(moderator, question, 2)
    # Before any charter is loaded, any well-formed clause id and version is taken.
    (before,) = decide(
        moderator, decision(first, "refuse", reason="made-up", charter_version="7.0.0")
    )
    assert before["status"] == "applied"

    charter = _write_charter(tmp_path / "charter")
    loaded = _load(charter, hub.db_url)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == ["charter 1.0.0: 2 clauses", "charter 1.1.0: 1 clauses"]
    again = _load(charter, hub.db_url)
    assert again.stdout == "charter 1.0.0, 1.1.0: unchanged\n"

    results = decide(
        moderator,
        decision(second, "refuse", reason="insults", charter_version="1.1.0"),
        decision(second, "refuse", reason="off-topic", charter_version="9.9.9"),
        decision(second, "accept", charter_version="1.2.0"),
    )
    assert [r["status"] for r in results] == ["invalid"] * 3
    assert [r["errors"][0]["field"] for r in results] == [
        "reason",
        "charter_version",
        "charter_version",
    ]
    assert "no clause 'insults'" in results[0]["errors"][0]["message"]
    assert "charter load" in results[1]["errors"][0]["message"]
    (ok,) = decide(moderator, decision(second, "refuse", reason="insults", charter_version="1.0.0"))
    assert ok["status"] == "applied"


def test_an_unreadable_charter_directory_is_one_line(tmp_path: Path, db_url: str) -> None:
    missing = _load(tmp_path / "nowhere", db_url)
    assert missing.returncode == 1
    assert missing.stderr.startswith("moderation-hub: cannot read ")
    assert missing.stderr.count("\n") == 1
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "releases.toml").write_text("[[release]\n", encoding="utf-8")
    bad = _load(broken, db_url)
    assert bad.returncode == 1
    assert "is not valid TOML" in bad.stderr
