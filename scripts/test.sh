#!/usr/bin/env bash
# Installs everything and runs every quality gate, then the whole test suite.
# PostgreSQL tests expect the server at 127.0.0.1:5432 (trust auth, database "test");
# set MODERATION_TEST_PG_URL to point elsewhere, or MODERATION_TEST_PG_URL=skip to skip them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
export QT_QPA_PLATFORM=offscreen
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== pytest"; exec .venv/bin/python -m pytest "$@"
