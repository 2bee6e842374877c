"""A universal EdgeEnhancerNeck: per-task affine of the edge CNN's batch norms, fed by the head's tasks."""
import copy

import pytest
import torch

from _tiny_models import build_model, synthetic_foreground_batch, tiny_focus_segmentor_cfg
from focus_mm.apis import set_inference_task

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py

TASKS = ('sod', 'dbd', 'fd')
HEAD_TASK_PARAMS = ('decode_head.task_query_feat.weight', 'decode_head.task_query_embed.weight',
                    'decode_head.task_pixel_embed.weight')
NECK_TASK_PARAMS = ('neck.task_edge_affine.scale.weight', 'neck.task_edge_affine.shift.weight')


def _cfg(neck_tasks=TASKS, head_tasks=TASKS):
    cfg = tiny_focus_segmentor_cfg(prior=False, tasks=head_tasks)
    cfg['neck']['tasks'] = neck_tasks
    return cfg


def _same_image_as(tasks, training=False, model=None):
    images, samples = synthetic_foreground_batch(1, size=64, seed=3, channels=6)  # image + edge image
    batch = dict(inputs=[images[0].clone() for _ in tasks], data_samples=[])
    for task in tasks:
        sample = copy.deepcopy(samples[0])
        sample.set_metainfo(dict(task=task))
        batch['data_samples'].append(sample)
    return model.data_preprocessor(batch, training=training)


def _predict(model, tasks):
    data = _same_image_as(tasks, model=model)
    model.eval()
    with torch.no_grad():
        return [o.seg_logits.data for o in model.predict(data['inputs'], data['data_samples'])]


def test_neck_task_parameters_and_single_task_neck_unchanged():
    universal = build_model(_cfg())
    single = build_model(tiny_focus_segmentor_cfg(prior=False, tasks=TASKS))
    extra = set(universal.state_dict()) - set(single.state_dict())
    assert extra == set(NECK_TASK_PARAMS)
    norms = [m for m in universal.neck.edge_backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    channels = sum(m.num_features for m in norms)
    assert universal.neck.task_edge_affine.scale.weight.shape == (len(TASKS), channels)
    assert all(not universal.get_parameter(n).any() for n in NECK_TASK_PARAMS)  # zero at init


def test_the_neck_alone_tells_the_tasks_apart_through_predict():
    """Head task offsets zeroed: the same image gives the same output under every task until the neck's
    per-task affine differs, then different outputs (the segmentor hands the neck each image's task)."""
    torch.manual_seed(0)
    model = build_model(_cfg())
    with torch.no_grad():
        for name in HEAD_TASK_PARAMS:
            model.get_parameter(name).zero_()
    same = _predict(model, TASKS)
    assert all(torch.allclose(p, same[0], atol=1e-6) for p in same)
    with torch.no_grad():
        model.neck.task_edge_affine.shift.weight.normal_()
    differ = _predict(model, TASKS)
    assert not torch.allclose(differ[1], differ[2], atol=1e-4)
    # each image is decoded with its own row: the dbd image alone equals the dbd image in the batch
    alone = _predict(model, ['dbd'])
    assert torch.allclose(alone[0], differ[1], atol=1e-5)


def test_mixed_batch_trains_the_neck_rows_of_its_tasks_only():
    torch.manual_seed(0)
    model = build_model(_cfg()).train()
    data = _same_image_as(['dbd', 'fd', 'dbd', 'fd'], training=True, model=model)
    losses = model.loss(data['inputs'], data['data_samples'])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    for name in NECK_TASK_PARAMS:
        norms = model.get_parameter(name).grad.norm(dim=1)
        assert norms[TASKS.index('dbd')] > 0 and norms[TASKS.index('fd')] > 0, (name, norms)
        assert norms[TASKS.index('sod')] == 0, (name, norms)


def test_inference_task_reaches_the_neck_and_features_without_metainfo_need_it():
    torch.manual_seed(0)
    model = build_model(_cfg())
    with torch.no_grad():
        model.neck.task_edge_affine.shift.weight.normal_()
    by_metainfo = _predict(model, ['fd'])[0]
    set_inference_task(model, 'fd')
    as_fd = _predict(model, ['sod'])[0]  # the image's own 'sod' is overridden, in the neck too
    assert torch.allclose(as_fd, by_metainfo, atol=1e-5)
    inputs = _same_image_as(['sod'], model=model)['inputs']
    with torch.no_grad():
        feats_fd = model.extract_feat(inputs)  # no metainfo: the inference task
        set_inference_task(model, 'dbd')
        feats_dbd = model.extract_feat(inputs)
    assert not torch.allclose(feats_fd[0], feats_dbd[0])
    set_inference_task(model, None, required=False)
    with pytest.raises(ValueError, match='set_inference_task'):
        model.extract_feat(inputs)


def test_task_lists_must_agree_and_need_the_edge_branch():
    with pytest.raises(ValueError, match=r"neck.tasks=\['sod', 'fd'\] but decode_head.tasks"):
        build_model(_cfg(neck_tasks=('sod', 'fd')))
    cfg = _cfg()
    cfg['neck']['with_edge'] = False
    with pytest.raises(ValueError, match='with_edge'):
        build_model(cfg)
    single = build_model(tiny_focus_segmentor_cfg(prior=False))
    with pytest.raises(ValueError, match='task_ids'):
        single.neck(single.backbone, torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64),
                    task_ids=torch.tensor([0]))
