# The SOD sets (no pipeline: the dataset config that uses a set adds the training or test
# pipeline), shared by configs/_base_/datasets/sod_duts.py and all_tasks.py.
duts_train = dict(
    type='ForegroundDataset', task='sod', dataset_name='DUTS-TR', data_root='data/DUTS/DUTS-TR',
    data_prefix=dict(img_path='DUTS-TR-Image', seg_map_path='DUTS-TR-Mask'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=10553)
duts_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='DUTS-TE', data_root='data/DUTS/DUTS-TE',
    data_prefix=dict(img_path='DUTS-TE-Image', seg_map_path='DUTS-TE-Mask'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=5019, test_mode=True)
# DUT-OMRON has 5,168 images (the paper's table prints 5,618, a digit swap).
dut_omron_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='DUT-OMRON', data_root='data/DUTOMRON',
    data_prefix=dict(img_path='DUT-OMRON-image', seg_map_path='pixelwiseGT-new-PNG'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=5168, test_mode=True)
hku_is_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='HKU-IS', data_root='data/HKU-IS',
    data_prefix=dict(img_path='imgs', seg_map_path='gt'), img_suffix='.png', seg_map_suffix='.png',
    expected_size=4447, test_mode=True)
ecssd_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='ECSSD', data_root='data/ECSSD',
    data_prefix=dict(img_path='images', seg_map_path='ground_truth_mask'), img_suffix='.jpg',
    seg_map_suffix='.png', expected_size=1000, test_mode=True)
# PASCAL-S as distributed with the SOD benchmarks: images (.jpg) and masks (.png) side by side in Imgs/.
pascal_s_test = dict(
    type='ForegroundDataset', task='sod', dataset_name='PASCAL-S', data_root='data/PASCAL',
    data_prefix=dict(img_path='Imgs', seg_map_path='Imgs'), img_suffix='.jpg', seg_map_suffix='.png',
    expected_size=850, test_mode=True)
