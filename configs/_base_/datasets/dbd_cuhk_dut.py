# Defocus blur detection (DBD). Train: 1,204 images (604 CUHK + 600 DUT, the release's train_data).
# Test: CUHK (100) and DUT (500), reported per set. Foreground = the in-focus region, as the masks ship.
# The release mixes image/mask formats across versions, hence several suffixes.
_base_ = ['./foreground_pipelines.py']
data_root = 'data/DEFOCUS/dataset'
dbd_train = dict(
    type='ForegroundDataset', task='dbd', dataset_name='DBD-TR', data_root=data_root + '/train_data',
    data_prefix=dict(img_path='1204source', seg_map_path='1204gt'), img_suffix=('.jpg', '.png', '.bmp'),
    seg_map_suffix=('.png', '.bmp', '.jpg'), expected_size=1204, pipeline=_base_.train_pipeline)
cuhk_test = dict(
    type='ForegroundDataset', task='dbd', dataset_name='CUHK', data_root=data_root + '/test_data/CUHK',
    data_prefix=dict(img_path='xu100-source', seg_map_path='xu100-gt'), img_suffix=('.jpg', '.png', '.bmp'),
    seg_map_suffix=('.png', '.bmp', '.jpg'), expected_size=100, test_mode=True, pipeline=_base_.test_pipeline)
dut_test = dict(
    type='ForegroundDataset', task='dbd', dataset_name='DUT', data_root=data_root + '/test_data/DUT',
    data_prefix=dict(img_path='dut500-source', seg_map_path='dut500-gt'), img_suffix=('.jpg', '.png', '.bmp'),
    seg_map_suffix=('.png', '.bmp', '.jpg'), expected_size=500, test_mode=True, pipeline=_base_.test_pipeline)

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler, dataset=dbd_train)
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler, dataset=cuhk_test)
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='ConcatDataset', datasets=[cuhk_test, dut_test]))
val_evaluator = dict(type='ForegroundMetric', task='dbd')
test_evaluator = dict(type='ForegroundMetric', task='dbd')
