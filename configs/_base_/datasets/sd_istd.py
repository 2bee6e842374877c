# Shadow detection (SD). Train: ISTD train (1,330; train_A images, train_B shadow masks).
# Val/test: ISTD test (540). BER in % from dataset-level TP/TN/FP/FN of the model's 0.5 decision;
# `paper_convention=True` in the evaluator gives the FOCUS authors' number (0.75 x per-image BER).
_base_ = ['./foreground_pipelines.py', './sets/sd.py']
train_set = dict(_base_.istd_train, pipeline=_base_.train_pipeline)
test_set = dict(_base_.istd_test, pipeline=_base_.test_pipeline)

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler, dataset=train_set)
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=test_set)
test_dataloader = val_dataloader
val_evaluator = dict(type='ForegroundMetric', task='sd')
test_evaluator = val_evaluator
