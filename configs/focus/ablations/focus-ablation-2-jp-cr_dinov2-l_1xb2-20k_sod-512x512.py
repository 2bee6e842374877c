"""Table 4, row 2 (SOD): FOCUS-L with JP + CR, edge enhancer off (row 3 minus EE; simple pyramid neck)."""
_base_ = ['./focus-ablation-3-jp-cr-ee_dinov2-l_1xb2-20k_sod-512x512.py']
model = dict(neck=dict(with_edge=False, edge_pretrained=None))
