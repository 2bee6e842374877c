"""One checkpoint policy for every mmengine scheme and entry point (checkpoint_loaders.safe_load).

A payload file (a pickle whose ``__reduce__`` would create a marker folder) is put where each scheme
looks for it: the torch hub cache for URLs (named as the URL's basename, so nothing is downloaded; the
download function is replaced by one that fails the test), a local path, a fake pavi / petrel backend.
Every scheme must refuse it with a message naming the opt-in, and the marker must never appear.
"""
import logging
import os
import os.path as osp
import pickle
import sys
import types

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import (CheckpointLoader, get_external_models, get_mmcls_models,
                                       get_torchvision_models)

from _tiny_models import NARROW_RESNET18, TINY_VIT_ARCH
from _tools import load_tool
from focus_mm.engine import checkpoint_loaders
from focus_mm.engine.checkpoint_loaders import CorruptCheckpointError, UnsafeCheckpointError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Payload:
    """Unpickling this creates the folder ``path``: the proof that code from the file ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path, ))


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A temporary torch hub and mmengine home; any download attempt fails the test."""
    old_dir = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    monkeypatch.delenv('FOCUS_TRUSTED_CHECKPOINTS', raising=False)

    def no_network(url, *args, **kwargs):
        raise AssertionError(f'test tried to download {url}')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)
    ns = types.SimpleNamespace(root=tmp_path, checkpoints=tmp_path / 'hub' / 'checkpoints',
                               marker=str(tmp_path / 'payload_ran'))
    ns.checkpoints.mkdir(parents=True)
    yield ns
    torch.hub.set_dir(old_dir)


def _payload(path, marker):
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': _Payload(marker)}, str(path))
    return str(path)


def _cache(hub, url):
    """Put the payload in the hub cache under the URL's basename, as if downloaded earlier."""
    return _payload(hub.checkpoints / osp.basename(url), hub.marker)


def _examples(hub, monkeypatch):
    """One name per registered scheme prefix, with the payload where that scheme reads it."""
    ex = {}
    ex[''] = _payload(hub.root / 'local.pth', hub.marker)
    for prefix in ('http://', 'https://'):
        url = f'{prefix}download.example.invalid/weights/payload_{prefix[:-3]}.pth'
        _cache(hub, url)
        ex[prefix] = url
    tv_url = get_torchvision_models()['resnet50']
    _cache(hub, tv_url)
    ex['torchvision://'] = 'torchvision://resnet50'
    ex['modelzoo://'] = 'modelzoo://resnet50'
    _cache(hub, get_external_models()['resnet50_v1c'])
    ex['open-mmlab://'] = 'open-mmlab://resnet50_v1c'
    ex['openmmlab://'] = 'openmmlab://resnet50_v1c'
    _cache(hub, get_mmcls_models()['resnet50'])
    ex['mmcls://'] = 'mmcls://resnet50'

    payload_bytes = open(ex[''], 'rb').read()

    class _PaviModel:
        name = 'payload_pavi.pth'

        def download(self, path):
            with open(path, 'wb') as f:
                f.write(payload_bytes)

    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=lambda path: _PaviModel())
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    ex['pavi://'] = 'pavi://models/payload.pth'

    import mmengine.fileio
    monkeypatch.setattr(mmengine.fileio, 'get_file_backend',
                        lambda path, backend_args=None: types.SimpleNamespace(get=lambda p: payload_bytes))
    ex[r'(\S+\:)?s3://'] = 's3://bucket/payload.pth'
    ex[r'(\S+\:)?petrel://'] = 'cluster:petrel://bucket/payload.pth'
    return ex


def test_every_mmengine_scheme_is_routed_to_the_safe_loader():
    schemes = dict(CheckpointLoader._schemes)
    assert set(schemes) == set(checkpoint_loaders.SCHEME_LOADERS), \
        'a scheme is not covered by focus_mm.engine.checkpoint_loaders'
    for prefix, loader in schemes.items():
        assert loader.__module__ == 'focus_mm.engine.checkpoint_loaders', prefix


