"""bash tools/dist_train.sh <mini config> 2: two processes (torchrun, gloo on the CPU) train and
checkpoint."""
import os
import subprocess
import sys
import threading

import pytest
import torch

from _tools import REPO

CONFIG = 'configs/focus/focus_mini_1xb8-300_sod-256x256.py'


@pytest.mark.slow
def test_dist_train_two_processes_on_cpu(tmp_path):
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, FOCUS_DATA=str(tmp_path / 'data'), OMP_NUM_THREADS='1',
               PORT=str(29500 + os.getpid() % 1000))
    cmd = ['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(work), '--cfg-options',
           'train_cfg.max_iters=2', 'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
           'train_dataloader.persistent_workers=False', 'param_scheduler.0.end=2']
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    assert "'backend': 'gloo'" in log or 'backend=gloo' in log or 'gloo' in log
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 2
    assert any(k.startswith('decode_head.') for k in ckpt['state_dict'])
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])  # unwrapped from DDP


def test_ranks_checking_one_work_dir_at_once_do_not_trip_over_each_other(tmp_path):
    """tools/dist_train.sh starts every rank on the same --work-dir; each checks that it can write there at
    the same moment. A shared probe file name let one rank delete the other's probe (seen in CI: 'cannot
    write to the output folder ...: No such file or directory')."""
    from focus_mm.utils import cli as common

    work = str(tmp_path / 'work')
    errors = []

    def rank():
        for _ in range(200):
            try:
                common.check_work_dir(work)
            except SystemExit as err:
                errors.append(str(err))

    threads = [threading.Thread(target=rank) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert os.listdir(work) == []  # no probe left behind
    (tmp_path / 'file').write_text('')
    with pytest.raises(SystemExit, match='cannot write to the output folder .*file/sub'):
        common.check_work_dir(str(tmp_path / 'file' / 'sub'))  # a file where a folder should be
