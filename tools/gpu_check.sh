#!/usr/bin/env bash
# One check of a bare GPU machine without network: install the stack from a wheel folder, build mmcv's CUDA
# kernels for this machine's GPU with every core, run the `cuda` tests, benchmark FOCUS-L against mmseg's
# Mask2Former R-50, and write one JSON (gpu_check.json) into the results folder.
#
#   here (with the registry):  bash tools/gpu_check_wheels.sh            # -> work_dirs/gpu_wheels (~26 MiB)
#   on the GPU machine:        bash tools/gpu_check.sh [WHEELS]          # default work_dirs/gpu_wheels
#
# What the GPU machine needs: Python >= 3.10 with a CUDA build of torch >= 2.1 (and torchvision), an nvcc of
# torch's CUDA version (CUDA_HOME, else the nvcc on PATH), and the compiled packages that the wheel folder
# leaves out (numpy, scipy, opencv-python-headless, scikit-image, scikit-learn, matplotlib, pillow: listed
# in WHEELS/expected_on_machine.txt; checked first). Planned for 10 minutes on 16 cores: the mmcv build is
# ~95 CPU-minutes at one arch (~6-7 min on 16 cores), tests ~1 min, benchmark ~1-2 min; the venv and the
# built mmcv wheel stay under work_dirs/, so a second run on the same machine skips the build.
#
# Environment knobs:
#   GPU_CHECK_OUT  results folder (default work_dirs/gpu_check)
#   PYTHON         the machine's Python with torch (default python3)
#   FOCUS_VENV     the venv, created with --system-site-packages (default work_dirs/gpu_venv)
#   FOCUS_CACHE    mmcv wheel cache and build logs (default work_dirs/gpu_cache)
#   CUDA_HOME      the toolkit to build with (default: the nvcc on PATH's, else /usr/local/cuda)
#   BUILD_TIMEOUT / TEST_TIMEOUT / BENCH_TIMEOUT  seconds per stage (default 400 / 120 / 150)
#   GPU_CHECK_DEADLINE  seconds for the whole check (default 570): a stage gets at most what is left, so the
#                  JSON is written before a 10-minute limit of the caller stops the run
#   GPU_CHECK_DRY_RUN=1  check the machine and the wheel folder only (no install, no GPU needed)
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHEELS="$(cd "${1:-$REPO/work_dirs/gpu_wheels}" 2>/dev/null && pwd)" || {
  echo "[gpu_check] ERROR: wheel folder ${1:-$REPO/work_dirs/gpu_wheels} not found:" \
    "run tools/gpu_check_wheels.sh where the registry is reachable and bring the folder along" >&2; exit 1; }
OUT="${GPU_CHECK_OUT:-$REPO/work_dirs/gpu_check}"
PYTHON="${PYTHON:-python3}"
export FOCUS_VENV="${FOCUS_VENV:-$REPO/work_dirs/gpu_venv}"
export FOCUS_CACHE="${FOCUS_CACHE:-$REPO/work_dirs/gpu_cache}"
export REPO WHEELS OUT PYTHON
mkdir -p "$OUT"
STAGES="$OUT/stages.tsv"
: >"$STAGES"
START=$(date +%s)

log() { printf '[gpu_check +%ss] %s\n' "$(($(date +%s) - START))" "$*" >&2; }

# stage NAME TIMEOUT CMD...: run, log to OUT/NAME.log, record "name rc seconds" for the JSON.
stage() {
  local name=$1 limit=$2 t0 rc left
  shift 2
  t0=$(date +%s)
  left=$((${GPU_CHECK_DEADLINE:-570} - (t0 - START)))
  if [ "$left" -lt 10 ]; then
    log "$name skipped: the check's deadline (GPU_CHECK_DEADLINE) is reached"
    printf '%s\t124\t0\n' "$name" >>"$STAGES"
    return 124
  fi
  [ "$limit" -le "$left" ] || limit=$left
  log "$name (at most ${limit}s) ..."
  # bash -c: the command may be one of the (exported) functions below
  timeout "$limit" bash -c '"$@"' _ "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" >>"$STAGES"
  if [ "$rc" -ne 0 ]; then
    log "$name failed (exit $rc; 124 = timed out): $(tail -n 3 "$OUT/$name.log" |
      tr '\n' ' ' | cut -c1-400)"
  fi
  return "$rc"
}

# The JSON: machine, stages, test counts, benchmark; written whatever happened.
write_json() {
  "$PYTHON" "$REPO/tools/setup/gpu_check_report.py" --out "$OUT" --wheels "$WHEELS" \
    --total-s "$(($(date +%s) - START))" >"$OUT/gpu_check.json" || log "writing gpu_check.json failed"
  log "results: $OUT/gpu_check.json"
}
trap write_json EXIT

