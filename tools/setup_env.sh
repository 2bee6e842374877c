#!/usr/bin/env bash
# Set up (or check) the focus_mm environment. Idempotent: a second run takes seconds.
#
#   bash tools/setup_env.sh            # creates ./.venv and installs everything
#
# Environment knobs:
#   FOCUS_VENV   where the virtual environment lives (default: <repo>/.venv)
#   FOCUS_CACHE  where the built mmcv wheel and the build logs are kept (default: ~/.cache/focus_mm)
#   PYTHON       the interpreter that creates the venv (default: python3)
#   FORCE_CUDA=1 build mmcv's CUDA kernels even when torch sees no GPU (a CUDA build of torch); they are
#                built anyway when torch sees a GPU. The toolkit comes from PyPI, pinned to torch's CUDA.
#   TORCH_CUDA_ARCH_LIST  GPU archs to build for (default: the visible GPUs', else Ampere to Blackwell + PTX)
#   CUDA_HOME    build with your own CUDA toolkit instead (its version must match torch's CUDA)
#   MMCV_SDIST   a local mmcv-2.1.0.tar.gz to build from instead of downloading it
#   TORCH_SPEC   torch/torchvision to install when none (>= 2.1) is there
#                (default: "torch==2.14.1 torchvision==0.29.1")
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FOCUS_VENV:-$REPO/.venv}"
CACHE="${FOCUS_CACHE:-$HOME/.cache/focus_mm}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}"
MMCV_VERSION=2.1.0

log() { printf '[setup_env] %s\n' "$*" >&2; }
die() { printf '[setup_env] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$CACHE/wheels" "$CACHE/logs" "$CACHE/src"

# 1. The virtual environment.
if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv at $VENV"
  "$PYTHON" -m venv "$VENV" || die "could not create a venv with $PYTHON"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check -q)

# 2. torch: respect an installed torch >= 2.1, otherwise install the default pair.
if ! "$PY" - <<'PYEOF' 2>/dev/null
import sys
import torch, torchvision  # noqa: F401
major, minor = (int(x) for x in torch.__version__.split('+')[0].split('.')[:2])
sys.exit(0 if (major, minor) >= (2, 1) else 1)
PYEOF
then
  log "installing $TORCH_SPEC"
  # shellcheck disable=SC2086
  "${PIP[@]}" install $TORCH_SPEC || die "torch install failed ($TORCH_SPEC)"
fi
# mmcv's setup.py imports pkg_resources (gone from setuptools >= 81); torch wants >= 77.
"${PY}" -c "import setuptools, sys; v = tuple(int(x) for x in setuptools.__version__.split('.')[:2])
sys.exit(0 if (77, 0) <= v < (81, 0) else 1)" 2>/dev/null \
  || "${PIP[@]}" install "setuptools>=77,<81" wheel ninja

# 3. mmcv with compiled ops, from the cached wheel or built from the sdist. tools/setup/mmcv_build_plan.py
#    decides CPU or CUDA ops, the arch list and the toolkit (see its docstring), and names the cache key.
PLAN="$("$PY" "$REPO/tools/setup/mmcv_build_plan.py" --cache "$CACHE" --mmcv "$MMCV_VERSION")" || exit 1
WITH_CUDA='' KEY='' CUDA_HOME_BUILD='' ARCH_LIST='' NVCC_VERSION='' TOOLKIT=''
eval "$(printf '%s\n' "$PLAN" | sed -e 's/^CUDA_HOME=/CUDA_HOME_BUILD=/')"
WHEEL_DIR="$CACHE/wheels/$KEY"

# The first compiler error, else the last Python exception, else the log's last line.
build_failure_reason() {
  { grep -m1 -E ': (fatal )?error:' "$1" \
      || grep -E '^\s*[A-Za-z.]*(Error|Exception): ' "$1" | tail -n1 \
      || tail -n1 "$1"; } \
    | sed -e 's/^[[:space:]]*//' | cut -c1-300
}

mmcv_ok() {
  "$PY" - <<PYEOF 2>/dev/null
import mmcv, mmcv._ext  # noqa: F401
import sys
sys.exit(0 if mmcv.__version__ == '$MMCV_VERSION' else 1)
PYEOF
}

if mmcv_ok && [ -f "$VENV/.mmcv_key" ] && [ "$(cat "$VENV/.mmcv_key")" = "$KEY" ]; then
  :
