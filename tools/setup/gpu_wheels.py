"""The wheel folder that ``tools/gpu_check.sh`` installs from on a GPU machine without network.

    python tools/setup/gpu_wheels.py download DIR [--binary NAME ...] [--max-mib 64]
    python tools/setup/gpu_wheels.py check DIR      # is the folder complete? (no network)

The GPU machine this is for has Python 3.12 and a CUDA torch preinstalled (with its ``nvidia-*`` wheels),
so the folder holds what the focus_mm stack needs besides them, at the versions of THIS environment
(``tools/setup_env.sh``'s pins and what pip resolved for them here):

- every pure-Python distribution (``py3-none-any`` wheels) in the dependency closure of mmengine,
  mmsegmentation, mmpretrain, open_clip_torch, pysodmetrics, focus_mm's own requirements and pytest;
- the small compiled ones listed in ``SMALL_BINARY`` (CPython 3.12 manylinux x86_64 wheels), ninja
  included (mmcv's build runs its jobs in parallel only with it), and setuptools < 81 / wheel;
- mmdet and what it adds to the stack (``PEER``): mmseg's Mask2Former, the benchmark's peer, is built
  from mmdet's heads;
- mmcv's source archive (mmcv-2.1.0.tar.gz), compiled there by ``tools/setup_env.sh`` (``MMCV_SDIST``);
- ``requirements.txt``: the pinned list, installed there with ``pip install --no-index --find-links``.

Large compiled packages (numpy, scipy, opencv-python-headless, scikit-image, scikit-learn, matplotlib,
pillow and their compiled helpers: ``EXPECTED_ON_MACHINE``) would not fit the 64 MiB a run can carry;
the GPU machine's Python must have them (``gpu_check.sh`` lists the missing ones before installing).
``--binary NAME`` adds one anyway (CPython 3.12 manylinux wheel), within ``--max-mib``.
"""
import argparse
import importlib.metadata as metadata
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

ROOTS = ('mmengine', 'mmsegmentation', 'mmpretrain', 'open_clip_torch', 'pysodmetrics', 'focus_mm',
         'pytest', 'pytest-timeout')  # the last two run the cuda tests
#: On the GPU machine already (torch's own wheels) or installed from the repository (focus_mm).
PROVIDED = ('torch', 'torchvision', 'triton', 'focus-mm', 'pip', 'setuptools', 'wheel')
PROVIDED_PREFIXES = ('nvidia-', 'cuda-')
EXPECTED_ON_MACHINE = ('numpy', 'scipy', 'opencv-python-headless', 'scikit-image', 'scikit-learn',
                       'matplotlib', 'contourpy', 'fonttools', 'kiwisolver', 'pillow', 'hf-xet')
SMALL_BINARY = ('ninja', 'pyyaml', 'regex', 'safetensors', 'wcwidth')
BUILD_TOOLS = ('setuptools>=77,<81', 'wheel')
#: mmseg's Mask2Former imports mmdet (3.3.0 is the last release that accepts mmcv 2.1); mmdet's structures
#: import pycocotools and shapely (compiled: CPython 3.12 wheels).
PEER = ('mmdet==3.3.0', 'terminaltables==3.1.10', 'six==1.17.0', 'pycocotools==2.0.11', 'shapely==2.2.0')
MMCV = 'mmcv==2.1.0'
TARGET = ['--python-version', '3.12', '--implementation', 'cp', '--abi', 'cp312', '--abi', 'abi3',
          '--abi', 'none', '--platform', 'manylinux_2_28_x86_64', '--platform', 'manylinux_2_27_x86_64',
          '--platform', 'manylinux_2_17_x86_64', '--platform', 'manylinux2014_x86_64', '--platform', 'any']


try:  # the GPU machine's Python may have no `packaging`: pip carries one
    from packaging.requirements import Requirement
    from packaging.utils import parse_sdist_filename, parse_wheel_filename
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import parse_sdist_filename, parse_wheel_filename


