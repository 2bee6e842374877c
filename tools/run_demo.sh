#!/usr/bin/env bash
# README command 1, the main job: set up, generate the mini-benchmark, train the mini FOCUS model on
# salient object detection on the CPU, evaluate it, and write the masks and a picture grid.
#   bash tools/run_demo.sh [CONFIG] [WORK_DIR]
#   bash tools/run_demo.sh --universal [WORK_DIR]   # one mini model for all five tasks (1,500 iterations,
#                                                   # ~5x the main job); grid: a row per task
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GRID_ARGS=()
if [[ "${1:-}" == "--universal" ]]; then
  shift
  CONFIG="configs/focus/focus-universal_mini_1xb8-1500_all-256x256.py"
  WORK="${1:-work_dirs/demo_universal}"
  GRID_ARGS=(--per-task 1)  # image | ground truth | prediction under its own task, one row per task
else
  CONFIG="${1:-configs/focus/focus_mini_1xb8-300_sod-256x256.py}"
  WORK="${2:-work_dirs/demo_sod}"
fi

bash "$REPO/tools/setup_env.sh"
cd "$REPO"
PY="${FOCUS_VENV:-$REPO/.venv}/bin/python"
start=$(date +%s)
stamp() { echo "[demo] $(( $(date +%s) - start )) s: $*"; }

stamp "training $CONFIG -> $WORK (the mini-benchmark is generated on first use)"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK"
CKPT="$(cat "$WORK/last_checkpoint")"

stamp "testing $CKPT"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK" --out "$WORK/preds"

stamp "trivial baselines on the same test split, for comparison"
"$PY" tools/analysis_tools/trivial_baselines.py "$CONFIG"

"$PY" tools/analysis_tools/show_grid.py "$CONFIG" "$CKPT" --out "$WORK/grid.png" "${GRID_ARGS[@]}"
stamp "done: predicted masks in $WORK/preds, picture grid $WORK/grid.png, metrics in $WORK/*/*.json"
