# All 13 sets of the five tasks for one universal model. Each set is the single-task config's set
# (tests/test_universal_configs.py checks that they stay equal), with its `task`.
# Train: the five training sets, each repeated (RepeatDataset) so that every task contributes ~10k
# samples per pass: DUTS-TR 10,553 x1, CAMO-TR + COD10K-TR 4,040 x2, ISTD 1,330 x8, DBD 1,204 x8,
# CASIA 2.0 5,123 x2; shuffled together (InfiniteSampler), so batches mix tasks and the small sets are
# not drowned by DUTS. Val: one set per task (the single-task configs' val sets). Test: all 13.
# MultiTaskForegroundMetric evaluates every set with its own task's metrics (`<task>/<set>/<metric>`).
_base_ = ['./foreground_pipelines.py']
tasks = ('sod', 'cod', 'sd', 'dbd', 'fd')
# as in sod_duts.py
duts_train = dict(
    type='ForegroundDataset', task='sod', dataset_name='DUTS-TR', data_root='data/DUTS/DUTS-TR',
    data_prefix=dict(img_path='DUTS-TR-Image', seg_map_path='DUTS-TR-Mask'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=10553, pipeline=_base_.train_pipeline)
duts_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='DUTS-TE', data_root='data/DUTS/DUTS-TE',
    data_prefix=dict(img_path='DUTS-TE-Image', seg_map_path='DUTS-TE-Mask'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=5019, test_mode=True, pipeline=_base_.test_pipeline)
dut_omron_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='DUT-OMRON', data_root='data/DUTOMRON',
    data_prefix=dict(img_path='DUT-OMRON-image', seg_map_path='pixelwiseGT-new-PNG'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=5168, test_mode=True, pipeline=_base_.test_pipeline)
hku_is_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='HKU-IS', data_root='data/HKU-IS',
    data_prefix=dict(img_path='imgs', seg_map_path='gt'), img_suffix='.png', seg_map_suffix='.png',
    expected_size=4447, test_mode=True, pipeline=_base_.test_pipeline)
ecssd_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='ECSSD', data_root='data/ECSSD',
    data_prefix=dict(img_path='images', seg_map_path='ground_truth_mask'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=1000, test_mode=True, pipeline=_base_.test_pipeline)
pascal_s_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='PASCAL-S', data_root='data/PASCAL',
    data_prefix=dict(img_path='Imgs', seg_map_path='Imgs'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=850, test_mode=True, pipeline=_base_.test_pipeline)
# as in cod_camo_cod10k.py
camo_train = dict(
    type='ForegroundDataset', task='cod', dataset_name='CAMO-TR', data_root='data/CAMO-V.1.0-CVIU2019',
    data_prefix=dict(img_path='Images/Train', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=1000, pipeline=_base_.train_pipeline)
cod10k_train = dict(
    type='ForegroundDataset', task='cod', dataset_name='COD10K-TR', data_root='data/COD10K-v3',
    data_prefix=dict(img_path='Train/Image', seg_map_path='Train/GT_Object'), img_suffix='.jpg',
    seg_map_suffix='.png', name_filter='COD10K-CAM-*', expected_size=3040, pipeline=_base_.train_pipeline)
camo_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='CAMO', data_root='data/CAMO-V.1.0-CVIU2019',
    data_prefix=dict(img_path='Images/Test', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=250, test_mode=True, pipeline=_base_.test_pipeline)
cod10k_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='COD10K', data_root='data/COD10K-v3',
    data_prefix=dict(img_path='Test/Image', seg_map_path='Test/GT_Object'), img_suffix='.jpg',
    seg_map_suffix='.png', name_filter='COD10K-CAM-*', expected_size=2026, test_mode=True,
    pipeline=_base_.test_pipeline)
chameleon_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='CHAMELEON', data_root='data/CHAMELEON',
    data_prefix=dict(img_path='Imgs', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=76, test_mode=True, pipeline=_base_.test_pipeline)
nc4k_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='NC4K', data_root='data/NC4K',
    data_prefix=dict(img_path='Imgs', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=4121, test_mode=True, pipeline=_base_.test_pipeline)
