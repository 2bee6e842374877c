# The SD sets (no pipeline: the dataset config that uses a set adds the training or test
# pipeline), shared by configs/_base_/datasets/sd_istd.py and all_tasks.py.
istd_train = dict(
    type='ForegroundDataset', task='sd', dataset_name='ISTD-TR', data_root='data/ISTD_Dataset',
    data_prefix=dict(img_path='train/train_A', seg_map_path='train/train_B'), img_suffix='.png',
    seg_map_suffix='.png', expected_size=1330)
istd_test = dict(
    type='ForegroundDataset', task='sd', dataset_name='ISTD', data_root='data/ISTD_Dataset',
    data_prefix=dict(img_path='test/test_A', seg_map_path='test/test_B'), img_suffix='.png',
    seg_map_suffix='.png', expected_size=540, test_mode=True)
