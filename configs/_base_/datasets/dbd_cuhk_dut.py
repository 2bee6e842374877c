# Defocus blur detection (DBD). Train: 1,204 images (604 CUHK + 600 DUT, the release's train_data).
# Test: CUHK (100) and DUT (500), reported per set. Foreground = the in-focus region, as the masks ship.
# The release mixes image/mask formats across versions, hence several suffixes.
_base_ = ['./foreground_pipelines.py', './sets/dbd.py']
train_set = dict(_base_.dbd_train, pipeline=_base_.train_pipeline)
test_sets = [
    dict(s, pipeline=_base_.test_pipeline)
    for s in (_base_.cuhk_test, _base_.dut_test)
]

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler, dataset=train_set)
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=test_sets[0])
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='ConcatDataset', datasets=test_sets))
val_evaluator = dict(type='ForegroundMetric', task='dbd')
test_evaluator = dict(type='ForegroundMetric', task='dbd')
