"""--cfg-options: one DictAction parser (focus_mm/utils/cli.py) for every tool; new keys accepted as
mmseg does."""
import os.path as osp

import pytest

from _tools import REPO, load_tool
MINI = osp.join(REPO, 'configs/focus/focus_mini_1xb8-300_sod-256x256.py')
FULL = osp.join(REPO, 'configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py')  # no `randomness`
NEW_KEYS = ['randomness.seed=1', 'env_cfg.dist_cfg.timeout=7200']


@pytest.fixture(scope='module')
def common():
    from focus_mm.utils import cli
    return cli


def test_keys_the_config_does_not_hold_are_added_and_listed(common, capsys):
    options = common.parse_cfg_options(NEW_KEYS + ['model.decode_head.train_cfg.num_points=7', 'resume=True'])
    assert options == {'randomness.seed': 1, 'env_cfg.dist_cfg.timeout': 7200,
                       'model.decode_head.train_cfg.num_points': 7, 'resume': True}
    cfg = common.load_config(FULL)
    assert 'randomness' not in cfg and 'timeout' not in cfg.env_cfg.dist_cfg  # both new to the config
    cfg = common.load_config(FULL, options)
    assert cfg.randomness.seed == 1
    assert cfg.env_cfg.dist_cfg.timeout == 7200 and cfg.env_cfg.dist_cfg.backend == 'nccl'  # merged, kept
    assert cfg.model.decode_head.train_cfg.num_points == 7 and cfg.resume is True
    err = capsys.readouterr().err
    assert "'randomness.seed'" in err and "'env_cfg.dist_cfg.timeout'" in err  # the added keys are listed
    assert 'num_points' not in err and 'resume' not in err  # existing keys are not


def test_a_new_top_level_name_the_runner_does_not_read_is_refused(common):
    with pytest.raises(SystemExit, match=r"unknown key\(s\) \['trian_cfg.max_iters'\]"):
        common.load_config(FULL, common.parse_cfg_options(['trian_cfg.max_iters=3']))
    assert {'randomness', 'env_cfg', 'train_cfg', 'custom_hooks', 'model_wrapper_cfg'} <= common.runner_keys()


def test_every_tool_parses_with_the_same_action(common):
    """train.py, test.py, get_flops.py and benchmark.py declare the option through add_cfg_options;
    run_ablation.py keeps the strings (it passes them on) and parses them with parse_cfg_options."""
    import argparse
    parser = argparse.ArgumentParser()
    common.add_cfg_options(parser)
    expected = {'randomness.seed': 1, 'env_cfg.dist_cfg.timeout': 7200, 'a.b': [1, 2], 'c': 'x'}
    pairs = NEW_KEYS + ['a.b=[1,2]', 'c=x']
    assert parser.parse_args(['--cfg-options', *pairs]).cfg_options == expected
    assert common.parse_cfg_options(pairs) == expected
    ablation = load_tool('experiments', 'run_ablation')
    assert ablation.parse_args(['x.py', '--work-dir', 'w', '--cfg-options', *pairs]).cfg_options == pairs
    for tool in ('train.py', 'test.py', 'analysis_tools/get_flops.py', 'analysis_tools/benchmark.py'):
        source = open(osp.join(REPO, 'tools', tool)).read()
        # benchmark.py takes get_flops.py's shared arguments, --cfg-options among them
        declares = 'add_cfg_options(parser)' in source or 'add_model_input_arguments(parser)' in source
        assert declares and 'DictAction' not in source, tool


def test_get_flops_accepts_both_new_keys(capsys):
    get_flops = load_tool('analysis_tools', 'get_flops')
    assert get_flops.main([MINI, '--shape', '28', '28', '--cfg-options', *NEW_KEYS]) == 0
    captured = capsys.readouterr()
    assert 'GFLOPs' in captured.out and 'env_cfg.dist_cfg.timeout' in captured.err
