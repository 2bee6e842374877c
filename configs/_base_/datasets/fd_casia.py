# Forgery detection (FD). Train: CASIA 2.0 tampered images (5,123; revised release + groundtruth).
# Test: CASIA 1.0 tampered images (921; copy-move CM/ and splicing Sp/). F1 of the 0.5 decision per image,
# AUC of the probability map per image; `paper_convention=True` gives the authors' binary-map AUC.
_base_ = ['./foreground_pipelines.py']
data_root = 'data/CASIA'
casia2_train = dict(
    type='ForegroundDataset', task='fd', dataset_name='CASIA2', data_root=data_root,
    data_prefix=dict(img_path='CASIA2.0_revised/Tp', seg_map_path='CASIA2.0_Groundtruth'),
    img_suffix=('.jpg', '.tif', '.bmp'), seg_map_suffix='_gt.png', expected_size=5123,
    pipeline=_base_.train_pipeline)
casia1_test = dict(
    type='ForegroundDataset', task='fd', dataset_name='CASIA1', data_root=data_root,
    data_prefix=dict(img_path='CASIA 1.0 dataset/Modified Tp/Tp', seg_map_path='CASIA 1.0 groundtruth'),
    img_suffix='.jpg', seg_map_suffix='_gt.png', expected_size=921, test_mode=True,
    pipeline=_base_.test_pipeline)

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler, dataset=casia2_train)
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=casia1_test)
test_dataloader = val_dataloader
val_evaluator = dict(type='ForegroundMetric', task='fd')
test_evaluator = val_evaluator
