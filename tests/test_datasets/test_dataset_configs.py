"""The dataset configs parse, name registered types, and the mini ones build and run end to end."""
import glob
import os

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, METRICS

from focus_mm.evaluation.metrics import TASK_METRICS

REPO = os.path.join(os.path.dirname(__file__), '..', '..')
CONFIG_DIR = os.path.join(REPO, 'configs', '_base_', 'datasets')
TASK_CONFIGS = dict(cod='cod_camo_cod10k.py', sod='sod_duts.py', sd='sd_istd.py', dbd='dbd_cuhk_dut.py',
                    fd='fd_casia.py')


def _datasets(cfg):
    return cfg.get('datasets', [cfg])


@pytest.mark.parametrize('task,name', sorted(TASK_CONFIGS.items()))
def test_real_dataset_configs(task, name, tmp_path):
    init_default_scope('mmseg')
    cfg = Config.fromfile(os.path.join(CONFIG_DIR, name))
    assert cfg.test_evaluator.type == 'ForegroundMetric' and cfg.test_evaluator.task == task
    assert METRICS.build(cfg.test_evaluator).metrics == TASK_METRICS[task]
    tests = _datasets(cfg.test_dataloader.dataset)
    assert all(d.test_mode and d.expected_size > 0 and d.dataset_name for d in tests)
    assert len({d.dataset_name for d in tests}) == len(tests)  # one result row per test set
    for d in _datasets(cfg.train_dataloader.dataset) + tests:
        assert DATASETS.get(d.type) is not None
        assert 'dataset_name' in d.pipeline[-1]['meta_keys']
    # without the data, building names the missing folder
    first = dict(tests[0], data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        DATASETS.build(first)


def test_every_mini_config_parses():
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(CONFIG_DIR, 'mini_*.py')))
    assert names == ['mini_all.py', 'mini_bench_common.py', 'mini_single_task.py']
    for task in TASK_METRICS:  # the mini configs set the task of mini_single_task.py
        cfg = Config.fromfile(
            os.path.join(REPO, 'configs', 'focus', f'focus_mini_1xb8-300_{task}-256x256.py'))
        assert cfg.train_dataloader.dataset.task == task and cfg.val_evaluator.task == task
        assert cfg.test_dataloader.dataset.task == task and cfg.test_evaluator.task == task
    union = Config.fromfile(os.path.join(CONFIG_DIR, 'mini_all.py'))  # the five tasks for a universal model
    assert sorted(d.task for d in union.train_dataloader.dataset.datasets) == sorted(TASK_METRICS)
    assert union.val_evaluator.type == 'MultiTaskForegroundMetric'


def test_mini_config_builds_and_feeds_the_metric(tmp_path):
    from mmengine.evaluator import Evaluator
    from mmengine.structures import PixelData
    init_default_scope('mmseg')
    cfg = Config.fromfile(os.path.join(CONFIG_DIR, 'mini_single_task.py'))  # SOD unless set
    tiny = dict(data_root=str(tmp_path), num_train=2, num_test=2, size_range=(64, 80))
    train = DATASETS.build(dict(cfg.train_dataloader.dataset, **tiny))
    test = DATASETS.build(dict(cfg.test_dataloader.dataset, **tiny))
    item = train[0]
    assert item['inputs'].shape[0] == 6  # EdgePrior appended the edge-blended image
    evaluator = Evaluator(cfg.test_evaluator)
    for i in range(len(test)):
        sample = test[i]['data_samples']
        gt = sample.gt_sem_seg.data
        assert tuple(gt.shape[1:]) == sample.metainfo['ori_shape'][:2]
        sample.seg_logits = PixelData(data=gt.float())
        evaluator.process([sample])
    res = evaluator.evaluate(len(test))
    assert res['Sm'] == pytest.approx(1.0, abs=1e-9) and res['MAE'] == 0.0
