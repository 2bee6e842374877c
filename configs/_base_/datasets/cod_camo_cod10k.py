# Camouflaged object detection (COD). Train: CAMO-TR (1,000) + COD10K-TR camouflaged images (3,040).
# Val: CAMO-TE. Test: CAMO-TE, COD10K-TE, CHAMELEON, NC4K in one run, reported per set
# (`<set>/Sm` ...). Layouts and downloads: docs/user_guides/dataset_prepare.md.
_base_ = ['./foreground_pipelines.py', './sets/cod.py']
train_set = dict(
    type='ConcatDataset',
    datasets=[dict(s, pipeline=_base_.train_pipeline) for s in (_base_.camo_train, _base_.cod10k_train)])
test_sets = [
    dict(s, pipeline=_base_.test_pipeline)
    for s in (_base_.camo_test, _base_.cod10k_test, _base_.chameleon_test, _base_.nc4k_test)
]

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler, dataset=train_set)
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=test_sets[0])
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='ConcatDataset', datasets=test_sets))
val_evaluator = dict(type='ForegroundMetric', task='cod')
test_evaluator = dict(type='ForegroundMetric', task='cod')
