# All 13 sets of the five tasks for one universal model: the single-task configs' sets (sets/*.py), each
# with its `task`.
# Train: the five training sets, each repeated (RepeatDataset) so that every task contributes ~10k
# samples per pass: DUTS-TR 10,553 x1, CAMO-TR + COD10K-TR 4,040 x2, ISTD 1,330 x8, DBD 1,204 x8,
# CASIA 2.0 5,123 x2; shuffled together (InfiniteSampler), so batches mix tasks and the small sets are
# not drowned by DUTS. Val: one set per task (the single-task configs' val sets). Test: all 13.
# MultiTaskForegroundMetric evaluates every set with its own task's metrics (`<task>/<set>/<metric>`).
_base_ = [
    './foreground_pipelines.py', './sets/sod.py', './sets/cod.py', './sets/sd.py', './sets/dbd.py',
    './sets/fd.py'
]
tasks = ('sod', 'cod', 'sd', 'dbd', 'fd')
train_pipeline = _base_.train_pipeline
test_pipeline = _base_.test_pipeline
train_sets = [
    dict(type='RepeatDataset', times=1, dataset=dict(_base_.duts_train, pipeline=train_pipeline)),
    dict(type='RepeatDataset', times=2,
         dataset=dict(type='ConcatDataset',
                      datasets=[dict(s, pipeline=train_pipeline) for s in (_base_.camo_train,
                                                                           _base_.cod10k_train)])),
    dict(type='RepeatDataset', times=8, dataset=dict(_base_.istd_train, pipeline=train_pipeline)),
    dict(type='RepeatDataset', times=8, dataset=dict(_base_.dbd_train, pipeline=train_pipeline)),
    dict(type='RepeatDataset', times=2, dataset=dict(_base_.casia2_train, pipeline=train_pipeline)),
]
val_sets = [
    dict(s, pipeline=test_pipeline)
    for s in (_base_.duts_test, _base_.camo_test, _base_.istd_test, _base_.cuhk_test, _base_.casia1_test)
]
test_sets = [
    dict(s, pipeline=test_pipeline) for s in (
        _base_.duts_test, _base_.dut_omron_test, _base_.hku_is_test, _base_.ecssd_test, _base_.pascal_s_test,
        _base_.camo_test, _base_.cod10k_test, _base_.chameleon_test, _base_.nc4k_test, _base_.istd_test,
        _base_.cuhk_test, _base_.dut_test, _base_.casia1_test)
]
train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler,
    dataset=dict(type='ConcatDataset', datasets=train_sets))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='ConcatDataset', datasets=val_sets))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='ConcatDataset', datasets=test_sets))
val_evaluator = dict(type='MultiTaskForegroundMetric', tasks=tasks)
test_evaluator = val_evaluator
