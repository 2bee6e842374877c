# Salient object detection (SOD). Train: DUTS-TR (10,553). Val: DUTS-TE. Test: DUTS-TE, DUT-OMRON,
# HKU-IS, ECSSD, PASCAL-S in one run, reported per set. Layouts and downloads:
# docs/user_guides/dataset_prepare.md.
_base_ = ['./foreground_pipelines.py', './sets/sod.py']
train_set = dict(_base_.duts_train, pipeline=_base_.train_pipeline)
test_sets = [
    dict(s, pipeline=_base_.test_pipeline)
    for s in (_base_.duts_test, _base_.dut_omron_test, _base_.hku_is_test, _base_.ecssd_test,
              _base_.pascal_s_test)
]

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler, dataset=train_set)
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=test_sets[0])
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='ConcatDataset', datasets=test_sets))
val_evaluator = dict(type='ForegroundMetric', task='sod')
test_evaluator = dict(type='ForegroundMetric', task='sod')
