"""OpenMMLab's own command lines run a mini FOCUS config: ``mim train/test focus_mm`` (openmim, the tests
extra) through the tools the package carries (``focus_mm/.mim/tools``), and mmseg's own ``.mim/tools``
``train.py`` / ``test.py`` from the installed mmseg. Two iterations on 64 x 64 crops of 4 generated images."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest

from _tools import REPO

pytestmark = pytest.mark.slow

# The mini config, CPU-test sized: 4 + 2 generated images of 64-80 px, 64 x 64 crops, no worker processes.
CONFIG = '''
_base_ = ['{repo}/configs/focus/focus_mini_1xb8-300_sod-256x256.py']
mini = dict(data_root='{data}', num_train=4, num_test=2, size_range=(64, 80))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(**mini, pipeline=[
        dict(type='LoadForegroundImage'), dict(type='LoadForegroundMask'),
        dict(type='RandomResize', scale=[(256, 64), (256, 80)], keep_ratio=True),
        dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=1.0),
        dict(type='EdgePrior'), dict(type='PackSegInputs', meta_keys=_base_.meta_keys)]))
test_pipeline = [
    dict(type='LoadForegroundImage'), dict(type='Resize', scale=(256, 64), keep_ratio=True),
    dict(type='LoadForegroundMask'), dict(type='EdgePrior'),
    dict(type='PackSegInputs', meta_keys=_base_.meta_keys)]
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(**mini, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(val_interval=1000)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
'''


@pytest.fixture(scope='module')
def mini_config(tmp_path_factory):
    root = tmp_path_factory.mktemp('cli')
    path = root / 'focus_mini_cli.py'
    path.write_text(CONFIG.format(repo=REPO, data=root / 'data'))
    return str(path)


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """A site folder holding focus_mm as an install lays it out (the package folder and its dist-info), so
    that mim finds the package where its distribution says: an editable install's distribution points at
    site-packages, which holds no focus_mm folder (mim then looks for site-packages/focus_mm/...)."""
    site = tmp_path_factory.mktemp('site')
    os.symlink(osp.join(REPO, 'focus_mm'), site / 'focus_mm')
    info = site / 'focus_mm-0.1.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: focus_mm\nVersion: 0.1.0\n')
    return str(site)


def _run(cmd, cwd, site=None, timeout=600):
    env = dict(os.environ)
    if site:
        env['PYTHONPATH'] = os.pathsep.join(p for p in (site, env.get('PYTHONPATH')) if p)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (' '.join(map(str, cmd)), proc.stdout[-3000:] + proc.stderr[-3000:])
    return proc.stdout + proc.stderr


def _checkpoint(work_dir):
    found = glob.glob(osp.join(work_dir, 'iter_2.pth'))
    assert found, os.listdir(work_dir)
    return found[0]


def test_package_carries_its_tools():
    tools = osp.join(REPO, 'focus_mm', '.mim', 'tools')
    for script in ('train.py', 'test.py', 'infer.py', 'analysis_tools/get_flops.py'):
        assert osp.isfile(osp.join(tools, script)), script


def test_mim_trains_and_tests_a_focus_config(mini_config, installed, tmp_path):
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    work = str(tmp_path / 'work')
    log = _run([mim, 'train', 'focus_mm', mini_config, '--work-dir', work, '--cfg-options',
                'train_cfg.max_iters=2'], tmp_path, installed)
    assert osp.join(installed, 'focus_mm', '.mim', 'tools', 'train.py') in log  # mim's command line
    checkpoint = _checkpoint(work)
    log = _run([mim, 'test', 'focus_mm', mini_config, '--checkpoint', checkpoint, '--work-dir', work],
               tmp_path, installed)
    assert 'Sm' in log, log[-2000:]


def test_mmseg_tools_train_and_test_a_focus_config(mini_config, tmp_path):
    import mmseg
    tools = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools')
    work = str(tmp_path / 'work')
    _run([sys.executable, osp.join(tools, 'train.py'), mini_config, '--work-dir', work, '--cfg-options',
          'train_cfg.max_iters=2'], tmp_path)
    log = _run([sys.executable, osp.join(tools, 'test.py'), mini_config, _checkpoint(work),
                '--work-dir', work], tmp_path)
    assert 'Sm' in log, log[-2000:]
