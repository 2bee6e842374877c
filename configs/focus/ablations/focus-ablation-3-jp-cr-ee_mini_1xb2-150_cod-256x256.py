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
_base_ = ['../../_base_/models/focus_mini.py', './_base_/ablation-recipe_1xb2-150_mini-cod-256x256.py']
model = dict(decode_head=dict(loss_clip=_base_.tiny_clip_loss))
