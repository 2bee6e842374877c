"""tools/experiments/task_gradients.py: per-task gradients over the shared weights and their cosines."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from _tiny_models import (build_model, single_thread, synthetic_foreground_batch, tiny_focus_segmentor_cfg,
                          tiny_resnet_segmentor_cfg)
from _tools import REPO, load_tool, shrink_mini_train_sets

UNIVERSAL_MINI = osp.join(REPO, 'configs', 'focus', 'focus-universal_mini_1xb8-1500_all-256x256.py')
TASKS = ('sod', 'cod', 'sd')
TASK_PARAMS = {'decode_head.task_query_feat.weight', 'decode_head.task_query_embed.weight',
               'decode_head.task_pixel_embed.weight'}


@pytest.fixture(scope='module')
def tool():
    return load_tool('experiments', 'task_gradients')


def _same_images_as_each_task(num_images=2, seed=5):
    images, samples = synthetic_foreground_batch(num_images, size=64, seed=seed)
    batches = {}
    for task in TASKS:
        task_samples = copy.deepcopy(samples)
        for sample in task_samples:
            sample.set_metainfo(dict(task=task))
        batches[task] = [dict(inputs=[i.clone() for i in images], data_samples=task_samples)]
    return batches


def test_cosine_matrix_of_known_directions(tool):
    grads = dict(a=torch.tensor([1., 0.]), b=torch.tensor([-2., 0.]), c=torch.tensor([0., 3.]))
    expected = torch.tensor([[1., -1., 0.], [-1., 1., 0.], [0., 0., 1.]], dtype=torch.float64)
    assert torch.allclose(tool.cosine_matrix(grads), expected)


def test_shared_parameters_leave_out_exactly_the_task_embeddings(tool):
    model = build_model(tiny_resnet_segmentor_cfg(tasks=TASKS))
    shared = {name for name, _ in tool.shared_parameters(model)}
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable - shared == TASK_PARAMS
    assert any(name.startswith('backbone.') for name in shared)
    assert any(name.startswith('decode_head.pixel_decoder.') for name in shared)
    cfg = tiny_focus_segmentor_cfg(prior=False, tasks=TASKS)
    cfg['neck']['tasks'] = TASKS
    model = build_model(cfg)
    shared = {name for name, _ in tool.shared_parameters(model)}
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable - shared == TASK_PARAMS | {'neck.task_edge_affine.scale.weight',
                                                'neck.task_edge_affine.shift.weight'}
    assert any(name.startswith('neck.edge_backbone.') for name in shared)


def test_tasks_differ_only_through_their_embeddings(tool):
    """Same images under three tasks: zero task offsets -> the same gradient (cosine 1); random offsets ->
    different gradients."""
    with single_thread():
        torch.manual_seed(0)
        model = build_model(tiny_resnet_segmentor_cfg(tasks=TASKS))
        model.train()
        grads = tool.task_gradients(model, _same_images_as_each_task())
        assert all(torch.isfinite(g).all() and g.norm() > 0 for g in grads.values())
        assert len({g.numel() for g in grads.values()}) == 1
        cosines = tool.cosine_matrix(grads)
        assert torch.allclose(cosines.diagonal(), torch.ones(len(TASKS), dtype=torch.float64))
        assert torch.allclose(cosines, cosines.T)
        assert cosines.abs().max() <= 1 + 1e-9
        assert cosines.min() < 0.999, cosines  # the task offsets change the gradient

        with torch.no_grad():
            for name, p in model.named_parameters():
                if name in TASK_PARAMS:
                    p.zero_()
        grads = tool.task_gradients(model, _same_images_as_each_task())
        cosines = tool.cosine_matrix(grads)
        assert cosines.min() > 1 - 1e-6, cosines
        assert all(torch.allclose(g, grads['sod'], atol=1e-6) for g in grads.values())
        assert all(p.grad is None for p in model.parameters())  # leaves the model as it found it


def test_split_halves_of_identical_batches_agree_fully(tool):
    with single_thread():
        torch.manual_seed(0)
        model = build_model(tiny_resnet_segmentor_cfg(tasks=TASKS))
        model.train()
        one = _same_images_as_each_task()
        twice = {t: b + copy.deepcopy(b) for t, b in one.items()}
        mean, halves = tool.split_half_gradients(model, twice)
        assert all(abs(h - 1) < 1e-9 for h in halves.values()), halves
        single = tool.task_gradients(model, one)
        assert all(torch.allclose(mean[t], single[t], atol=1e-6) for t in TASKS)
        different = {t: b + _same_images_as_each_task(seed=9)[t] for t, b in one.items()}
        _, halves = tool.split_half_gradients(model, different)
        assert all(h < 0.9999 for h in halves.values()), halves  # other images, another gradient
        with pytest.raises(ValueError, match='even number'):
            tool.split_half_gradients(model, one)


def test_task_batches_take_each_tasks_first_training_images(tool, tmp_path, monkeypatch):
    monkeypatch.setenv('FOCUS_DATA', str(tmp_path))
    init_default_scope('mmseg')
    cfg = Config.fromfile(UNIVERSAL_MINI)
    shrink_mini_train_sets(cfg.train_dataloader.dataset.datasets, num_train=3)  # a CPU test
    batches = tool.task_batches(cfg, cfg.tasks, num_images=3, batch_size=2)
    assert list(batches) == list(cfg.tasks)
    for task, task_batches in batches.items():
        assert [len(b['inputs']) for b in task_batches] == [2, 1]
        for batch in task_batches:
            assert all(s.metainfo['task'] == task for s in batch['data_samples'])
            assert all(tuple(i.shape) == (6, 64, 64) for i in batch['inputs'])
    with pytest.raises(ValueError,
                       match=r"fewer than 4 training images of \['sod', 'cod', 'sd', 'dbd', 'fd'\]"):
        tool.task_batches(cfg, cfg.tasks, num_images=4, batch_size=2)


def test_module_groups_partition_the_shared_gradient(tool):
    model = build_model(tiny_resnet_segmentor_cfg(tasks=TASKS))
    total = sum(p.numel() for _, p in tool.shared_parameters(model))
    groups = tool.module_groups(model, min_params=1_000)
    covered = torch.zeros(total, dtype=torch.long)
    for index in groups.values():
        covered[index] += 1
    assert bool((covered == 1).all())  # every shared parameter in exactly one group
    assert 'decode_head.pixel_decoder' in groups and 'backbone.layer3' in groups
    # each named group holds exactly its parameters, in task_gradients' order
    start = 0
    for name, p in tool.shared_parameters(model):
        group = '.'.join(name.split('.')[:2])
        if group in groups:
            index = groups[group]
            assert index.start <= start and start + p.numel() <= index.stop, name
        start += p.numel()


def test_module_cosines_find_where_two_tasks_conflict(tool):
    """Two tasks opposed on one part and aligned on the other: the whole-vector cosine hides what the
    per-part cosines show."""
    groups = {'a': slice(0, 3), 'b': slice(3, 5)}
    grads = dict(x=torch.tensor([1., 2., 3., 1., 1.]), y=torch.tensor([-1., -2., -3., 2., 2.]))
    cosines = tool.module_cosines(grads, groups, [('x', 'y')])
    assert cosines['a'][('x', 'y')] == pytest.approx(-1)
    assert cosines['b'][('x', 'y')] == pytest.approx(1)
    table = tool.format_module_table(grads, groups, [('x', 'y')])
    assert '| a | 3 | -1.000 |' in table and '| b | 2 | +1.000 |' in table
