# Mini-benchmark, camouflaged object detection: 60 train / 20 test images (see mini_bench_common.py).
_base_ = ['./mini_bench_common.py']
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True, sampler=_base_.train_sampler,
    dataset=dict(type='MiniBenchDataset', task='cod', split='train', pipeline=_base_.train_pipeline,
                 **_base_.mini_bench))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='MiniBenchDataset', task='cod', split='test', test_mode=True,
                 pipeline=_base_.test_pipeline,
                 **_base_.mini_bench))
test_dataloader = val_dataloader
val_evaluator = dict(type='ForegroundMetric', task='cod')
test_evaluator = val_evaluator
