"""build_offline_model: no downloads, training-only parts dropped, SyncBN reverted on the built model."""
import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmseg.registry import MODELS

from _tiny_models import tiny_clip_loss_cfg, tiny_focus_segmentor_cfg
from focus_mm.utils import build_offline_model, offline_model_cfg


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def _sync_bn_cfg():
    cfg = tiny_focus_segmentor_cfg(prior=True, loss_clip=tiny_clip_loss_cfg())
    cfg['neck']['norm_cfg'] = dict(type='SyncBN')
    cfg['neck']['edge_pretrained'] = '/nowhere/resnet.pth'
    cfg['backbone']['init_cfg'] = dict(type='Pretrained', checkpoint='/nowhere/dinov2.pth')
    return ConfigDict(cfg)


def test_offline_cfg_drops_downloads_and_training_only_parts_and_keeps_norms():
    cfg = _sync_bn_cfg()
    before = copy.deepcopy(cfg)
    offline = offline_model_cfg(cfg)
    assert cfg == before  # the input is not modified
    assert offline.backbone.init_cfg is None and offline.neck.edge_pretrained is None
    assert offline.decode_head.loss_clip is None
    assert offline.neck.norm_cfg.type == 'SyncBN'  # reverted on the model, not in the config


def test_build_offline_model_reverts_sync_bn_with_the_same_keys_and_outputs():
    cfg = _sync_bn_cfg()
    model = build_offline_model(cfg)
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
    synced = MODELS.build(offline_model_cfg(cfg))
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in synced.modules())
    assert list(model.state_dict()) == list(synced.state_dict())
    # The same weights in a model configured with plain BN (what offline_model_cfg used to write).
    bn_cfg = offline_model_cfg(cfg)
    bn_cfg.neck.norm_cfg = dict(type='BN')
    plain = MODELS.build(bn_cfg)
    plain.init_weights()
    model.load_state_dict(plain.state_dict(), strict=True)
    inputs = torch.randn(2, 6, 64, 64)
    metas = [dict(img_shape=(64, 64), pad_shape=(64, 64))] * 2
    model.eval(), plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(model.encode_decode(inputs, metas), plain.encode_decode(inputs, metas),
                                   rtol=0, atol=0)
        model.train()  # BN statistics of the batch: works in one process, no process group needed
        assert torch.isfinite(model.encode_decode(inputs, metas)).all()
