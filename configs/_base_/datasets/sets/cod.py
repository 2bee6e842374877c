# The COD sets (no pipeline: the dataset config that uses a set adds the training or test
# pipeline), shared by configs/_base_/datasets/cod_camo_cod10k.py and all_tasks.py.
camo_train = dict(
    type='ForegroundDataset', task='cod', dataset_name='CAMO-TR',
    data_root='data/CAMO-V.1.0-CVIU2019',
    data_prefix=dict(img_path='Images/Train', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=1000)
cod10k_train = dict(
    type='ForegroundDataset', task='cod', dataset_name='COD10K-TR', data_root='data/COD10K-v3',
    data_prefix=dict(img_path='Train/Image', seg_map_path='Train/GT_Object'), img_suffix='.jpg',
    seg_map_suffix='.png', name_filter='COD10K-CAM-*', expected_size=3040)
camo_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='CAMO', data_root='data/CAMO-V.1.0-CVIU2019',
    data_prefix=dict(img_path='Images/Test', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=250, test_mode=True)
cod10k_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='COD10K', data_root='data/COD10K-v3',
    data_prefix=dict(img_path='Test/Image', seg_map_path='Test/GT_Object'), img_suffix='.jpg',
    seg_map_suffix='.png', name_filter='COD10K-CAM-*', expected_size=2026, test_mode=True)
chameleon_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='CHAMELEON', data_root='data/CHAMELEON',
    data_prefix=dict(img_path='Imgs', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=76, test_mode=True)
nc4k_test = dict(
    type='ForegroundDataset', task='cod', dataset_name='NC4K', data_root='data/NC4K',
    data_prefix=dict(img_path='Imgs', seg_map_path='GT'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=4121, test_mode=True)