def test_payload_is_refused_by_every_scheme_and_never_runs(hub, monkeypatch):
    examples = _examples(hub, monkeypatch)
    assert set(examples) == set(CheckpointLoader._schemes), 'a registered scheme has no example here'
    for prefix, name in examples.items():
        loader = CheckpointLoader._get_checkpoint_loader(name)
        assert checkpoint_loaders.SCHEME_LOADERS[prefix] is loader, name
        with pytest.raises(UnsafeCheckpointError, match='FOCUS_TRUSTED_CHECKPOINTS=1') as err:
            CheckpointLoader.load_checkpoint(name, map_location='cpu')
        assert 'posix.mkdir' in str(err.value) or 'mkdir' in str(err.value), (name, str(err.value))
        assert not osp.exists(hub.marker), f'the payload ran when loading {name}'
    # URLs name the cached file they read
    with pytest.raises(UnsafeCheckpointError, match='payload_http.pth.*downloaded from http://'):
        CheckpointLoader.load_checkpoint(examples['http://'])


def test_entry_points_refuse_the_payload(hub, monkeypatch, tmp_path):
    """init_cfg, edge_pretrained, load_from / resume (the runner), the API, the converters."""
    from mmengine.runner import Runner

    from focus_mm.apis import load_model_checkpoint
    from focus_mm.models.backbones import DINOv2
    from focus_mm.models.necks import EdgeEnhancerNeck

    url = 'https://download.example.invalid/focus/payload_model.pth'
    _cache(hub, url)
    _cache(hub, get_torchvision_models()['resnet50'])

    backbone = DINOv2(arch=TINY_VIT_ARCH, img_size=42, interaction_groups=[[0, 0], [1, 1], [2, 2], [3, 3]],
                      init_cfg=dict(type='Pretrained', checkpoint=url))
    with pytest.raises(UnsafeCheckpointError):
        backbone.init_weights()
    neck = EdgeEnhancerNeck(embed_dims=32, num_heads=4, num_points=2, edge_backbone=NARROW_RESNET18,
                            norm_cfg=dict(type='BN'), edge_pretrained='torchvision://resnet50')
    with pytest.raises(UnsafeCheckpointError):
        neck.init_weights()

    runner = Runner(model=torch.nn.Linear(2, 2), work_dir=str(tmp_path / 'work'))
    with pytest.raises(UnsafeCheckpointError):
        runner.load_checkpoint(url)  # load_from
    with pytest.raises(UnsafeCheckpointError):
        runner.resume(url)  # --resume <file>
    with pytest.raises(UnsafeCheckpointError):
        load_model_checkpoint(torch.nn.Linear(2, 2), url)  # FocusInferencer(cfg, checkpoint) calls this

    converter = load_tool('model_converters', 'dinov2_to_mmpretrain')
    monkeypatch.setattr(sys, 'argv', ['dinov2_to_mmpretrain.py', url, str(tmp_path / 'out.pth')])
    with pytest.raises(UnsafeCheckpointError):
        converter.main()
    assert not osp.exists(tmp_path / 'out.pth')
    assert not osp.exists(hub.marker)