# as in sd_istd.py
istd_train = dict(
    type='ForegroundDataset', task='sd', dataset_name='ISTD-TR', data_root='data/ISTD_Dataset',
    data_prefix=dict(img_path='train/train_A', seg_map_path='train/train_B'), img_suffix='.png',
    seg_map_suffix='.png', expected_size=1330, pipeline=_base_.train_pipeline)
istd_test = dict(
    type='ForegroundDataset', task='sd', dataset_name='ISTD', data_root='data/ISTD_Dataset',
    data_prefix=dict(img_path='test/test_A', seg_map_path='test/test_B'), img_suffix='.png',
    seg_map_suffix='.png', expected_size=540, test_mode=True, pipeline=_base_.test_pipeline)
# as in dbd_cuhk_dut.py
dbd_train = dict(
    type='ForegroundDataset', task='dbd', dataset_name='DBD-TR', data_root='data/DEFOCUS/dataset/train_data',
    data_prefix=dict(img_path='1204source', seg_map_path='1204gt'), img_suffix=('.jpg', '.png', '.bmp'),
    seg_map_suffix=('.png', '.bmp', '.jpg'), expected_size=1204, pipeline=_base_.train_pipeline)
cuhk_test = dict(
    type='ForegroundDataset', task='dbd', dataset_name='CUHK',
    data_root='data/DEFOCUS/dataset/test_data/CUHK',
    data_prefix=dict(img_path='xu100-source', seg_map_path='xu100-gt'), img_suffix=('.jpg', '.png', '.bmp'),
    seg_map_suffix=('.png', '.bmp', '.jpg'), expected_size=100, test_mode=True, pipeline=_base_.test_pipeline)
dut_test = dict(
    type='ForegroundDataset', task='dbd', dataset_name='DUT', data_root='data/DEFOCUS/dataset/test_data/DUT',
    data_prefix=dict(img_path='dut500-source', seg_map_path='dut500-gt'), img_suffix=('.jpg', '.png', '.bmp'),
    seg_map_suffix=('.png', '.bmp', '.jpg'), expected_size=500, test_mode=True, pipeline=_base_.test_pipeline)
# as in fd_casia.py
casia2_train = dict(
    type='ForegroundDataset', task='fd', dataset_name='CASIA2', data_root='data/CASIA',
    data_prefix=dict(img_path='CASIA2.0_revised/Tp', seg_map_path='CASIA2.0_Groundtruth'),
    img_suffix=('.jpg', '.tif', '.bmp'), seg_map_suffix='_gt.png', expected_size=5123,
    pipeline=_base_.train_pipeline)
casia1_test = dict(
    type='ForegroundDataset', task='fd', dataset_name='CASIA1', data_root='data/CASIA',
    data_prefix=dict(img_path='CASIA 1.0 dataset/Modified Tp/Tp', seg_map_path='CASIA 1.0 groundtruth'),
    img_suffix='.jpg', seg_map_suffix='_gt.png', expected_size=921, test_mode=True,
    pipeline=_base_.test_pipeline)

train_sets = [
    dict(type='RepeatDataset', times=1, dataset=duts_train),
    dict(type='RepeatDataset', times=2,
         dataset=dict(type='ConcatDataset', datasets=[camo_train, cod10k_train])),
    dict(type='RepeatDataset', times=8, dataset=istd_train),
    dict(type='RepeatDataset', times=8, dataset=dbd_train),
    dict(type='RepeatDataset', times=2, dataset=casia2_train),
]
train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=_base_.train_sampler,
    dataset=dict(type='ConcatDataset', datasets=train_sets))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='ConcatDataset', datasets=[duts_test, camo_test, istd_test, cuhk_test, casia1_test]))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            duts_test, dut_omron_test, hku_is_test, ecssd_test, pascal_s_test, camo_test, cod10k_test,
            chameleon_test, nc4k_test, istd_test, cuhk_test, dut_test, casia1_test
        ]))
val_evaluator = dict(type='MultiTaskForegroundMetric', tasks=tasks)
test_evaluator = val_evaluator
