"""The installed package: configs by package scope (``focus_mm::``) and the wheel's contents."""
import configparser
import os
import os.path as osp
import subprocess
import sys
import zipfile

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FOCUS_L_SOD = 'focus/focus_dinov2-l_2xb4-20k_sod-512x512.py'


def _without_scope(node):
    """A config as plain data, without the ``_scope_`` keys that package-scoped inheritance adds."""
    if isinstance(node, dict):
        return {k: _without_scope(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [_without_scope(v) for v in node]
    return node


def test_user_config_outside_the_repo_inherits_by_package_scope(tmp_path):
    import mmengine.config.config as config_module
    from mmengine.config.utils import PKG2PROJECT

    import focus_mm
    assert PKG2PROJECT['focus_mm'] == 'focus_mm'
    # the imported package's folder, also for an editable install (distribution location: site-packages)
    assert config_module.get_installed_path('focus_mm') == osp.dirname(focus_mm.__file__)
    user = tmp_path / 'my_focus_sod.py'
    user.write_text(f"_base_ = ['focus_mm::{FOCUS_L_SOD}']\n"
                    'train_cfg = dict(max_iters=1234)\n')
    cfg = Config.fromfile(str(user))
    ref = Config.fromfile(osp.join(REPO, 'configs', FOCUS_L_SOD))
    assert ref.train_cfg.max_iters != 1234 and cfg.train_cfg.max_iters == 1234
    assert cfg.train_cfg.val_interval == ref.train_cfg.val_interval  # the rest of the dict is inherited
    mine, theirs = _without_scope(cfg.to_dict()), _without_scope(ref.to_dict())
    mine['train_cfg'].pop('max_iters'), theirs['train_cfg'].pop('max_iters')
    assert mine == theirs
    assert cfg.model.type == 'FocusSegmentor' and cfg.model.backbone.type == 'DINOv2'


def test_package_scoped_config_builds_its_model(tmp_path):
    """Inheritance by package scope tags the dicts with scope 'focus_mm': the registries resolve it."""
    from mmengine.registry import DATASETS, MODELS, init_default_scope

    from focus_mm.utils import offline_model_cfg

    user = tmp_path / 'my_mini.py'
    user.write_text("_base_ = ['focus_mm::focus/focus_mini_1xb8-300_sod-256x256.py']\n"
                    'model = dict(decode_head=dict(num_decoder_layers=2))\n')
    cfg = Config.fromfile(str(user))
    assert cfg.model._scope_ == 'focus_mm'
    init_default_scope(cfg.default_scope)
    model = MODELS.build(offline_model_cfg(cfg.model))  # mmengine's root registry, as the Runner builds
    assert type(model).__name__ == 'FocusSegmentor' and len(model.decode_head.layers) == 2
    dataset = cfg.train_dataloader.dataset
    assert dataset._scope_ == 'focus_mm'
    with DATASETS.switch_scope_and_registry(dataset._scope_) as registry:  # as build_from_cfg does
        assert registry.scope == 'focus_mm' and registry.get(dataset.type).__name__ == dataset.type


def _source_copy(tmp_path):
    """What a source distribution holds, copied, so that building leaves nothing in the repository."""
    import shutil
    src = tmp_path / 'src'
    for name in ('focus_mm', 'configs', 'tools'):
        shutil.copytree(osp.join(REPO, name), src / name, symlinks=True,
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    for name in ('setup.cfg', 'pyproject.toml', 'README.md'):
        shutil.copy(osp.join(REPO, name), src / name)
    return str(src)


def test_wheel_holds_the_package_the_configs_and_the_tools(tmp_path):
    cmd = [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index', '-q',
           '-w', str(tmp_path), _source_copy(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wheels = [f for f in tmp_path.iterdir() if f.suffix == '.whl']
    assert len(wheels) == 1, wheels
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    assert 'focus_mm/__init__.py' in names and 'focus_mm/engine/checkpoint_loaders.py' in names
    assert 'focus_mm/models/backbones/dinov2.py' in names
    assert 'focus_mm/.mim/model-index.yml' in names
    # the tools, as mmseg's wheel carries its own (what `mim train/test/run focus_mm` run)
    for script in ('train.py', 'test.py', 'dist_train.sh', 'analysis_tools/get_flops.py'):
        assert f'focus_mm/.mim/tools/{script}' in names, script
    repo_configs = set()
    for root, _, files in __import__('os').walk(osp.join(REPO, 'configs')):
        repo_configs |= {osp.relpath(osp.join(root, f), REPO) for f in files if f.endswith('.py')}
    shipped = {n[len('focus_mm/.mim/'):] for n in names if n.startswith('focus_mm/.mim/configs/')}
    assert repo_configs and shipped == repo_configs
    assert not any(n.startswith(('tests/', 'tools/', 'configs/')) for n in names)


def _requirement_names(lines):
    import re
    return {re.split(r'[<>=!~\[; ]', r.strip(), 1)[0].lower().replace('_', '-') for r in lines if r.strip()}


def test_install_requires_is_what_focus_mm_imports():
    """install_requires = the distributions of the third-party modules focus_mm imports (the OpenMMLab
    ones in the `openmmlab` extra, optional features' in their extras), nothing copied from other
    packages' requirements."""
    import ast
    import configparser
    import importlib.metadata
    import os

    cfg = configparser.ConfigParser()
    cfg.read(osp.join(REPO, 'setup.cfg'))
    required = _requirement_names(cfg['options']['install_requires'].splitlines())
    extras = {name: _requirement_names(value.splitlines())
              for name, value in cfg['options.extras_require'].items()}
    openmmlab = extras['openmmlab']
    optional_extras = set().union(*(v for k, v in extras.items() if k not in ('openmmlab', 'tests')))

    imported = set()
    for root, _, files in os.walk(osp.join(REPO, 'focus_mm')):
        for name in files:
            if name.endswith('.py'):
                tree = ast.parse(open(osp.join(root, name)).read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        imported |= {a.name.split('.')[0] for a in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        imported.add(node.module.split('.')[0])
    third_party = imported - set(sys.stdlib_module_names) - {'focus_mm'}
    optional = {'pavi'}  # mmengine's pavi:// scheme, imported only when used (engine/checkpoint_loaders.py)
    dists = importlib.metadata.packages_distributions()
    declared = required | openmmlab | optional_extras
    wanted = set()
    for module in sorted(third_party - optional):
        if module not in dists:  # an optional feature's package that this environment lacks
            assert module.lower() in optional_extras, \
                f'{module} is imported by focus_mm but installed by no distribution and declared by no extra'
            continue
        providers = {d.lower().replace('_', '-') for d in dists[module]}
        # cv2 may come from both opencv-python and opencv-python-headless: the declared one counts
        wanted |= (providers & declared) or providers
    # imports inside functions of optional features (onnx export, onnxruntime: the `deploy` extra)
    assert wanted - openmmlab - optional_extras == required, (sorted(wanted - openmmlab), sorted(required))
    assert openmmlab == {'mmcv', 'mmengine', 'mmsegmentation', 'mmpretrain'} <= wanted


def test_install_into_this_environment_needs_nothing_else(tmp_path):
    """The route for an existing environment: pip resolves focus_mm's requirements from what is installed,
    offline (--no-index), without changing anything (--dry-run)."""
    cmd = [sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-index', '--no-build-isolation',
           '--report', str(tmp_path / 'report.json'), _source_copy(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    import json
    report = json.load(open(tmp_path / 'report.json'))
    assert [item['metadata']['name'] for item in report['install']] == ['focus_mm']


def _tracked_sources():
    """The repository's .py and .sh files: git's tracked files, or without git a walk of the source
    folders."""
    try:
        out = subprocess.run(['git', 'ls-files', '*.py', '*.sh'], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout
        files = [line for line in out.splitlines() if line]
        if files:
            return files
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for top in ('focus_mm', 'tools', 'tests', 'configs', 'projects', 'demo'):
        for folder, _, names in os.walk(osp.join(REPO, top)):
            files += [osp.relpath(osp.join(folder, n), REPO) for n in names if n.endswith(('.py', '.sh'))]
    return sorted(files)


def test_source_lines_fit_the_style_limit():
    """No tracked .py/.sh line is longer than the max-line-length that setup.cfg gives flake8."""
    parser = configparser.ConfigParser()
    parser.read(osp.join(REPO, 'setup.cfg'))
    limit = parser.getint('flake8', 'max-line-length')
    files = _tracked_sources()
    assert files
    too_long = []
    for rel in files:
        path = osp.join(REPO, rel)
        if not osp.isfile(path):  # deleted in the work tree but still in git's index
            continue
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                length = len(line.rstrip('\r\n'))
                if length > limit:
                    too_long.append(f'{rel}:{number}: {length} characters')
    assert not too_long, f'lines longer than {limit} characters (setup.cfg [flake8]):\n' + '\n'.join(too_long)