def test_inferencer_refuses_the_payload(hub):
    from focus_mm.apis import FocusInferencer

    url = 'http://download.example.invalid/focus/payload_inferencer.pth'
    _cache(hub, url)
    with pytest.raises(UnsafeCheckpointError, match='payload_inferencer.pth'):
        FocusInferencer(osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py'), url)
    assert not osp.exists(hub.marker)


def test_truncated_file_is_reported_and_never_fully_unpickled(hub, monkeypatch):
    good = hub.root / 'good.pth'
    torch.save({'state_dict': {'w': torch.randn(64, 64)}}, str(good))
    data = good.read_bytes()
    url = 'https://download.example.invalid/weights/truncated-0123abcd.pth'
    (hub.checkpoints / 'truncated-0123abcd.pth').write_bytes(data[:len(data) // 2])
    local = hub.root / 'truncated_local.pth'
    local.write_bytes(data[:len(data) // 2])
    legacy = hub.root / 'legacy.pth'
    torch.save({'w': torch.randn(64, 64)}, str(legacy), _use_new_zipfile_serialization=False)
    legacy_cut = hub.root / 'legacy_cut.pth'
    legacy_cut.write_bytes(legacy.read_bytes()[:300])

    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get('weights_only'))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, 'load', spy)
    for trusted in ('0', '1'):  # even with the opt-in: reported as damaged, no full unpickle
        monkeypatch.setenv('FOCUS_TRUSTED_CHECKPOINTS', trusted)
        # the legacy file is cut inside a class name (collections.OrderedDict -> collections.Ordered...)
        for name, shown in ((url, 'truncated-0123abcd.pth'), (str(local), 'truncated_local.pth'),
                            (str(legacy_cut), 'legacy_cut.pth')):
            with pytest.raises(CorruptCheckpointError, match=f'{shown}.*truncated or corrupt'):
                CheckpointLoader.load_checkpoint(name)
    assert len(calls) == 6 and all(c is True for c in calls), calls


def test_opt_in_loads_the_payload_and_logs_it(hub, monkeypatch):
    from mmengine.logging import MMLogger

    url = 'https://download.example.invalid/weights/payload_optin.pth'
    _cache(hub, url)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    monkeypatch.setenv('FOCUS_TRUSTED_CHECKPOINTS', '1')
    try:
        ckpt = CheckpointLoader.load_checkpoint(url)
    finally:
        logger.removeHandler(handler)
    assert osp.isdir(hub.marker), 'the opt-in did not unpickle in full'
    torch.testing.assert_close(ckpt['state_dict']['w'], torch.ones(2))
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert any('FOCUS_TRUSTED_CHECKPOINTS=1: fully unpickling' in m and 'payload_optin.pth' in m
               for m in warnings), warnings


def test_safe_url_checkpoint_loads_without_opt_in(hub):
    url = 'https://download.example.invalid/weights/plain-00000000.pth'
    torch.save({'state_dict': {'w': torch.arange(3.)}, 'meta': {'epoch': np.int64(2), 'a': np.zeros(2)}},
               str(hub.checkpoints / 'plain-00000000.pth'))
    ckpt = CheckpointLoader.load_checkpoint(url)
    assert ckpt['state_dict']['w'].tolist() == [0., 1., 2.] and int(ckpt['meta']['epoch']) == 2
    # mmcls:// keeps the classifier's backbone, prefix stripped (mmengine's rule)
    torch.save({'state_dict': {'backbone.conv.weight': torch.ones(1), 'head.fc.weight': torch.ones(1)}},
               str(hub.checkpoints / osp.basename(get_mmcls_models()['resnet50'])))
    assert list(CheckpointLoader.load_checkpoint('mmcls://resnet50')['state_dict']) == ['conv.weight']


def test_detectron2_pickle_is_read_safely(tmp_path, monkeypatch):
    from focus_mm.engine.checkpoint_loaders import safe_unpickle

    monkeypatch.delenv('FOCUS_TRUSTED_CHECKPOINTS', raising=False)
    good = tmp_path / 'model_final.pkl'
    with open(good, 'wb') as f:
        pickle.dump({'model': {'sem_seg_head.w': np.ones((2, 3), np.float32)}, '__author__': 'x'}, f,
                    protocol=2)
    assert safe_unpickle(str(good))['model']['sem_seg_head.w'].shape == (2, 3)
    evil = tmp_path / 'evil.pkl'
    with open(evil, 'wb') as f:
        pickle.dump({'model': {}, 'x': _Payload(str(tmp_path / 'ran'))}, f, protocol=2)
    with pytest.raises(UnsafeCheckpointError, match='evil.pkl'):
        safe_unpickle(str(evil))
    assert not osp.exists(tmp_path / 'ran')
    cut = tmp_path / 'cut.pkl'
    cut.write_bytes(good.read_bytes()[:40])
    with pytest.raises(CorruptCheckpointError, match='cut.pkl'):
        safe_unpickle(str(cut))


def test_local_loader_reports_a_missing_file(tmp_path):
    loader = CheckpointLoader._get_checkpoint_loader(str(tmp_path / 'x.pth'))
    assert loader.__module__ == 'focus_mm.engine.checkpoint_loaders'
    with pytest.raises(FileNotFoundError, match='x.pth'):
        loader(str(tmp_path / 'x.pth'))


def test_mmengine_training_state_loads_safely(tmp_path):
    """A MessageHub state (HistoryBuffer, numpy) loads with weights_only=True: no full unpickle needed."""
    from mmengine.logging import MessageHub

    hub = MessageHub.get_instance('checkpoint_loaders_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', 3)
    path = tmp_path / 'state.pth'
    torch.save({'message_hub': hub.state_dict(), 'meta': {'seed': np.int64(3), 'arr': np.arange(3)},
                'state_dict': {'w': torch.ones(2)}}, path)
    loader = CheckpointLoader._get_checkpoint_loader(str(path))
    ckpt = loader(str(path), map_location='cpu')
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == pytest.approx(1.0)
    assert ckpt['meta']['arr'].tolist() == [0, 1, 2]
