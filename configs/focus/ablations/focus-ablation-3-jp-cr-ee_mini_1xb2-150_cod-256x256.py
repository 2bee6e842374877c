"""Table 4, row 3 on the CPU mini model (mini COD): JP + CR + EE, no PR; the reference of the mini rows.

The mini rows mirror the full ones (our reading of Table 4 is in
focus-ablation-3-jp-cr-ee_dinov2-l_1xb2-10k_cod-512x512.py), with what a CPU and random weights allow:
- the mini model ("mini-L": DINOv2 of width 96, 4 blocks) trained from scratch: no weights exist here;
- CR on uses a tiny random CLIP (``model_cfg``, pretrained=None): it runs the refiner's code path, but
  carries no CLIP knowledge, so the CR rows measure a regulariser, not the paper's distillation;
- M0 stays off in every mini row, as in the mini model: from random weights the prior is noise;
- the paper's ablation batch size 2, 150 iterations, seed 0, the mini COD test set (20 images).
The mini numbers show that each switch trains and is measured end to end; they do not reproduce the
paper's effects (see docs/results/ablations.md).
"""
_base_ = ['../focus_mini_1xb8-300_cod-256x256.py']
max_iters = 150
# A tiny random CLIP (open_clip.CLIP config): what the CR rows use on a CPU without weights.
tiny_clip = dict(
    embed_dim=32,
    vision_cfg=dict(image_size=64, patch_size=16, width=64, layers=2, head_width=32, mlp_ratio=2.0),
    text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2, layers=2))
model = dict(decode_head=dict(
    loss_clip=dict(_delete_=True, type='CLIPRefinerLoss', task='cod', pretrained=None, model_cfg=tiny_clip,
                   loss_weight=1.0)))
# One process per row at a time: no loader workers (they only compete for the same cores).
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
