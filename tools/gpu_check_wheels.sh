#!/usr/bin/env bash
# Download what tools/gpu_check.sh installs on a GPU machine without network: the focus_mm stack's
# pure-Python wheels and a few small compiled ones for CPython 3.12 (x86_64), mmdet for the Mask2Former
# peer, and mmcv's source archive, pinned to this environment's versions (tools/setup/gpu_wheels.py).
#
#   bash tools/gpu_check_wheels.sh [DIR] [--binary NAME ...]     # default DIR: work_dirs/gpu_wheels
#
# ~26 MiB (a run may carry 64 MiB). Needs the registry and the set-up environment (tools/setup_env.sh).
# --binary adds compiled packages that the GPU machine lacks (gpu_check.sh names them).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO/work_dirs/gpu_wheels"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then DIR="$1"; shift; fi
PY="${FOCUS_VENV:-$REPO/.venv}/bin/python"
[ -x "$PY" ] || {
  echo "[gpu_check_wheels] ERROR: no environment at $PY: run tools/setup_env.sh first" >&2
  exit 1
}
# pip warns about every unreachable extra index of this machine's pip.conf: not errors
"$PY" "$REPO/tools/setup/gpu_wheels.py" download "$DIR" "$@" 2> >(grep -v "^WARNING: Location '" >&2)
