# The FD sets (no pipeline: the dataset config that uses a set adds the training or test
# pipeline), shared by configs/_base_/datasets/fd_casia.py and all_tasks.py.
casia2_train = dict(
    type='ForegroundDataset', task='fd', dataset_name='CASIA2', data_root='data/CASIA',
    data_prefix=dict(img_path='CASIA2.0_revised/Tp', seg_map_path='CASIA2.0_Groundtruth'),
    img_suffix=('.jpg', '.tif', '.bmp'), seg_map_suffix='_gt.png', expected_size=5123)
casia1_test = dict(
    type='ForegroundDataset', task='fd', dataset_name='CASIA1', data_root='data/CASIA',
    data_prefix=dict(img_path='CASIA 1.0 dataset/Modified Tp/Tp', seg_map_path='CASIA 1.0 groundtruth'),
    img_suffix='.jpg', seg_map_suffix='_gt.png', expected_size=921, test_mode=True)
