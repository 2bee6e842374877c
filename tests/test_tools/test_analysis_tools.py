"""tools/analysis_tools/get_flops.py and benchmark.py on the mini config at 64 x 64 (1 iteration each)."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from torch import nn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MINI = osp.join(REPO, 'configs/focus/focus_mini_1xb8-300_sod-256x256.py')
COMPONENTS = ('vit', 'edge_enhancer', 'edge_resnet', 'interactions', 'pixel_decoder', 'transformer_decoder')


def _load(name):
    path = osp.join(REPO, 'tools', 'analysis_tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def get_flops():
    return _load('get_flops')


@pytest.fixture(scope='module')
def benchmark():
    return _load('benchmark')


def test_sdpa_is_counted():
    """The handle added for scaled-dot-product attention counts Q K^T and A V."""
    from mmengine.analysis import FlopAnalyzer

    from focus_mm.utils import benchmarking

    class Attn(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v)

    q, k, v = torch.randn(2, 3, 10, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 5)
    analyzer = FlopAnalyzer(Attn(), (q, k, v))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', benchmarking.sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    assert analyzer.total() == 2 * 3 * 10 * 7 * (8 + 5)


def test_get_flops_cli(get_flops, tmp_path, capsys):
    out = tmp_path / 'flops.json'
    assert get_flops.main([MINI, '--shape', '64', '64', '--json', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'vit' in printed and 'GFLOPs' in printed
    result = json.loads(out.read_text())
    for name in COMPONENTS:
        assert result['params'][name] > 0 and result['macs'][name] > 0, name
    macs = result['macs']
    assert macs['total'] == (macs['vit'] + macs['edge_enhancer'] + macs['pixel_decoder']
                             + macs['transformer_decoder'] + macs['other'])
    assert 0 <= macs['other'] < 0.05 * macs['total']
    assert macs['edge_resnet'] + macs['interactions'] <= macs['edge_enhancer']
    assert result['gflops']['total'] == pytest.approx(2 * macs['total'] / 1e9)
    # the mini ViT (D 96, 4 layers, FFN 384) on ceil(64 / 14)^2 + 1 = 26 tokens: 12 D^2 per token and
    # layer in its linear layers, plus attention (2 x 26 x 96 per token and layer) and the patch embedding
    tokens, dims, layers = 26, 96, 4
    linear = layers * tokens * 12 * dims**2
    attention = layers * 2 * tokens**2 * dims
    patch = 25 * 3 * 14 * 14 * dims
    assert macs['vit'] == pytest.approx(linear + attention + patch, rel=0.02)
    # every parameter of the model belongs to one top-level component
    params = result['params']
    assert params['total'] == (params['vit'] + params['edge_enhancer'] + params['pixel_decoder']
                               + params['transformer_decoder'])
    assert result['input'] == dict(batch_size=1, channels=6, height=64, width=64)


def test_benchmark_cli(benchmark, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    argv = [MINI, '--shape', '64', '64', '--iters', '1', '--warmup', '0', '--train-iters', '1',
            '--train-warmup', '0', '--matmul-size', '256', '--json', str(out)]
    assert benchmark.main(argv) == 0
    printed = capsys.readouterr().out
    assert 'images/s' in printed and 'of matmul' in printed and 'train step' in printed
    r = json.loads(out.read_text())
    assert r['matmul_gflops'] > 0 and r['matmul_gflop_per_cpu_s'] > 0 and r['gflops_per_image'] > 0
    assert r['edge_prior_ms_per_image'] > 0  # the mini model takes the edge input
    for key in ('inference', 'train'):
        s = r[key]
        assert len(s['times_s']) == 1 and s['mean_s'] > 0 and s['images_per_s'] > 0, key
        assert s['peak_mb'] > 0 and s['achieved_gflops'] > 0, key
        assert 0 < s['efficiency'] < 1 and 0 < s['efficiency_cpu_time'], key
    assert r['train']['loss_finite'] is True
    assert r['inference']['achieved_gflops'] == pytest.approx(
        r['gflops_per_image'] / r['inference']['mean_s'])
