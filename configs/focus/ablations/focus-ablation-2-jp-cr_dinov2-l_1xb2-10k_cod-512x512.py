"""Table 4, row 2 (COD): FOCUS-L with JP + CR, edge enhancer off (row 3 minus EE).

EE off: no edge ResNet and no injectors/extractors; a simple pyramid (transposed convs / pooling) turns
the four DINOv2 group outputs into strides 4..32 (a plain ViT-Adapter-free neck). The edge weights go too.
See row 3 for our reading of every row.
"""
_base_ = ['../../_base_/models/focus_dinov2-l.py', './_base_/ablation-recipe_1xb2-10k_cod-512x512.py']
model = dict(neck=dict(with_edge=False, edge_pretrained=None), decode_head=dict(loss_clip=dict(task='cod')))
