#!/usr/bin/env bash
# Train, then test, mini configs with the repository's own tools and one shared schedule, so that the
# numbers of the projects' README tables and of FOCUS mini are comparable. Each run ends with the metric
# table of tools/test.py; the logs and the metric JSON stay in $OUT/<config name>/.
#   ITERS=100 bash projects/mini_benchmark.sh CONFIG [CONFIG ...]
# ITERS (default 300, the mini schedule's own length) shortens the schedule_mini poly schedule for every
# config alike: max_iters, the PolyLR end, the validation and the checkpoint interval.
# CFG_OPTIONS (space-separated key=value) is passed to both tools, e.g. for an ablation:
#   OUT=work_dirs/no_clip CFG_OPTIONS="model.decode_head.loss_clip=None" \
#     bash projects/mini_benchmark.sh CONFIG
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ITERS="${ITERS:-300}"
PY="${PYTHON:-.venv/bin/python}"
OUT="${OUT:-work_dirs/projects_mini_bench}"
read -r -a EXTRA <<< "${CFG_OPTIONS:-}"
TEST_OPTS=()
if [ ${#EXTRA[@]} -gt 0 ]; then TEST_OPTS=(--cfg-options "${EXTRA[@]}"); fi
# The projects' own code (custom_imports = projects.<name>.<package>) imports from the repository root.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
for cfg in "$@"; do
    wd="$OUT/$(basename "$cfg" .py)"
    "$PY" tools/train.py "$cfg" --work-dir "$wd" --cfg-options train_cfg.max_iters="$ITERS" \
        param_scheduler.0.end="$ITERS" train_cfg.val_interval="$ITERS" \
        default_hooks.checkpoint.interval="$ITERS" ${EXTRA[@]+"${EXTRA[@]}"}
    "$PY" tools/test.py "$cfg" "$wd/iter_$ITERS.pth" --work-dir "$wd/test" ${TEST_OPTS[@]+"${TEST_OPTS[@]}"}
done
