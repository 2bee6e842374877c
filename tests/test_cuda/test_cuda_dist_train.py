"""bash tools/dist_train.sh <mini config> 1 on a GPU: torchrun, NCCL, one process, two iterations."""
import os
import subprocess
import sys

import pytest
import torch
from cuda_utils import CUDA_MARKS

from _tools import REPO

pytestmark = CUDA_MARKS
CONFIG = 'configs/focus/focus_mini_1xb8-300_sod-256x256.py'


@pytest.mark.slow
def test_dist_train_one_gpu_nccl(tmp_path):
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, FOCUS_DATA=str(tmp_path / 'data'), OMP_NUM_THREADS='1',
               PORT=str(29500 + os.getpid() % 1000))
    cmd = ['bash', 'tools/dist_train.sh', CONFIG, '1', '--work-dir', str(work), '--cfg-options',
           'train_cfg.max_iters=2', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
           'train_dataloader.persistent_workers=False', 'param_scheduler.0.end=2']
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    # the config dump of the run (mmengine prints the merged config): NCCL kept, not the CPU's gloo
    assert "backend='nccl'" in log or "'backend': 'nccl'" in log, log[-4000:]
    assert "backend='gloo'" not in log and "'backend': 'gloo'" not in log
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 2
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])
