# The CPU mini recipe of the Table 4 rows, everything but the model: the mini COD set (60 train / 20 test
# images), batch size 2, 150 iterations, seed 0, no loader workers (one process per row at a time: workers
# only compete for the same cores). `tiny_clip_loss` is what the CR rows use on a CPU without weights: the
# CLIP refiner on a tiny random CLIP (open_clip.CLIP config), which runs the refiner's code path but
# carries no CLIP knowledge. A row config adds a model base (focus_mini.py or focus_mini-g.py) and its
# switches (`_delete_` in `tiny_clip_loss`: the model bases have loss_clip=None).
_base_ = [
    '../../../_base_/datasets/mini_single_task.py', '../../../_base_/schedules/schedule_mini.py',
    '../../../_base_/default_runtime.py'
]
task = 'cod'
max_iters = 150
tiny_clip = dict(
    embed_dim=32,
    vision_cfg=dict(image_size=64, patch_size=16, width=64, layers=2, head_width=32, mlp_ratio=2.0),
    text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2, layers=2))
tiny_clip_loss = dict(
    _delete_=True, type='CLIPRefinerLoss', task=task, pretrained=None, model_cfg=tiny_clip, loss_weight=1.0)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(task=task))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(task=task))
test_dataloader = val_dataloader
val_evaluator = dict(task=task)
test_evaluator = val_evaluator
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)  # tools/experiments/run_ablation.py gives every row the same seed
