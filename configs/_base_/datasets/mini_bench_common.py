# The bundled mini-benchmark (focus_mm.datasets.mini_bench): generated on first use into
# `$FOCUS_DATA/mini_bench` or `data/mini_bench` from scikit-image's CC0 images; no download.
# Sizes are the paper's recipe scaled to CPU runs: images 256-320 px, 256 crops, test short side 256.
mini_bench = dict(data_root=None, num_train=60, num_test=20, size_range=(256, 320), seed=0)
crop_size = (256, 256)
train_short_side_range = (192, 320)
test_short_side = 256
max_long_side = 1024
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
             'flip_direction', 'reduce_zero_label', 'dataset_name', 'task')
train_pipeline = [
    dict(type='LoadForegroundImage'),
    dict(type='LoadForegroundMask'),
    dict(type='RandomResize',
         scale=[(max_long_side, train_short_side_range[0]), (max_long_side, train_short_side_range[1])],
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='EdgePrior'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadForegroundImage'),
    dict(type='Resize', scale=(max_long_side, test_short_side), keep_ratio=True),
    dict(type='LoadForegroundMask'),
    dict(type='EdgePrior'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
tta_pipeline = [
    dict(type='LoadForegroundImage'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='Resize', scale=(max_long_side, test_short_side), keep_ratio=True)],
                     [dict(type='RandomFlip', prob=0., direction='horizontal'),
                      dict(type='RandomFlip', prob=1., direction='horizontal')],
                     [dict(type='LoadForegroundMask')], [dict(type='EdgePrior')],
                     [dict(type='PackSegInputs', meta_keys=meta_keys)]])
]
train_sampler = dict(type='InfiniteSampler', shuffle=True)
test_sampler = dict(type='DefaultSampler', shuffle=False)
