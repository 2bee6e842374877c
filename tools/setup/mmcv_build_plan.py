"""Decide how tools/setup_env.sh builds mmcv's compiled ops, and assemble the CUDA toolkit it builds with.

Run by ``tools/setup_env.sh`` with the venv's Python (it needs only the standard library and torch);
it prints shell assignments for the script to ``eval``, or one error message and exits 1.

What it decides:

* **ops kind**: ``cudaops`` when torch is a CUDA build and sees a GPU, or with ``FORCE_CUDA=1``;
  else ``cpuops``. ``FORCE_CUDA=1`` with a CPU-only torch is refused.
* **arch list**: ``TORCH_CUDA_ARCH_LIST`` when set; else the visible GPUs' compute capabilities; else
  :data:`DEFAULT_ARCHES` for the toolkit's version (Ampere to Blackwell + PTX). The list is checked with
  torch's own parser, so an unknown arch stops here rather than after an hour of compiling.
* **toolkit**: with ``CUDA_HOME`` set, that toolkit, whose nvcc must have torch's CUDA major.minor (else
  our message with both fixes). Otherwise the toolkit is assembled from PyPI, pinned to exactly what
  torch was built with: the ``cuda-toolkit`` meta-package version that torch requires (its ``nvcc`` and
  ``cccl`` extras pin nvcc, crt, nvvm, cudart and cccl together), or, for torch wheels that predate it,
  the ``nvidia-*-cuXX`` packages at torch's CUDA version. A system toolkit on ``PATH`` never enters.
* **cache key**: mmcv, torch, CUDA tag, Python tag, ops kind and, for CUDA ops, nvcc's version and the
  arch list, so a wheel built for one GPU generation or toolkit is never reused for another.

Usage::

    python tools/setup/mmcv_build_plan.py --cache ~/.cache/focus_mm --mmcv 2.1.0
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

#: Arch lists used when no GPU is visible and TORCH_CUDA_ARCH_LIST is unset, by the toolkit's
#: (major, minor) at least this version: CUDA 12.8 added Blackwell (sm_100, sm_120).
DEFAULT_ARCHES = (
    ((12, 8), '8.0;8.6;8.9;9.0;10.0;12.0+PTX'),
    ((11, 8), '8.0;8.6;8.9;9.0+PTX'),
    ((0, 0), '7.0;7.5;8.0;8.6+PTX'),
)

#: Libraries whose unversioned name (libX.so) the linker needs but PyPI's wheels ship only versioned.
UNVERSIONED_LIBS = ('cudart', 'cublas', 'cublasLt', 'cusparse', 'cusolver', 'cufft', 'curand', 'nvrtc')


class PlanError(RuntimeError):
    """A setting that cannot give a working build; the message says what to change."""


def ops_kind(torch_cuda, gpu_visible, force_cuda):
    """Return ``'cudaops'`` or ``'cpuops'``.

    Args:
        torch_cuda (str | None): ``torch.version.cuda`` (None for a CPU-only torch).
        gpu_visible (bool): whether torch sees a GPU.
        force_cuda (bool): ``FORCE_CUDA=1`` was set.

    Returns:
        str: the ops kind.
    """
    if force_cuda and not torch_cuda:
        raise PlanError('FORCE_CUDA=1, but the installed torch is a CPU-only build: install a CUDA build '
                        'of torch (TORCH_SPEC=...) or unset FORCE_CUDA')
    return 'cudaops' if torch_cuda and (gpu_visible or force_cuda) else 'cpuops'


def version_tuple(version):
    """``'13.0.88'`` -> ``(13, 0, 88)`` (numeric fields only)."""
    return tuple(int(x) for x in re.findall(r'\d+', version))


def default_arch_list(cuda_version):
    """The documented arch list for a toolkit version such as ``'13.0'``."""
    major_minor = version_tuple(cuda_version)[:2]
    return next(arches for since, arches in DEFAULT_ARCHES if major_minor >= since)


def arch_list(env_value, capabilities, cuda_version):
    """Choose the arch list.

    Args:
        env_value (str | None): ``TORCH_CUDA_ARCH_LIST`` from the environment.
        capabilities (list[tuple[int, int]]): the visible GPUs' compute capabilities.
        cuda_version (str): torch's CUDA version, for the default list.

    Returns:
        str: a ``;``-separated arch list as torch reads it.
    """
    if env_value and env_value.strip():
        return ';'.join(env_value.replace(' ', ';').split(';')).strip(';')
    if capabilities:
        arches = sorted(set(capabilities))
        return ';'.join(f'{a}.{b}' for a, b in arches) + '+PTX'
    return default_arch_list(cuda_version)


def check_arch_list(arches):
    """Parse the list with torch's own reader; an unknown arch raises :class:`PlanError`."""
    from torch.utils import cpp_extension
    reader = getattr(cpp_extension, '_get_cuda_arch_flags', None)
    if reader is None:  # a torch without the private reader: nvcc will report bad arches itself
        return
    saved = os.environ.get('TORCH_CUDA_ARCH_LIST')
    os.environ['TORCH_CUDA_ARCH_LIST'] = arches
    try:
        reader()
    except (ValueError, IndexError) as err:
        raise PlanError(f'TORCH_CUDA_ARCH_LIST={arches!r} is not a list torch can build for ({err}); '
                        'use compute capabilities such as "8.6;9.0+PTX"') from err
    finally:
        if saved is None:
            os.environ.pop('TORCH_CUDA_ARCH_LIST', None)
        else:
            os.environ['TORCH_CUDA_ARCH_LIST'] = saved


