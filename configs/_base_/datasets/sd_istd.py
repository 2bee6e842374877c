# Shadow detection (SD). Train: ISTD train (1,330; train_A images, train_B shadow masks).
# Val/test: ISTD test (540). BER in % from dataset-level TP/TN/FP/FN of the model's 0.5 decision;
# `paper_convention=True` in the evaluator gives the FOCUS authors' number (0.75 x per-image BER).
_base_ = ['./foreground_pipelines.py']
data_root = 'data'
istd_train = dict(
    type='ForegroundDataset', task='sd', dataset_name='ISTD-TR', data_root=data_root + '/ISTD_Dataset',
    data_prefix=dict(img_path='train/train_A', seg_map_path='train/train_B'), img_suffix='.png',
    seg_map_suffix='.png', expected_size=1330, pipeline=_base_.train_pipeline)
istd_test = dict(
    type='ForegroundDataset', task='sd', dataset_name='ISTD', data_root=data_root + '/ISTD_Dataset',
    data_prefix=dict(img_path='test/test_A', seg_map_path='test/test_B'), img_suffix='.png',
    seg_map_suffix='.png', expected_size=540, test_mode=True, pipeline=_base_.test_pipeline)

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler, dataset=istd_train)
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=istd_test)
test_dataloader = val_dataloader
val_evaluator = dict(type='ForegroundMetric', task='sd')
test_evaluator = val_evaluator
