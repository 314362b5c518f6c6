"""The package layout promises a few entry points; check they are importable and runnable."""

import subprocess
import sys


def test_moderator_app_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "moderator_app", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "moderator-app" in result.stdout
