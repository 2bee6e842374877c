#!/usr/bin/env bash
# Install what the web demo's browser tests need (idempotent): Debian's headless Chromium and its
# chromedriver (apt; no browser is downloaded from anywhere else) and Selenium, the `browser` extra, into
# the project's virtual environment. Then FOCUS_REQUIRE_BROWSER=1 makes those tests fail instead of skip
# when something is missing.
#   bash tools/setup_browser.sh
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FOCUS_VENV:-$REPO/.venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "[setup_browser] no virtual environment at $VENV:" \
    "run 'bash tools/setup_env.sh' first (or set FOCUS_VENV)" >&2
  exit 1
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  SUDO=""
  if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver
fi
echo "[setup_browser] $(chromedriver --version)"

if ! "$VENV/bin/python" -c "import selenium" >/dev/null 2>&1; then
  # the extra's pin, read from setup.cfg (one place for the version range)
  SPEC="$("$VENV/bin/python" - "$REPO/setup.cfg" <<'PY'
import configparser, sys
cfg = configparser.ConfigParser()
cfg.read(sys.argv[1])
print(' '.join(line.strip() for line in cfg['options.extras_require']['browser'].splitlines()
               if line.strip()))
PY
)"
  "$VENV/bin/python" -m pip install $SPEC
fi
echo "[setup_browser] selenium $("$VENV/bin/python" -c 'import selenium; print(selenium.__version__)')"
