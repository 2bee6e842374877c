# Camouflaged object detection (COD). Train: CAMO-TR (1,000) + COD10K-TR camouflaged images (3,040).
# Val: CAMO-TE. Test: CAMO-TE, COD10K-TE, CHAMELEON, NC4K in one run, reported per set
# (`<set>/Sm` ...). Layouts and downloads: docs/user_guides/dataset_prepare.md.
_base_ = ['./foreground_pipelines.py']
data_root = 'data'
camo_train = dict(
    type='ForegroundDataset', task='cod', dataset_name='CAMO-TR',
    data_root=data_root + '/CAMO-V.1.0-CVIU2019',
    data_prefix=dict(img_path='Images/Train', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=1000, pipeline=_base_.train_pipeline)
cod10k_train = dict(
    type='ForegroundDataset', task='cod', dataset_name='COD10K-TR', data_root=data_root + '/COD10K-v3',
    data_prefix=dict(img_path='Train/Image', seg_map_path='Train/GT_Object'), img_suffix='.jpg',
    seg_map_suffix='.png', name_filter='COD10K-CAM-*', expected_size=3040, pipeline=_base_.train_pipeline)
camo_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='CAMO', data_root=data_root + '/CAMO-V.1.0-CVIU2019',
    data_prefix=dict(img_path='Images/Test', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=250, test_mode=True, pipeline=_base_.test_pipeline)
cod10k_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='COD10K', data_root=data_root + '/COD10K-v3',
    data_prefix=dict(img_path='Test/Image', seg_map_path='Test/GT_Object'), img_suffix='.jpg',
    seg_map_suffix='.png', name_filter='COD10K-CAM-*', expected_size=2026, test_mode=True,
    pipeline=_base_.test_pipeline)
chameleon_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='CHAMELEON', data_root=data_root + '/CHAMELEON',
    data_prefix=dict(img_path='Imgs', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=76, test_mode=True, pipeline=_base_.test_pipeline)
nc4k_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='NC4K', data_root=data_root + '/NC4K',
    data_prefix=dict(img_path='Imgs', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=4121, test_mode=True, pipeline=_base_.test_pipeline)

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler,
    dataset=dict(type='ConcatDataset', datasets=[camo_train, cod10k_train]))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=camo_test)
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='ConcatDataset', datasets=[camo_test, cod10k_test, chameleon_test, nc4k_test]))
val_evaluator = dict(type='ForegroundMetric', task='cod')
test_evaluator = dict(type='ForegroundMetric', task='cod')
