# The paper's data recipe, shared by the foreground dataset configs (one per task).
# Train: random short side in `train_short_side_range` (long side <= `max_long_side`), random crop to
# `crop_size` (smaller images stay smaller: the data preprocessor pads the batch with 0 / mask 255),
# horizontal flip, photometric jitter, then the edge prior (channels 3..5 of `img`).
# Test: short side `test_short_side` (long side <= `max_long_side`); the mask is loaded AFTER the resize,
# so it keeps its original size and ForegroundMetric compares predictions at the mask's size.
# To change a size in a derived config, redefine the variable AND the pipeline that uses it (mmengine
# resolves these lists when this file is read), as mmseg's own configs do.
crop_size = (512, 512)
train_short_side_range = (128, 512)
test_short_side = 512
max_long_side = 2048
# `dataset_name` lets ForegroundMetric report every test set of a ConcatDataset separately; `task` (set by
# the dataset's `task=`) tells a universal model and the multi-task metric which task a sample belongs to.
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
train_sampler = dict(type='InfiniteSampler', shuffle=True)
test_sampler = dict(type='DefaultSampler', shuffle=False)
# Flip test-time augmentation (tools/test.py --tta): ForegroundTTAModel averages the probabilities.
tta_pipeline = [
    dict(type='LoadForegroundImage'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='Resize', scale=(max_long_side, test_short_side), keep_ratio=True)],
                     [dict(type='RandomFlip', prob=0., direction='horizontal'),
                      dict(type='RandomFlip', prob=1., direction='horizontal')],
                     [dict(type='LoadForegroundMask')], [dict(type='EdgePrior')],
                     [dict(type='PackSegInputs', meta_keys=meta_keys)]])
]
