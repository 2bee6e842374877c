#!/usr/bin/env bash
# README command 2: set everything up (idempotent) and run the test suite.
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/tools/setup_env.sh"
# The web demo's browser tests: Debian's chromium + chromedriver and selenium; here they must run, not skip.
bash "$REPO/tools/setup_browser.sh"
export FOCUS_REQUIRE_BROWSER=1
cd "$REPO"
VENV="${FOCUS_VENV:-$REPO/.venv}"
# pytest exits 5 when it collected no test: that is a failure here too.
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
