#!/bin/sh
# Build the one-folder desktop bundle with PyInstaller, then smoke-test it without a screen.
#   packaging/build.sh            -> dist/moderator-app/moderator-app
# Uses the project's .venv (created by scripts/setup.sh); installs PyInstaller into it if missing.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
python="$root/.venv/bin/python"
[ -x "$python" ] || { echo "build.sh: run scripts/setup.sh first (no .venv)" >&2; exit 1; }

"$python" -c "import PyInstaller" 2>/dev/null || "$python" -m pip install --quiet "pyinstaller>=6.6"

cd "$root"
"$python" -m PyInstaller --noconfirm --clean \
    --distpath "$root/dist" --workpath "$root/build/pyinstaller" \
    packaging/moderator-app.spec

app="$root/dist/moderator-app/moderator-app"
"$app" --version
# The whole demo without a window: embedded hub, seeded consultation, mail catcher, one sync.
smoke_home=$(mktemp -d)
trap 'rm -rf "$smoke_home"' EXIT
"$app" demo --headless-check --home "$smoke_home/demo"
echo "build.sh: built $app"
