#!/usr/bin/env bash
# Installs Moderator Workbench into .venv, with the system libraries Qt's xcb plugin needs.
# Usage: scripts/setup.sh [--dev]   (--dev adds the test and lint tools)
set -euo pipefail
cd "$(dirname "$0")/.."

# Libraries Qt's xcb platform plugin loads on a Debian desktop; python3-venv for the venv itself.
SYSTEM_PACKAGES=(python3-venv libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0
    libxcb-render-util0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}"
    else
        echo "Please install these system packages, then run this again:" >&2
        echo "  sudo apt-get install ${missing[*]}" >&2
        # python3-venv is needed to go on; the Qt libraries only to open a window.
        python3 -c 'import venv, ensurepip' 2>/dev/null || exit 1
    fi
fi

PYTHON=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [[ ${1:-} == --dev ]]; then
    .venv/bin/python -m pip install -q -e '.[dev]'
else
    .venv/bin/python -m pip install -q -e .
fi
