# Your own foreground dataset with FOCUS-L (DINOv2-L, the authors' recipe), the worked example of
# docs/user_guides/dataset_prepare.md ("Your own dataset"). The data: a folder of images and a folder of
# masks per split, paired by file name (white or 1 = foreground):
#   data/my_dataset/images/{train,val}/*.jpg   data/my_dataset/masks/{train,val}/*.png
# The metrics and the CLIP refiner's default prompts come from the task named below ('sod': S-measure,
# mean E-measure, MAE, for object-like foregrounds; 'sd' or 'fd' for regions judged by the 0.5 decision:
# BER, F1/AUC). The prompts say what the foreground and the background are.
_base_ = ['../focus_dinov2-l_2xb4-20k_sod-512x512.py']

data_root = 'data/my_dataset'
task = 'sod'
my_train = dict(
    type='ForegroundDataset', task=task, dataset_name='my-train', data_root=data_root,
    data_prefix=dict(img_path='images/train', seg_map_path='masks/train'), img_suffix=('.jpg', '.png'),
    seg_map_suffix='.png', pipeline=_base_.train_pipeline)
my_val = dict(
    type='ForegroundDataset', task=task, dataset_name='my-val', data_root=data_root,
    data_prefix=dict(img_path='images/val', seg_map_path='masks/val'), img_suffix=('.jpg', '.png'),
    seg_map_suffix='.png', test_mode=True, pipeline=_base_.test_pipeline)

# `_delete_=True`: replace the SOD config's datasets instead of merging into them.
train_dataloader = dict(dataset=dict(_delete_=True, **my_train))
val_dataloader = dict(dataset=dict(_delete_=True, **my_val))
test_dataloader = val_dataloader
val_evaluator = dict(type='ForegroundMetric', task=task)
test_evaluator = val_evaluator

model = dict(
    decode_head=dict(loss_clip=dict(prompts=('a photo of a damaged part', 'a photo of intact surface'))))

# Validate every 2,000 iterations and keep the checkpoint with the best validation S-measure
# (best_Sm_iter_*.pth in the work dir) besides the last ones.
train_cfg = dict(val_interval=2000)
default_hooks = dict(checkpoint=dict(save_best='Sm', rule='greater'))
