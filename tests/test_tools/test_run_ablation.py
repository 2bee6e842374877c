"""tools/experiments/run_ablation.py: config collection, the per-row config, the table, --resume.

Training and testing are the real tools/train.py and tools/test.py in subprocesses; here ``_run`` is
replaced by a fake that writes what they would (a checkpoint, ``last_checkpoint``, the metrics JSON), so
the runner's own logic is tested in seconds. The real run is the mini table of docs/results/ablations.md.
"""
import csv
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from _tools import REPO, load_tool

ABLATIONS = osp.join(REPO, 'configs', 'focus', 'ablations')
MINI_ROWS = ['focus-ablation-0-baseline_mini_1xb2-150_cod-256x256.py',
             'focus-ablation-4-frozen_mini-g_1xb2-150_cod-256x256.py']


@pytest.fixture(scope='module')
def runner():
    return load_tool('experiments', 'run_ablation')


class FakeTools:
    """Stands in for tools/train.py and tools/test.py; records the commands."""

    def __init__(self):
        self.calls = []

    def __call__(self, cmd, log_path, env):
        tool = osp.basename(cmd[1])
        self.calls.append((tool, cmd))
        work_dir = cmd[cmd.index('--work-dir') + 1]
        os.makedirs(work_dir, exist_ok=True)
        if tool == 'train.py':
            max_iters = Config.fromfile(cmd[2]).train_cfg.max_iters
            checkpoint = osp.join(work_dir, f'iter_{max_iters}.pth')
            open(checkpoint, 'w').close()
            with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(checkpoint)
        else:
            frozen = 'frozen' in cmd[2]
            results = {'cod': dict(Sm=0.6 if frozen else 0.5, meanEm=0.7, wFm=0.3, MAE=0.2)}
            with open(osp.join(work_dir, 'foreground_metrics.json'), 'w') as f:
                json.dump(dict(results=results), f)


def _rows(work_dir):
    with open(osp.join(work_dir, 'ablation.csv')) as f:
        return list(csv.DictReader(f))


def test_collect_configs_takes_folders_files_and_a_filter(runner):
    mini = runner.collect_configs([ABLATIONS], '*_mini*')
    assert [osp.basename(p) for p in mini] == sorted(osp.basename(p) for p in mini) and len(mini) == 7
    assert all('_mini' in osp.basename(p) for p in mini)
    one = osp.join(ABLATIONS, MINI_ROWS[0])
    assert runner.collect_configs([one]) == [one]
    with pytest.raises(SystemExit, match='config not found: nope.py'):
        runner.collect_configs(['nope.py'])
    with pytest.raises(SystemExit, match="--filter '\\*_resnet\\*' matches none"):
        runner.collect_configs([ABLATIONS], '*_resnet*')
    with pytest.raises(SystemExit, match='share a name'):
        runner.collect_configs([one, one])


def test_run_config_sets_seed_length_and_turns_validation_off(runner, tmp_path):
    config = osp.join(ABLATIONS, MINI_ROWS[0])
    args = runner.parse_args([config, '--work-dir', str(tmp_path), '--seed', '3', '--max-iters', '4'])
    path = str(tmp_path / 'row.py')
    assert runner.write_run_config(config, Config.fromfile(config), args, path) == 4
    cfg = Config.fromfile(path)
    assert cfg.randomness.seed == 3
    assert cfg.train_cfg.max_iters == 4 and cfg.train_cfg.val_interval == 5
    assert cfg.param_scheduler[0].end == 4 and cfg.default_hooks.checkpoint.interval == 4
    assert cfg.model.decode_head.joint_prediction is False  # everything else comes from the config
    args = runner.parse_args([config, '--work-dir', str(tmp_path), '--val'])
    assert runner.write_run_config(config, Config.fromfile(config), args, path) == 150
    cfg = Config.fromfile(path)
    assert cfg.train_cfg.val_interval == 150 and cfg.randomness.seed == 0


