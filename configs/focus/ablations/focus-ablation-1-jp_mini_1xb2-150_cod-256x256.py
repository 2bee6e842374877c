"""Table 4, row 1, mini: joint prediction only (row 2 minus the CLIP refiner); see the mini row 3 config."""
_base_ = ['./focus-ablation-2-jp-cr_mini_1xb2-150_cod-256x256.py']
model = dict(decode_head=dict(loss_clip=None))
