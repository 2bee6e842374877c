"""tools/analysis_tools/benchmark.py --backend pytorch onnxruntime on the mini config at 64 x 64."""
import json
import os.path as osp

from _tools import REPO, load_tool

MINI = osp.join(REPO, 'configs/focus/focus_mini_1xb8-300_sod-256x256.py')


def test_benchmark_runs_both_backends_on_the_same_inputs(tmp_path, capsys):
    benchmark = load_tool('analysis_tools', 'benchmark')
    out = tmp_path / 'bench.json'
    assert benchmark.main([MINI, '--shape', '64', '64', '--iters', '1', '--warmup', '0', '--threads', '1',
                           '--device', 'cpu', '--backend', 'pytorch', 'onnxruntime', '--json', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'onnxruntime is' in printed and 'x as fast as pytorch' in printed
    result = json.loads(out.read_text())
    assert set(result['backends']) == {'pytorch', 'onnxruntime'}
    assert result['machine']['threads'] == 1
    for stats in result['backends'].values():
        assert stats['mean_s'] > 0 and stats['peak_mb'] > 0 and len(stats['times_s']) == 1
    assert result['ratio_pytorch_over_onnxruntime'] > 0
    # the same random weights and inputs: the two backends agree (mini config: M0 off)
    assert result['max_prob_diff'] < 1e-4 and result['mask_agreement'] >= 0.999
