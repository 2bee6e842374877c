"""The universal configs: task-carrying data, a mixed-task training step, the full-size model on meta."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from _tools import shrink_mini_train_sets
from focus_mm.utils import offline_model_cfg
from mmseg.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs')
UNIVERSAL_MINI = osp.join(CONFIGS, 'focus', 'focus-universal_mini_1xb8-1500_all-256x256.py')
UNIVERSAL_L = osp.join(CONFIGS, 'focus', 'focus-universal_dinov2-l_2xb4-80k_all-512x512.py')
TASKS = ('sod', 'cod', 'sd', 'dbd', 'fd')


def _count(model, prefix=''):
    return sum(p.numel() for n, p in model.named_parameters() if n.startswith(prefix))


def _foreground_sets(cfg):
    return {k: v for k, v in cfg.items() if isinstance(v, dict) and v.get('type') == 'ForegroundDataset'}


def _leaves(dataset_cfg):
    """The ForegroundDataset/MiniBenchDataset configs under Concat/Repeat wrappers."""
    if dataset_cfg['type'] in ('ConcatDataset', ):
        return [leaf for d in dataset_cfg['datasets'] for leaf in _leaves(d)]
    if dataset_cfg['type'] == 'RepeatDataset':
        return _leaves(dataset_cfg['dataset'])
    return [dataset_cfg]


def test_all_tasks_config_uses_every_set_of_every_task():
    """all_tasks.py reads the per-task set files (sets/*.py) that the single-task configs read too."""
    union = Config.fromfile(osp.join(CONFIGS, '_base_', 'datasets', 'all_tasks.py'))
    names = set()
    for task in TASKS:
        path = osp.join(CONFIGS, '_base_', 'datasets', 'sets', f'{task}.py')
        sets = _foreground_sets(Config.fromfile(path))
        assert sets and {s['task'] for s in sets.values()} == {task}
        names |= {s['dataset_name'] for s in sets.values()}
    leaves = [leaf for loader in ('train_dataloader', 'test_dataloader')
              for leaf in _leaves(union[loader]['dataset'])]
    assert {leaf['dataset_name'] for leaf in leaves} == names
    assert all(leaf['pipeline'] for leaf in leaves)
    # every set is trained or tested; every task is in training, validation and test
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        leaves = _leaves(union[loader]['dataset'])
        assert {leaf['task'] for leaf in leaves} == set(union.tasks), loader
    assert len(_leaves(union.test_dataloader.dataset)) == 13
    assert union.test_evaluator.type == 'MultiTaskForegroundMetric'


def test_universal_full_size_model_builds_with_task_parameters_on_meta():
    init_default_scope('mmseg')
    cfg = Config.fromfile(UNIVERSAL_L)
    single = Config.fromfile(osp.join(CONFIGS, 'focus', 'focus_dinov2-l_2xb4-20k_sod-512x512.py'))
    with torch.device('meta'):
        model = MODELS.build(offline_model_cfg(cfg.model))
        reference = MODELS.build(offline_model_cfg(single.model))
    head = model.decode_head
    assert head.tasks == ('sod', 'cod', 'sd', 'dbd', 'fd') and model.neck.tasks == head.tasks
    extra = 5 * (2 * 2 * 256 + 256)  # query content + position offsets, pixel-decoder token offsets
    assert _count(model, 'decode_head.') - _count(reference, 'decode_head.') == extra
    # a scale and a shift per task for each of the edge ResNet-50's 53 batch norms (26,560 channels)
    norms = [m for m in model.neck.edge_backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 53 and sum(m.num_features for m in norms) == 26560
    assert _count(model, 'neck.') - _count(reference, 'neck.') == 5 * 2 * 26560
    assert _count(model) - _count(reference) == extra + 5 * 2 * 26560
    assert abs(_count(model) - 374e6) / 374e6 < 0.02
    assert cfg.model.decode_head.loss_clip.task_loss_weights == dict(fd=0.01)
    assert dict(type='TaskListHook') in cfg.custom_hooks
    assert cfg.train_cfg.max_iters == 80000 and cfg.param_scheduler[0].end == 80000


def test_universal_mini_config_trains_one_mixed_task_step(tmp_path, monkeypatch):
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    monkeypatch.setenv('FOCUS_DATA', str(tmp_path))
    init_default_scope('mmseg')
    cfg = Config.fromfile(UNIVERSAL_MINI)
    assert cfg.train_cfg.max_iters == 1500 and cfg.param_scheduler[0].end == 1500
    shrink_mini_train_sets(_leaves(cfg.train_dataloader.dataset), num_train=4)  # a CPU test
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False, batch_size=4)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    assert len(loader.dataset) == 5 * 4
    model = MODELS.build(offline_model_cfg(cfg.model))
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = next(iter(loader))
    tasks = [s.metainfo['task'] for s in data['data_samples']]
    assert len(set(tasks)) >= 2, tasks  # a shuffled union: batches mix tasks
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    losses = model.train_step(data, optim_wrapper)
    assert losses and all(torch.isfinite(v).all() for v in losses.values())
    rows = model.decode_head.task_query_feat.weight.detach() - before['decode_head.task_query_feat.weight']
    for task in model.decode_head.tasks:  # a row moves only when its task was in the batch
        moved = bool(rows[model.decode_head.tasks.index(task)].abs().max() > 0)
        assert moved == (task in tasks), (task, tasks)


def test_datasets_put_the_task_into_every_samples_metainfo(tmp_path, monkeypatch):
    monkeypatch.setenv('FOCUS_DATA', str(tmp_path))
    init_default_scope('mmseg')
    cfg = Config.fromfile(UNIVERSAL_MINI)
    sets = [dict(leaf, num_train=2, num_test=2, size_range=(64, 72))
            for leaf in _leaves(cfg.test_dataloader.dataset)]
    dataset = DATASETS.build(dict(type='ConcatDataset', datasets=sets))
    tasks = [dataset[i]['data_samples'].metainfo['task'] for i in range(len(dataset))]
    assert tasks == [t for t in ('sod', 'cod', 'sd', 'dbd', 'fd') for _ in range(2)]
    with pytest.raises(KeyError, match="unknown task 'shadow'"):
        DATASETS.build(dict(type='ForegroundDataset', task='shadow', data_root=str(tmp_path),
                            data_prefix=dict(img_path='x', seg_map_path='y')))