else
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    BUILD_LOG="$CACHE/logs/$KEY.log"
    if [ "$WITH_CUDA" = cudaops ]; then
      log "building mmcv $MMCV_VERSION with CUDA kernels for arch $ARCH_LIST, nvcc $NVCC_VERSION ($TOOLKIT);"
      log "  ~50 min on 2 cores for one arch, ~13 s more per extra arch and .cu file; log: $BUILD_LOG"
    else
      log "building mmcv $MMCV_VERSION (CPU ops); ~12 min on 2 cores, longer under load; log: $BUILD_LOG"
    fi
    SRC="$CACHE/src/$KEY"
    rm -rf "$SRC" && mkdir -p "$SRC"
    (
      set -e
      if [ -n "${MMCV_SDIST:-}" ]; then cp "$MMCV_SDIST" "$SRC/"  # a machine without the registry
      else "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" \
        -d "$SRC"; fi
      tar -xzf "$SRC"/mmcv-"$MMCV_VERSION".tar.gz -C "$SRC"
      cd "$SRC/mmcv-$MMCV_VERSION"
      # Current torch headers need C++20 ("C++20 or later compatible compiler is required to use ATen").
      sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' setup.py
      if [ "$WITH_CUDA" = cudaops ]; then
        # Only the planned toolkit: a system nvcc on PATH of another version must not enter the build.
        export FORCE_CUDA=1 CUDA_HOME="$CUDA_HOME_BUILD" TORCH_CUDA_ARCH_LIST="$ARCH_LIST"
        export PATH="$CUDA_HOME/bin:$PATH"
      else
        unset FORCE_CUDA
      fi
      export PATH="$VENV/bin:$PATH"  # the venv's ninja: a parallel build (setuptools' fallback is serial)
      MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "$PY" -m pip wheel --no-build-isolation --no-deps \
        -v . -w "$SRC/dist"
      mkdir -p "$WHEEL_DIR"
      cp "$SRC"/dist/mmcv-*.whl "$WHEEL_DIR"/
    ) >"$BUILD_LOG" 2>&1 || {
      rm -rf "$WHEEL_DIR"
      die "mmcv build failed: $(build_failure_reason "$BUILD_LOG")
  full log: $BUILD_LOG
  the environment was left as it was; fix the cause and rerun this script"; }
    rm -rf "$SRC"
  fi
  log "installing cached mmcv wheel ($KEY)"
  "${PIP[@]}" install --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
  echo "$KEY" >"$VENV/.mmcv_key"
fi

# 4. The rest of the stack and the package itself (deps declared in setup.cfg).
#    opencv: mmengine and mmcv declare opencv-python, pysodmetrics opencv-python-headless; both install
#    the same cv2/ module. We keep only the headless one: opencv-python is removed after the installs and
#    the headless files it overwrote are written again.
STAMP="$VENV/.focus_deps_stamp"
WANT="$(cat "$REPO/setup.cfg" "$REPO/tools/setup_env.sh" | sha1sum | cut -c1-40)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  log "installing the OpenMMLab stack and focus_mm (editable)"
  "${PIP[@]}" install "mmengine==0.10.7" "mmsegmentation==1.2.2" "mmpretrain==1.2.0" \
    || die "installing mmengine / mmsegmentation / mmpretrain failed (see the pip output above)"
  "${PIP[@]}" install --no-build-isolation -e "$REPO[tests,deploy,docs]" \
    || die "pip install -e . failed (see the pip output above)"
  # mim without opendatalab (see the tests extra in setup.cfg for why); its imports come with the extra.
  "${PIP[@]}" install --no-deps "openmim==0.3.9" || die "installing openmim failed (see the pip output above)"
  if "$PY" -m pip show -q opencv-python >/dev/null 2>&1; then
    HEADLESS="$("$PY" -c "import importlib.metadata as m; print(m.version('opencv-python-headless'))")"
    "${PIP[@]}" uninstall -y opencv-python
    # pip then reports mmengine's/mmcv's missing opencv-python: expected (see above), filtered.
    "${PIP[@]}" install --force-reinstall --no-deps "opencv-python-headless==$HEADLESS" 2>&1 \
      | { grep -v -E -e "pip's dependency resolver does not currently" \
          -e "requires opencv-python>=3, which is not installed" >&2 || true; }
    "$PY" -c "import cv2" || die "cv2 does not import after replacing opencv-python by opencv-python-headless"
  fi
  mmcv_ok || die "mmcv lost its compiled ops during the install; delete $VENV/.mmcv_key and rerun"
  echo "$WANT" >"$STAMP"
fi

"$PY" -c "import mmcv.ops, mmseg, mmpretrain, open_clip, focus_mm" \
  || die "the environment does not import; delete $VENV and rerun"
log "ready: $VENV (mmcv key $KEY)"
