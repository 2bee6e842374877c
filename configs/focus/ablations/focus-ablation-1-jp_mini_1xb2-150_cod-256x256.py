"""Table 4, row 1, mini: joint prediction only (row 2 minus the CLIP refiner); see the mini row 3 config."""
_base_ = ['../../_base_/models/focus_mini.py', './_base_/ablation-recipe_1xb2-150_mini-cod-256x256.py']
model = dict(neck=dict(with_edge=False, edge_pretrained=None))