def test_table_rows_switches_parameters_metrics_and_resume(runner, tmp_path, monkeypatch, capsys):
    fake = FakeTools()
    monkeypatch.setattr(runner, '_run', fake)
    configs = [osp.join(ABLATIONS, name) for name in MINI_ROWS]
    work_dir = str(tmp_path / 'abl')
    assert runner.main([*configs, '--work-dir', work_dir, '--max-iters', '2']) == 0
    assert [tool for tool, _ in fake.calls] == ['train.py', 'test.py'] * 2
    assert all('--resume' not in cmd for _, cmd in fake.calls)

    rows = _rows(work_dir)
    assert [(r['id'], r['variant'], r['backbone']) for r in rows] == [('0', 'baseline', 'mini'),
                                                                       ('4', 'frozen', 'mini-g')]
    assert [r['JP'] for r in rows] == ['0', '1'] and [r['frozen'] for r in rows] == ['0', '1']
    assert [r['CR'] for r in rows] == ['0', '1'] and [r['EE'] for r in rows] == ['0', '1']
    params = [int(r['params']) for r in rows]
    trainable = [int(r['trainable']) for r in rows]
    assert trainable[0] == params[0] - 192  # only DINOv2's final norm (M0 input) is not trained
    assert trainable[1] < params[1] - 1e6  # the frozen ViT
    assert [float(r['Sm']) for r in rows] == [0.5, 0.6] and all(r['max_iters'] == '2' for r in rows)
    with open(osp.join(work_dir, 'ablation.md')) as f:
        markdown = f.read()
    assert markdown.count('\n') == 4 and '| 4 | frozen | mini-g | x | x | x | - | x | - |' in markdown
    assert 'baseline' in capsys.readouterr().out

    # --resume: finished rows are skipped; a row finished with another seed is trained again
    fake.calls.clear()
    assert runner.main([*configs, '--work-dir', work_dir, '--max-iters', '2', '--resume']) == 0
    assert fake.calls == []
    assert len(_rows(work_dir)) == 2
    again = [configs[0], '--work-dir', work_dir, '--max-iters', '2', '--resume', '--seed', '1']
    assert runner.main(again) == 0
    assert [tool for tool, _ in fake.calls] == ['train.py', 'test.py']
    assert '--resume' not in fake.calls[0][1]  # the old seed's checkpoint must not be continued
    fake.calls.clear()  # a changed config (here through --cfg-options) is trained again too
    changed = [*again, '--cfg-options', 'model.decode_head.num_decoder_layers=2']
    assert runner.main(changed) == 0 and len(fake.calls) == 2
    assert fake.calls[0][1][-2:] == ['--cfg-options', 'model.decode_head.num_decoder_layers=2']

    # an interrupted row (a checkpoint but no result) continues its training
    fake.calls.clear()
    os.remove(osp.join(work_dir, osp.splitext(MINI_ROWS[1])[0], runner.RESULT_FILE))
    assert runner.main([configs[1], '--work-dir', work_dir, '--max-iters', '2', '--resume']) == 0
    assert fake.calls[0][0] == 'train.py' and fake.calls[0][1][-1] == '--resume'


def test_pr_row_with_a_missing_checkpoint_stops_before_training(runner, tmp_path, monkeypatch):
    fake = FakeTools()
    monkeypatch.setattr(runner, '_run', fake)
    config = osp.join(ABLATIONS, 'focus-ablation-6-jp-cr-ee-pr_dinov2-g_1xb2-10k_cod-512x512.py')
    with pytest.raises(SystemExit, match="load_from='checkpoints/focus_dinov2-g_ade20k-512x512.pth'"):
        runner.main([config, '--work-dir', str(tmp_path)])
    assert fake.calls == []
    # the mini PR row pointed at a checkpoint: PR is read from the resulting config
    pretrained = tmp_path / 'pretrained.pth'
    pretrained.write_bytes(b'')
    mini = osp.join(ABLATIONS, 'focus-ablation-6-jp-cr-ee-pr_mini-g_1xb2-150_cod-256x256.py')
    assert runner.main([mini, '--work-dir', str(tmp_path / 'pr'), '--max-iters', '1', '--cfg-options',
                        f'load_from={pretrained}']) == 0
    assert _rows(str(tmp_path / 'pr'))[0]['PR'] == '1'
