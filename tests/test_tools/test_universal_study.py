"""tools/experiments/universal_study.py: the schedule it trains, resuming, and its tables."""
import os.path as osp

import pytest

from _tools import REPO, load_tool


@pytest.fixture(scope='module')
def study():
    return load_tool('experiments', 'universal_study')


@pytest.fixture(scope='module')
def common():
    from focus_mm.utils import cli
    return cli


@pytest.mark.parametrize('config,iters,interval', [('universal', 1500, 100), ('single', 300, 100),
                                                   ('single', 40, 40)])
def test_schedule_options_land_in_the_configs(study, common, config, iters, interval):
    path = study.UNIVERSAL if config == 'universal' else study.SINGLE.format(task='cod')
    options = common.parse_cfg_options(study._schedule_options(iters, checkpoint_interval=100))
    cfg = common.load_config(osp.join(REPO, path), options)
    assert cfg.train_cfg.max_iters == iters and cfg.param_scheduler[0].end == iters
    assert cfg.train_cfg.val_begin == iters + 1  # no validation while training
    assert cfg.default_hooks.checkpoint.interval == interval
    assert cfg.default_hooks.checkpoint.get('save_last', True)  # iter_<iters>.pth at the end


def test_training_always_resumes_from_the_work_dir(study, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(study, '_run', lambda cmd, log: calls.append((cmd, log)))
    work = tmp_path / 'universal_1500_seed1'
    work.mkdir()
    (work / 'train.out').write_text('log of the stopped run')
    ckpt = study._train(study.UNIVERSAL, str(work), seed=1, iters=1500, checkpoint_interval=100, batch_size=4)
    assert ckpt == str(work / 'iter_1500.pth')
    (cmd, log), = calls
    assert cmd[cmd.index('--work-dir') + 1] == str(work) and '--resume' in cmd
    assert cmd[cmd.index('--resume') + 1] == '--cfg-options'  # resume = the work dir's last checkpoint
    assert {'randomness.seed=1', 'train_dataloader.batch_size=4'} <= set(cmd)
    assert (work / 'train.out.before_resume').read_text() == 'log of the stopped run'  # the old log kept
    (work / 'iter_1500.pth').write_bytes(b'')
    study._train(study.UNIVERSAL, str(work), seed=1, iters=1500, checkpoint_interval=100)
    assert len(calls) == 1  # a finished run is not trained again


def test_a_universal_variant_trains_with_its_options_under_its_tag(study, common, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(study, '_run', lambda cmd, log: calls.append(cmd))
    variant = ['model.neck.tasks=None']  # the design without the edge ResNet's per-task affine
    study._train(study.UNIVERSAL, str(tmp_path / 'w'), seed=0, iters=1500, checkpoint_interval=100,
                 extra_options=variant)
    assert calls[0][-1] == variant[0]  # after the schedule: the variant has the last word
    cfg = common.load_config(osp.join(REPO, study.UNIVERSAL), common.parse_cfg_options(variant))
    assert cfg.model.neck.tasks is None and cfg.model.decode_head.tasks
    monkeypatch.setattr('sys.argv', ['universal_study.py', '--universal-options', variant[0]])
    with pytest.raises(SystemExit):  # a variant without a name would overwrite the default's work dirs
        study.parse_args()
    monkeypatch.setattr('sys.argv', ['universal_study.py', '--universal-options', variant[0], '--tag', 'ea'])
    assert study.parse_args().tag == 'ea'


def test_table_gives_mean_and_sd_over_seeds(study):
    args = type('Args', (), dict(universal_iters=1500, single_iters=300, seeds=[0, 1]))()
    universal = {0: {'sod/Sm': 0.5}, 1: {'sod/Sm': 0.7}}
    single = {0: {'sod/Sm': 0.9}}
    text = study.table(universal, single, {}, {'centre prior': {'sod/Sm': 0.661}}, args)
    row = next(line for line in text.splitlines() if line.startswith('| sod | Sm |'))
    assert row == '| sod | Sm | 0.600 ± 0.141 | 0.900 | 0.661 |'


def test_train_split_options_score_the_training_images(study, common):
    cfg = common.load_config(osp.join(REPO, study.UNIVERSAL),
                             common.parse_cfg_options(study._train_split_options(universal=True)))
    sets = cfg.test_dataloader.dataset.datasets
    assert [(d.task, d.split, d.test_mode) for d in sets] == [(t, 'train', True) for t in study.TASKS]
    cfg = common.load_config(osp.join(REPO, study.SINGLE.format(task='sd')),
                             common.parse_cfg_options(study._train_split_options(universal=False)))
    assert (cfg.test_dataloader.dataset.task, cfg.test_dataloader.dataset.split) == ('sd', 'train')


def test_gap_table_puts_train_beside_test(study):
    args = type('Args', (), dict(seeds=[0]))()
    gap = {0: {'universal/cod/Sm': 0.9, 'single/cod/Sm': 0.95}}
    text = study.gap_table({0: {'cod/Sm': 0.6}}, {0: {'cod/Sm': 0.62}}, gap, args)
    assert '| cod | 0.900 | 0.600 | 0.950 | 0.620 |' in text.splitlines()
