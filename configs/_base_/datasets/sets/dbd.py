# The DBD sets (no pipeline: the dataset config that uses a set adds the training or test
# pipeline), shared by configs/_base_/datasets/dbd_cuhk_dut.py and all_tasks.py.
dbd_train = dict(
    type='ForegroundDataset', task='dbd', dataset_name='DBD-TR',
    data_root='data/DEFOCUS/dataset/train_data',
    data_prefix=dict(img_path='1204source', seg_map_path='1204gt'), img_suffix=('.jpg', '.png', '.bmp'),
    seg_map_suffix=('.png', '.bmp', '.jpg'), expected_size=1204)
cuhk_test = dict(
    type='ForegroundDataset', task='dbd', dataset_name='CUHK',
    data_root='data/DEFOCUS/dataset/test_data/CUHK',
    data_prefix=dict(img_path='xu100-source', seg_map_path='xu100-gt'), img_suffix=('.jpg', '.png', '.bmp'),
    seg_map_suffix=('.png', '.bmp', '.jpg'), expected_size=100, test_mode=True)
dut_test = dict(
    type='ForegroundDataset', task='dbd', dataset_name='DUT', data_root='data/DEFOCUS/dataset/test_data/DUT',
    data_prefix=dict(img_path='dut500-source', seg_map_path='dut500-gt'), img_suffix=('.jpg', '.png', '.bmp'),
    seg_map_suffix=('.png', '.bmp', '.jpg'), expected_size=500, test_mode=True)
