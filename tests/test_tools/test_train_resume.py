"""tools/train.py: a 2-iteration run, then --resume continues at iteration 3 with the optimizer state."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CONFIG = '''
_base_ = ['{repo}/configs/_base_/default_runtime.py']
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
                           size_divisor=32),
    backbone=dict(type='ResNetV1c', depth=18, num_stages=2, out_indices=(0, 1), strides=(1, 2),
                  dilations=(1, 1), stem_channels=16, base_channels=8, norm_cfg=dict(type='BN')),
    decode_head=dict(type='FCNHead', in_channels=16, in_index=1, channels=8, num_convs=1,
                     num_classes=2, norm_cfg=dict(type='BN'),
                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
train_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='BaseSegDataset', data_root='{data}', metainfo=dict(classes=('bg', 'fg')),
                 data_prefix=dict(img_path='img', seg_map_path='ann'), img_suffix='.png',
                 seg_map_suffix='.png',
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                           dict(type='PackSegInputs')]))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=3, eta_min=0, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters={iters}, val_interval=1000)
default_hooks = dict(
    timer=dict(type='IterTimerHook'), logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=0, deterministic=False)
'''


def _make_data(root):
    rng = np.random.default_rng(0)
    for sub in ('img', 'ann'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    for i in range(4):
        cv2.imwrite(osp.join(root, 'img', f'{i}.png'), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        cv2.imwrite(osp.join(root, 'ann', f'{i}.png'), (rng.random((32, 32)) > 0.5).astype(np.uint8))


def _train(tmp_path, iters, work_dir, *extra):
    cfg = tmp_path / f'cfg_{iters}.py'
    cfg.write_text(CONFIG.format(repo=REPO, data=tmp_path / 'data', iters=iters))
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), str(cfg), '--work-dir', str(work_dir), *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _load(path):
    from mmengine.runner.checkpoint import _load_checkpoint
    return _load_checkpoint(str(path), map_location='cpu')


@pytest.mark.slow
def test_resume_continues_at_iteration_3_with_optimizer_state(tmp_path):
    _make_data(tmp_path / 'data')
    interrupted = tmp_path / 'interrupted'
    _train(tmp_path, 2, interrupted)
    ckpt2 = _load(interrupted / 'iter_2.pth')
    assert ckpt2['meta']['iter'] == 2
    log = _train(tmp_path, 3, interrupted, '--resume')
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/3]' in log and 'Iter(train) [1/3]' not in log

    ckpt3 = _load(interrupted / 'iter_3.pth')
    assert ckpt3['meta']['iter'] == 3
    steps = {float(s['step']) for s in ckpt3['optimizer']['state'].values()}
    assert steps == {3.0}, 'AdamW moments were not restored: the step count restarted'

    # The resumed run reproduces an uninterrupted 3-iteration run exactly (same data order, same
    # optimizer moments, same learning-rate schedule).
    straight = tmp_path / 'straight'
    _train(tmp_path, 3, straight)
    ref = _load(straight / 'iter_3.pth')['state_dict']
    for key, value in ckpt3['state_dict'].items():
        assert torch.allclose(value.float(), ref[key].float(), atol=1e-6), key


@pytest.mark.slow
def test_resume_without_checkpoint_says_so_and_starts_from_load_from(tmp_path):
    """mmengine's meaning of --resume in a work dir with no checkpoint: a normal start from load_from."""
    _make_data(tmp_path / 'data')
    source = tmp_path / 'source'
    _train(tmp_path, 1, source)
    empty = tmp_path / 'empty'
    # lr 0 (AdamW's decay scales with lr too): the parameters after one step are the ones loaded.
    log = _train(tmp_path, 1, empty, '--resume', '--cfg-options', f'load_from={source / "iter_1.pth"}',
                 'optim_wrapper.optimizer.lr=0')
    assert f'no checkpoint to resume from in {empty}' in log and f'load_from={source / "iter_1.pth"}' in log
    assert 'resumed epoch' not in log and 'Iter(train) [1/1]' in log
    loaded = _load(source / 'iter_1.pth')['state_dict']
    after = _load(empty / 'iter_1.pth')['state_dict']
    params = [k for k in loaded if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))]
    assert params
    for key in params:
        torch.testing.assert_close(after[key], loaded[key], msg=key)