machine() {
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  echo "cores: $(nproc)"
  "$PYTHON" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__,
    'cuda', torch.version.cuda, 'gpu', torch.cuda.is_available())"
  command -v nvcc && nvcc --version | tail -n 2 || echo "no nvcc on PATH"
}
export -f machine
stage machine 60 machine ||
  { log "the machine's Python has no torch: PYTHON=... names one that has"; exit 1; }
stage wheels 60 "$PYTHON" "$REPO/tools/setup/gpu_wheels.py" check "$WHEELS" || exit 1

# The compiled packages the folder leaves out must be on the machine.
missing_compiled() {
  "$PYTHON" - "$WHEELS/expected_on_machine.txt" <<'PYEOF'
import importlib.metadata as md, re, sys
missing = []
for line in open(sys.argv[1]):
    name = line.split('==')[0].strip()
    if not name:
        continue
    try:
        md.version(name)
    except md.PackageNotFoundError:
        missing.append(name)
if missing:
    print('missing on this machine:', ' '.join(missing), '- add them to the folder with '
          '`bash tools/gpu_check_wheels.sh --binary ' + ' '.join(missing) + '` (within 64 MiB)')
    sys.exit(1)
print('all present')
PYEOF
}
export -f missing_compiled
stage compiled_packages 60 missing_compiled || exit 1
if [ "${GPU_CHECK_DRY_RUN:-0}" = 1 ]; then log "dry run: machine and wheel folder checked"; exit 0; fi
stage gpu 60 "$PYTHON" -c \
  "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch sees no GPU')" || exit 1

# The venv on the machine's torch, the stack from the folder (--no-deps: requirements.txt is the whole
# closure; mmengine's opencv-python is satisfied by the headless build, as in tools/setup_env.sh).
install_stack() {
  set -e
  [ -x "$FOCUS_VENV/bin/python" ] || "$PYTHON" -m venv --system-site-packages "$FOCUS_VENV"
  "$FOCUS_VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELS" --no-deps \
    -r "$WHEELS/requirements.txt"
  "$FOCUS_VENV/bin/python" -m pip install -q --no-index --no-deps --no-build-isolation -e "$REPO"
  # tools/setup_env.sh installs the stack from the registry unless its stamp says it is there: done above.
  cat "$REPO/setup.cfg" "$REPO/tools/setup_env.sh" | sha1sum | cut -c1-40 >"$FOCUS_VENV/.focus_deps_stamp"
}
export -f install_stack
stage install 90 install_stack || exit 1

# mmcv's CUDA kernels for this GPU only (tools/setup_env.sh: arch list of the visible GPU, MAX_JOBS = cores).
if [ -z "${CUDA_HOME:-}" ]; then
  if command -v nvcc >/dev/null; then
    CUDA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")"
  elif [ -x /usr/local/cuda/bin/nvcc ]; then CUDA_HOME=/usr/local/cuda; fi
fi
export CUDA_HOME
log "building mmcv with CUDA_HOME=${CUDA_HOME:-<unset: toolkit from the registry, needs network>}," \
  "$(nproc) jobs"
# The venv's bin/ first: torch builds in parallel (MAX_JOBS) only when `ninja` runs from PATH, and the
# machine may have none besides the venv's.
stage build_mmcv "${BUILD_TIMEOUT:-400}" env PATH="$FOCUS_VENV/bin:$PATH" PIP_NO_INDEX=1 \
  PIP_FIND_LINKS="$WHEELS" MMCV_SDIST="$WHEELS/mmcv-2.1.0.tar.gz" \
  MAX_JOBS="$(nproc)" bash "$REPO/tools/setup_env.sh" || exit 1
VPY="$FOCUS_VENV/bin/python"
cd "$REPO" || exit 1

# The quick cuda tests, the benchmark, then the slow one (dist_train.sh) with the time that is left.
stage cuda_tests "${TEST_TIMEOUT:-120}" "$VPY" -m pytest -q -p no:cacheprovider -m "cuda and not slow" \
  tests/test_cuda -rs -s --junitxml="$OUT/cuda_tests.xml"
stage benchmark "${BENCH_TIMEOUT:-150}" "$VPY" tools/analysis_tools/gpu_benchmark.py --iters 3 --warmup 1 \
  --json "$OUT/benchmark.json"
stage cuda_tests_slow "${TEST_TIMEOUT:-120}" "$VPY" -m pytest -q -p no:cacheprovider -m "cuda and slow" \
  tests/test_cuda -rs -s --junitxml="$OUT/cuda_tests_slow.xml"
exit 0
