"""tools/analysis_tools/benchmark.py --backend pytorch onnxruntime on the mini config at 64 x 64."""
import json
import os.path as osp

import pytest

from _tools import REPO, load_tool

MINI = osp.join(REPO, 'configs/focus/focus_mini_1xb8-300_sod-256x256.py')


def test_benchmark_runs_both_backends_on_the_same_inputs(tmp_path, capsys):
    benchmark = load_tool('analysis_tools', 'benchmark')
    out = tmp_path / 'bench.json'
    assert benchmark.main([MINI, '--shape', '64', '64', '--iters', '1', '--warmup', '0', '--threads', '1',
                           '--device', 'cpu', '--backend', 'pytorch', 'onnxruntime', '--json', str(out),
                           '--matmul-size', '256']) == 0
    printed = capsys.readouterr().out
    assert 'onnxruntime is' in printed and 'x as fast as pytorch' in printed
    result = json.loads(out.read_text())
    assert set(result['backends']) == {'pytorch', 'onnxruntime'}
    assert result['machine']['threads'] == 1
    for stats in result['backends'].values():
        assert stats['mean_s'] > 0 and stats['peak_mb'] > 0 and len(stats['times_s']) == 1
    assert result['ratio_pytorch_over_onnxruntime'] > 0 and result['matmul_gflops'] > 0
    # the same random weights and inputs: the two backends agree (mini config: M0 off)
    assert result['max_prob_diff'] < 1e-4 and result['mask_agreement'] >= 0.999


def test_benchmark_times_fixed_and_dynamic_graphs_side_by_side(tmp_path, capsys):
    benchmark = load_tool('analysis_tools', 'benchmark')
    out = tmp_path / 'bench.json'
    assert benchmark.main([MINI, '--shape', '64', '96', '--iters', '1', '--warmup', '0', '--threads', '1',
                           '--device', 'cpu', '--backend', 'pytorch', 'onnxruntime', '--graph', 'dynamic',
                           'fixed', '--json', str(out), '--matmul-size', '256']) == 0
    printed = capsys.readouterr().out
    assert 'onnxruntime:dynamic is' in printed and 'onnxruntime:fixed is' in printed
    result = json.loads(out.read_text())
    assert list(result['backends']) == ['pytorch', 'onnxruntime:dynamic', 'onnxruntime:fixed']
    for graph in ('dynamic', 'fixed'):
        assert result[f'ratio_pytorch_over_onnxruntime:{graph}'] > 0
        assert result[f'max_prob_diff:{graph}'] < 1e-4 and result[f'mask_agreement:{graph}'] >= 0.999


def test_benchmark_checkpoint_needs_the_onnxruntime_backend():
    benchmark = load_tool('analysis_tools', 'benchmark')
    with pytest.raises(SystemExit):
        benchmark.main([MINI, '--device', 'cpu', '--checkpoint', 'missing.pth'])