def toolkit_requirements(torch_requires, cuda_version):
    """The pip requirements of a toolkit that matches torch's CUDA exactly.

    Args:
        torch_requires (list[str]): torch's ``Requires-Dist`` lines (``importlib.metadata.requires``).
        cuda_version (str): ``torch.version.cuda``, e.g. ``'13.0'``.

    Returns:
        list[str]: requirement strings for one ``pip install`` call.
    """
    for line in torch_requires:
        match = re.match(r'cuda-toolkit(\[[^\]]*\])?\s*==\s*([0-9.]+)', line)
        if match:
            return [f'cuda-toolkit[nvcc,cccl]=={match.group(2)}']
    major = version_tuple(cuda_version)[0]
    pins = {}
    for line in torch_requires:
        match = re.match(rf'(nvidia-cuda-(?:runtime|nvrtc)-cu{major})\s*==\s*([0-9.]+)', line)
        if match:
            pins[match.group(1)] = match.group(2)
    if pins:  # torch wheels of CUDA 11/12: per-component packages with a -cuXX suffix
        series = '.'.join(str(x) for x in version_tuple(cuda_version)[:2])
        return [f'{name}=={version}' for name, version in sorted(pins.items())] + [
            f'nvidia-cuda-nvcc-cu{major}=={series}.*', f'nvidia-cuda-cccl-cu{major}=={series}.*']
    series = '.'.join(str(x) for x in version_tuple(cuda_version)[:2])
    return [f'cuda-toolkit[nvcc,cccl]=={series}.*']


def nvcc_version(cuda_home):
    """The full version nvcc reports (``'13.0.88'``), or :class:`PlanError` naming the file."""
    nvcc = Path(cuda_home) / 'bin' / 'nvcc'
    if not nvcc.is_file():
        raise PlanError(f'no nvcc at {nvcc}: CUDA_HOME must be a CUDA toolkit folder with bin/nvcc')
    out = subprocess.run([str(nvcc), '--version'], capture_output=True, text=True).stdout
    match = re.search(r'\bV(\d+\.\d+\.\d+)', out) or re.search(r'release (\d+\.\d+)', out)
    if not match:
        raise PlanError(f'{nvcc} --version printed no version: {out.strip()[:200]!r}')
    return match.group(1)


def check_user_toolkit(cuda_home, torch_cuda, torch_version):
    """A user's ``CUDA_HOME`` must match torch's CUDA major.minor; return its nvcc version."""
    found = nvcc_version(cuda_home)
    if version_tuple(found)[:2] != version_tuple(torch_cuda)[:2]:
        raise PlanError(
            f'CUDA_HOME={cuda_home} has CUDA {found}, but torch {torch_version} was built with CUDA '
            f'{torch_cuda}. Either unset CUDA_HOME (setup_env.sh then assembles CUDA {torch_cuda} from '
            f'PyPI in its cache), or install a torch built for CUDA {".".join(found.split(".")[:2])} '
            '(TORCH_SPEC="torch==... --index-url ..." with a fresh FOCUS_VENV)')
    return found


def install_toolkit(requirements, target, python=sys.executable):
    """pip-install the toolkit wheels into ``target`` (one call: ``--target`` replaces shared folders)."""
    if (target / '.complete').is_file():
        return
    cmd = [python, '-m', 'pip', 'install', '--disable-pip-version-check', '-q', '--no-compile',
           '--upgrade', '--target', str(target), *requirements]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise PlanError(f'installing the CUDA toolkit ({" ".join(requirements)}) failed: '
                        f'{result.stderr.strip()[-600:]}')
    (target / '.complete').write_text(' '.join(requirements) + '\n')


def toolkit_roots(site_dir):
    """Folders under ``<site>/nvidia`` that hold a toolkit's ``bin``, ``include`` or ``lib``."""
    nvidia = Path(site_dir) / 'nvidia'
    if not nvidia.is_dir():
        return []
    return sorted(p for p in nvidia.iterdir()
                  if p.is_dir() and any((p / sub).is_dir() for sub in ('bin', 'include', 'lib', 'nvvm')))