def canonical(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def _is_pure(dist: metadata.Distribution) -> bool:
    tags = [line.split(':', 1)[1].strip() for line in (dist.read_text('WHEEL') or '').splitlines()
            if line.startswith('Tag:')]
    return bool(tags) and all(tag.endswith('-none-any') for tag in tags)


def closure(roots=ROOTS) -> Dict[str, metadata.Distribution]:
    """Installed distributions that ``roots`` need (markers evaluated here, no extras), by canonical name."""
    found: Dict[str, metadata.Distribution] = {}
    stack = list(roots)
    while stack:
        name = canonical(stack.pop())
        if name in found or name in PROVIDED or name.startswith(PROVIDED_PREFIXES):
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. opencv-python, replaced by the headless build (tools/setup_env.sh)
        found[name] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({'extra': ''}):
                stack.append(req.name)
    return found


def plan(binary=()) -> Tuple[List[str], List[str]]:
    """``(pins to download, names expected on the GPU machine)`` from this environment."""
    pins, expected = [], []
    extra = {canonical(n) for n in (*SMALL_BINARY, *binary)}
    for name, dist in sorted(closure().items()):
        if _is_pure(dist) or name in extra:
            pins.append(f'{name}=={dist.version}')
        else:
            expected.append(name)
    have = {p.split('==')[0] for p in pins}
    for name in extra - have:  # ninja is not a runtime requirement of the stack
        try:
            pins.append(f'{name}=={metadata.version(name)}')
        except metadata.PackageNotFoundError:
            pins.append(name)
    return sorted(pins) + list(PEER), expected


def folder_mib(folder: str) -> float:
    return sum(os.path.getsize(osp.join(folder, f)) for f in os.listdir(folder)) / 2**20


def download(folder: str, binary=(), max_mib: float = 64.0, pins: Optional[List[str]] = None) -> Dict:
    """Download the wheels and mmcv's source archive into ``folder`` and write requirements.txt.

    ``pins`` replaces the planned list (tests download a few packages only).
    """
    os.makedirs(folder, exist_ok=True)
    planned, expected = plan(binary)
    pins = planned if pins is None else list(pins)
    pip = [sys.executable, '-m', 'pip', 'download', '--disable-pip-version-check', '-q', '--no-deps',
           '-d', folder]
    subprocess.run(pip + ['--only-binary=:all:', *TARGET, *pins, *BUILD_TOOLS], check=True)
    # mmcv's setup.py imports pkg_resources: no isolated build env with a newer setuptools
    subprocess.run(pip + ['--no-binary', ':all:', '--no-build-isolation', MMCV], check=True)
    with open(osp.join(folder, 'requirements.txt'), 'w') as f:
        f.write('# focus_mm stack for tools/gpu_check.sh, pinned from the environment that downloaded it\n')
        f.write('\n'.join([*pins, *BUILD_TOOLS]) + '\n')
    with open(osp.join(folder, 'expected_on_machine.txt'), 'w') as f:
        f.write('\n'.join(f'{n}=={closure()[n].version}' for n in expected) + '\n')
    size = folder_mib(folder)
    if size > max_mib:
        raise SystemExit(f'gpu_wheels.py: {folder} holds {size:.1f} MiB, over --max-mib {max_mib}: drop '
                         '--binary packages (the GPU machine must have them)')
    return {'folder': folder, 'mib': size, 'pins': len(pins), 'expected_on_machine': expected}


def _cp_before_313(interpreter: str) -> bool:
    match = re.fullmatch(r'cp3(\d+)', interpreter)
    return bool(match) and int(match.group(1)) <= 12


def check(folder: str) -> List[str]:
    """What ``folder`` lacks for ``requirements.txt`` (no network): CPython 3.12 x86_64 wheels and the
    mmcv archive. Returns the problems (empty: complete)."""
    req_file = osp.join(folder, 'requirements.txt')
    if not osp.isfile(req_file):
        return [f'{req_file} is missing: run tools/gpu_check_wheels.sh first']
    wheels = {}
    for name in os.listdir(folder):
        if name.endswith('.whl'):
            dist, version, _, tags = parse_wheel_filename(name)
            python_ok = any(t.interpreter in ('py3', 'py2', 'cp312')
                            or (t.abi == 'abi3' and _cp_before_313(t.interpreter)) for t in tags)
            ok = python_ok and any(t.platform == 'any' or t.platform.endswith('x86_64') for t in tags)
            if ok:
                wheels.setdefault(canonical(dist), set()).add(str(version))
    problems = []
    for line in open(req_file):
        line = line.split('#')[0].strip()
        if not line:
            continue
        req = Requirement(line)
        versions = wheels.get(canonical(req.name), set())
        if not any(req.specifier.contains(v, prereleases=True) for v in versions):
            problems.append(f'no Python 3.12 x86_64 wheel for {line} in {folder}')
    sdists = [parse_sdist_filename(n) for n in os.listdir(folder) if n.endswith('.tar.gz')]
    if not any(canonical(d) == 'mmcv' and str(v) == MMCV.split('==')[1] for d, v in sdists):
        problems.append(f'no {MMCV.replace("==", "-")}.tar.gz in {folder}')
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    down = sub.add_parser('download', help='download the wheels (needs the registry)')
    down.add_argument('folder')
    down.add_argument('--binary', nargs='*', default=[], help='compiled packages to add (cp312 wheels)')
    down.add_argument('--max-mib', type=float, default=64.0)
    chk = sub.add_parser('check', help='is the folder complete for Python 3.12? (no network)')
    chk.add_argument('folder')
    sub.add_parser('plan', help='print what would be downloaded and what the GPU machine must have')
    args = parser.parse_args(argv)
    if args.command == 'plan':
        pins, expected = plan()
        print('download:', ' '.join(pins))
        print('expected on the GPU machine:', ' '.join(expected))
        return 0
    if args.command == 'download':
        result = download(args.folder, args.binary, args.max_mib)
        print(f'{result["folder"]}: {result["pins"]} packages + mmcv source, {result["mib"]:.1f} MiB; '
              'the GPU '
              f'machine must have: {" ".join(result["expected_on_machine"])}')
        problems = check(args.folder)
    else:
        problems = check(args.folder)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f'{args.folder}: complete for Python 3.12 ({folder_mib(args.folder):.1f} MiB)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
