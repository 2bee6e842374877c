# Forgery detection (FD). Train: CASIA 2.0 tampered images (5,123; revised release + groundtruth).
# Test: CASIA 1.0 tampered images (921; copy-move CM/ and splicing Sp/). F1 of the 0.5 decision per image,
# AUC of the probability map per image; `paper_convention=True` gives the authors' binary-map AUC.
_base_ = ['./foreground_pipelines.py', './sets/fd.py']
train_set = dict(_base_.casia2_train, pipeline=_base_.train_pipeline)
test_set = dict(_base_.casia1_test, pipeline=_base_.test_pipeline)

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler, dataset=train_set)
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=test_set)
test_dataloader = val_dataloader
val_evaluator = dict(type='ForegroundMetric', task='fd')
test_evaluator = val_evaluator