def assemble_cuda_home(home, toolkit_site, venv_site):
    """Build a CUDA_HOME of symbolic links: the PyPI toolkit first, then torch's CUDA libraries.

    torch's CUDA headers include cuSPARSE/cuBLAS/... headers that the compiler wheels do not ship; torch's
    own dependency wheels in the venv do. Files already linked are not replaced (the toolkit wins).

    Args:
        home (Path): the folder to create (emptied first).
        toolkit_site (Path): the ``--target`` folder of :func:`install_toolkit`.
        venv_site (Path): the venv's site-packages.

    Returns:
        Path: ``home``.
    """
    home = Path(home)
    stamp = f'{Path(toolkit_site).resolve()}\n{Path(venv_site).resolve()}\n'
    if (home / '.assembled').is_file() and (home / '.assembled').read_text() == stamp:
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    roots = toolkit_roots(toolkit_site) + toolkit_roots(venv_site)
    if not any((root / 'bin' / 'nvcc').is_file() for root in roots):
        raise PlanError(f'no bin/nvcc under {toolkit_site}/nvidia: the toolkit wheels did not install nvcc')
    for root in roots:
        for src in root.rglob('*'):
            if src.is_dir():
                continue
            dst = home / src.relative_to(root)
            if dst.exists() or dst.is_symlink():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src.resolve())
    lib = home / 'lib'
    if lib.is_dir() and not (home / 'lib64').exists():
        (home / 'lib64').symlink_to('lib')
    for name in UNVERSIONED_LIBS:
        plain = lib / f'lib{name}.so'
        versioned = sorted(lib.glob(f'lib{name}.so.*'), key=lambda p: len(p.name))
        if versioned and not plain.exists():
            plain.symlink_to(versioned[0].name)
    (home / '.assembled').write_text(stamp)
    return home


def cache_key(mmcv, torch_version, torch_cuda, py_tag, kind, nvcc=None, arches=None):
    """The wheel cache key; CUDA builds add nvcc's version and the arch list."""
    cuda_tag = 'cu' + torch_cuda.replace('.', '') if torch_cuda else 'cpu'
    key = f'mmcv-{mmcv}_torch{torch_version}_{cuda_tag}_{py_tag}_{kind}'
    if kind == 'cudaops':
        arch_tag = arches.replace('+PTX', 'ptx').replace('.', '').replace(';', '-')
        key += f'_nvcc{nvcc}_sm{arch_tag}'
    return key


def plan(mmcv, cache, env=os.environ):
    """Everything setup_env.sh needs, as an ordered dict of shell variables."""
    import importlib.metadata

    import torch
    torch_version = torch.__version__.split('+')[0]
    torch_cuda = torch.version.cuda
    gpu_visible = bool(torch_cuda) and torch.cuda.is_available()
    py_tag = f'cp{sys.version_info[0]}{sys.version_info[1]}'
    kind = ops_kind(torch_cuda, gpu_visible, env.get('FORCE_CUDA', '0') == '1')
    out = {'WITH_CUDA': kind}
    if kind == 'cpuops':
        out['KEY'] = cache_key(mmcv, torch_version, torch_cuda, py_tag, kind)
        return out
    caps = [torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())] \
        if gpu_visible else []
    arches = arch_list(env.get('TORCH_CUDA_ARCH_LIST'), caps, torch_cuda)
    check_arch_list(arches)
    if env.get('CUDA_HOME'):
        home = Path(env['CUDA_HOME'])
        nvcc = check_user_toolkit(home, torch_cuda, torch_version)
        out['TOOLKIT'] = f'CUDA_HOME={home} (yours)'
    else:
        requirements = toolkit_requirements(importlib.metadata.requires('torch') or [], torch_cuda)
        tag = '+'.join(re.sub(r'\[[^\]]*\]', '', r).replace('==', '-').replace('*', 'x')
                       for r in requirements)
        site = Path(cache) / 'cuda' / tag
        install_toolkit(requirements, site)
        venv_site = Path(torch.__file__).resolve().parents[1]
        home = assemble_cuda_home(Path(cache) / 'cuda' / f'home_{tag}', site, venv_site)
        nvcc = nvcc_version(home)
        out['TOOLKIT'] = f'{" ".join(requirements)} from PyPI, assembled in {home}'
    out.update(CUDA_HOME=str(home), ARCH_LIST=arches, NVCC_VERSION=nvcc,
               KEY=cache_key(mmcv, torch_version, torch_cuda, py_tag, kind, nvcc, arches))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cache', required=True, help='focus_mm cache folder (FOCUS_CACHE)')
    parser.add_argument('--mmcv', required=True, help='mmcv version to build')
    args = parser.parse_args(argv)
    try:
        variables = plan(args.mmcv, args.cache)
    except PlanError as err:
        print(f'[setup_env] ERROR: {err}', file=sys.stderr)
        return 1
    for name, value in variables.items():
        print(f'{name}={shlex.quote(value)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
