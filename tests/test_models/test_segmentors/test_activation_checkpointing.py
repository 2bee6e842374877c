"""The activation-checkpointing switch (``model.backbone.with_cp=True model.neck.with_cp=True``) on a whole
tiny FOCUS: every DINOv2 block, injector and extractor is recomputed in the backward pass, and the loss and
every gradient equal those without it."""
import copy

import pytest
import torch

from _tiny_models import build_model, synthetic_foreground_batch, tiny_focus_segmentor_cfg

pytestmark = pytest.mark.usefixtures('one_thread')
SWITCH = {'model.backbone.with_cp': True, 'model.neck.with_cp': True}


def _loss_and_grads(cfg, monkeypatch, calls):
    from focus_mm.models.backbones import dinov2
    from focus_mm.models.necks import adapter_modules

    def counting(*args, **kwargs):
        calls.append(1)
        return torch.utils.checkpoint.checkpoint(*args, **kwargs)

    monkeypatch.setattr(dinov2, 'checkpoint', counting)
    monkeypatch.setattr(adapter_modules, 'checkpoint', counting)
    torch.manual_seed(0)
    model = build_model(cfg)
    for block in model.neck.interactions:  # open the zero-initialised injector gates: gradients flow
        torch.nn.init.constant_(block.injector.gamma, 0.5)
    model.train()
    images, samples = synthetic_foreground_batch(num_images=2, size=64, channels=6)
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    torch.manual_seed(1)  # the same sampled points
    losses = model.loss(**data)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    return total.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_checkpointing_switch_gives_the_same_loss_and_gradients(monkeypatch):
    from mmengine.config import Config

    plain_cfg = tiny_focus_segmentor_cfg(prior=False)
    cfg = Config(dict(model=copy.deepcopy(plain_cfg)))
    cfg.merge_from_dict(SWITCH)  # what --cfg-options does
    cp_cfg = cfg.model.to_dict()
    assert cp_cfg['backbone']['with_cp'] and cp_cfg['neck']['with_cp']

    plain_calls, cp_calls = [], []
    plain_loss, plain_grads = _loss_and_grads(plain_cfg, monkeypatch, plain_calls)
    cp_loss, cp_grads = _loss_and_grads(cp_cfg, monkeypatch, cp_calls)
    assert plain_calls == []
    assert len(cp_calls) == 4 + 4 + 6  # 4 DINOv2 blocks, 4 injectors, 4 + 2 extractors
    torch.testing.assert_close(cp_loss, plain_loss)
    assert cp_grads.keys() == plain_grads.keys()
    assert any(n.startswith('backbone.layers.') for n in cp_grads)
    assert any('.injector.' in n for n in cp_grads) and any('.extractors.' in n for n in cp_grads)
    for name, grad in plain_grads.items():
        torch.testing.assert_close(cp_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)
