"""Task conditioning of the universal model: mixed-task batches, per-task outputs, single-task head kept."""
import copy

import pytest
import torch

from _tiny_models import (build_model, single_thread, synthetic_foreground_batch, tiny_clip_loss_cfg,
                          tiny_resnet_segmentor_cfg)

TASKS = ('sod', 'cod', 'sd')
TASK_PARAMS = ('decode_head.task_query_feat.weight', 'decode_head.task_query_embed.weight',
               'decode_head.task_pixel_embed.weight')


def _batch(model, tasks, size=64, seed=0):
    images, samples = synthetic_foreground_batch(len(tasks), size=size, seed=seed)
    for sample, task in zip(samples, tasks):
        sample.set_metainfo(dict(task=task))
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), training=True)


def _same_image_as(tasks, size=64):
    """One image, repeated, each copy labelled with another task."""
    images, samples = synthetic_foreground_batch(1, size=size, seed=3)
    batch_images, batch_samples = [], []
    for task in tasks:
        sample = copy.deepcopy(samples[0])
        sample.set_metainfo(dict(task=task))
        batch_images.append(images[0].clone())
        batch_samples.append(sample)
    return batch_images, batch_samples


def _predict_probs(model, tasks):
    images, samples = _same_image_as(tasks)
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), training=False)
    model.eval()
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])
    return [o.seg_logits.data for o in out]


def test_mixed_task_batch_trains_and_reaches_each_present_task_embedding():
    with single_thread():
        model = build_model(tiny_resnet_segmentor_cfg(tasks=TASKS, loss_clip=tiny_clip_loss_cfg()))
        model.train()
        data = _batch(model, ['sod', 'sd', 'sod', 'sd'])  # 'cod' is absent from this batch
        losses = model.loss(data['inputs'], data['data_samples'])
        total = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(total)
        assert 'decode.loss_clip' in losses and torch.isfinite(losses['decode.loss_clip'])
        total.backward()
    params = dict(model.named_parameters())
    for name in TASK_PARAMS:
        grad = params[name].grad
        assert grad is not None, name
        norms = grad.norm(dim=1)
        assert norms[TASKS.index('sod')] > 0 and norms[TASKS.index('sd')] > 0, (name, norms)
        assert norms[TASKS.index('cod')] == 0, (name, norms)  # not in the batch: no gradient


@pytest.mark.parametrize('conditioning', [('queries', ), ('pixel_decoder', ), ('queries', 'pixel_decoder')])
def test_universal_model_output_depends_on_the_task(conditioning):
    with single_thread():
        model = build_model(tiny_resnet_segmentor_cfg(tasks=TASKS, task_conditioning=conditioning))
        sod, cod, sod_again = _predict_probs(model, ['sod', 'cod', 'sod'])
    assert torch.equal(sod, sod_again)
    assert (sod - cod).abs().max() > 1e-5


def test_single_task_model_ignores_the_task_metainfo():
    with single_thread():
        model = build_model(tiny_resnet_segmentor_cfg())
        sod, cod = _predict_probs(model, ['sod', 'cod'])
    assert torch.equal(sod, cod)


def test_single_task_head_has_the_same_state_and_outputs_as_without_tasks():
    """The universal head = the single-task head + task offsets: with the offsets at zero the two agree
    exactly, so the single-task path (no task parameters) is the one every single-task config had."""
    with single_thread():
        torch.manual_seed(0)
        single = build_model(tiny_resnet_segmentor_cfg())
        universal = build_model(tiny_resnet_segmentor_cfg(tasks=TASKS))
        single_state = single.state_dict()
        universal_state = universal.state_dict()
        extra = set(universal_state) - set(single_state)
        assert extra == set(TASK_PARAMS)
        assert not any('task' in k for k in single_state)
        n_single = sum(p.numel() for p in single.parameters())
        n_universal = sum(p.numel() for p in universal.parameters())
        head = universal.decode_head
        width = head.num_queries * head.query_feat.weight.shape[1]
        assert n_universal - n_single == len(TASKS) * (2 * width + head.query_feat.weight.shape[1])
        zeros = {k: torch.zeros_like(universal_state[k]) for k in extra}
        universal.load_state_dict(dict(single_state, **zeros))
        for task in TASKS:
            assert torch.allclose(_predict_probs(single, [task])[0], _predict_probs(universal, [task])[0],
                                  atol=1e-6)


def test_unknown_or_missing_task_errors_with_the_known_tasks():
    with single_thread():
        model = build_model(tiny_resnet_segmentor_cfg(tasks=TASKS))
        with pytest.raises(KeyError, match=r"unknown task 'fd'.*\['sod', 'cod', 'sd'\]"):
            _predict_probs(model, ['sod', 'fd'])
        images, samples = synthetic_foreground_batch(1, size=64)  # no task in the metainfo
        data = model.data_preprocessor(dict(inputs=images, data_samples=samples), training=False)
        with pytest.raises(KeyError, match=r"synthetic_0.png has no task.*\['sod', 'cod', 'sd'\]"):
            model.predict(data['inputs'], data['data_samples'])
        with pytest.raises(ValueError, match='needs the task'):
            model(data['inputs'], mode='tensor')
    with pytest.raises(KeyError, match="unknown task 'xyz'"):
        build_model(tiny_resnet_segmentor_cfg(tasks=('sod', 'xyz')))
    with pytest.raises(ValueError, match='task_conditioning'):
        build_model(tiny_resnet_segmentor_cfg(tasks=TASKS, task_conditioning=('decoder', )))


def test_inference_task_overrides_each_samples_task():
    with single_thread():
        model = build_model(tiny_resnet_segmentor_cfg(tasks=TASKS))
        sod, cod = _predict_probs(model, ['sod', 'cod'])
        model.decode_head.inference_task = 'cod'
        as_cod = _predict_probs(model, ['sod', 'sd'])
    assert torch.equal(as_cod[0], cod) and torch.equal(as_cod[1], cod)


def test_clip_loss_uses_each_samples_own_prompts_and_weights():
    """The per-sample loss of a mixed batch equals each sample's loss under its own single-task prompts."""
    from mmseg.registry import MODELS

    with single_thread():
        torch.manual_seed(0)
        fg, bg = torch.randn(3, 16, 16), torch.randn(3, 16, 16)
        images = torch.rand(3, 3, 32, 32)
        universal = MODELS.build(tiny_clip_loss_cfg(task_loss_weights=dict(fd=0.01)))
        mixed = universal(fg, bg, images, tasks=['sod', 'sd', 'fd'])
        expected = 0
        for i, (task, weight) in enumerate([('sod', 1.0), ('sd', 1.0), ('fd', 0.01)]):
            single = MODELS.build(tiny_clip_loss_cfg(task=task))
            single.__dict__['clip'] = universal.__dict__['clip']  # the same frozen CLIP
            expected = expected + weight * single(fg[i:i + 1], bg[i:i + 1], images[i:i + 1])
        assert torch.allclose(mixed, expected / 3, atol=1e-5)
        # without tasks: the constructor's pair (task='sod'), as before
        assert torch.allclose(universal(fg, bg, images), universal(fg, bg, images, tasks=['sod'] * 3))
        with pytest.raises(KeyError, match="unknown task 'xyz'"):
            universal(fg, bg, images, tasks=['sod', 'xyz', 'sd'])
