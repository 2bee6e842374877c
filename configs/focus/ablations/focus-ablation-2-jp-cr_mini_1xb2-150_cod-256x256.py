"""Table 4, row 2, mini: JP + CR, edge enhancer off (simple pyramid neck); see the mini row 3 config."""
_base_ = ['./focus-ablation-3-jp-cr-ee_mini_1xb2-150_cod-256x256.py']
model = dict(neck=dict(with_edge=False, edge_pretrained=None))
