# Salient object detection (SOD). Train: DUTS-TR (10,553). Val: DUTS-TE. Test: DUTS-TE, DUT-OMRON,
# HKU-IS, ECSSD, PASCAL-S in one run, reported per set. Layouts and downloads: docs/user_guides/dataset_prepare.md.
_base_ = ['./foreground_pipelines.py']
data_root = 'data'
duts_train = dict(
    type='ForegroundDataset', task='sod', dataset_name='DUTS-TR', data_root=data_root + '/DUTS/DUTS-TR',
    data_prefix=dict(img_path='DUTS-TR-Image', seg_map_path='DUTS-TR-Mask'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=10553, pipeline=_base_.train_pipeline)
duts_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='DUTS-TE', data_root=data_root + '/DUTS/DUTS-TE',
    data_prefix=dict(img_path='DUTS-TE-Image', seg_map_path='DUTS-TE-Mask'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=5019, test_mode=True, pipeline=_base_.test_pipeline)
# DUT-OMRON has 5,168 images (the paper's table prints 5,618, a digit swap).
dut_omron_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='DUT-OMRON', data_root=data_root + '/DUTOMRON',
    data_prefix=dict(img_path='DUT-OMRON-image', seg_map_path='pixelwiseGT-new-PNG'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=5168, test_mode=True, pipeline=_base_.test_pipeline)
hku_is_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='HKU-IS', data_root=data_root + '/HKU-IS',
    data_prefix=dict(img_path='imgs', seg_map_path='gt'), img_suffix='.png', seg_map_suffix='.png',
    expected_size=4447, test_mode=True, pipeline=_base_.test_pipeline)
ecssd_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='ECSSD', data_root=data_root + '/ECSSD',
    data_prefix=dict(img_path='images', seg_map_path='ground_truth_mask'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=1000, test_mode=True, pipeline=_base_.test_pipeline)
# PASCAL-S as distributed with the SOD benchmarks: images (.jpg) and masks (.png) side by side in Imgs/.
pascal_s_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='PASCAL-S', data_root=data_root + '/PASCAL',
    data_prefix=dict(img_path='Imgs', seg_map_path='Imgs'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=850, test_mode=True, pipeline=_base_.test_pipeline)

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler, dataset=duts_train)
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=duts_test)
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(
        type='ConcatDataset',
        datasets=[duts_test, dut_omron_test, hku_is_test, ecssd_test, pascal_s_test]))
val_evaluator = dict(type='ForegroundMetric', task='sod')
test_evaluator = dict(type='ForegroundMetric', task='sod')
