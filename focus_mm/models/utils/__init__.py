"""Helpers of the models (not registered): tensor helpers of the head and of the deformable attention,
argument checks."""
from .box_ops import masks_to_boxes_cxcywh
from .level_layout import cell_centre_reference_points, level_layout
from .pca_prior import pca_foreground_prior, resize_prior, valid_token_mask
from .renamed_args import refuse_old_arguments

__all__ = [
    'cell_centre_reference_points', 'level_layout', 'masks_to_boxes_cxcywh', 'pca_foreground_prior',
    'resize_prior', 'valid_token_mask', 'refuse_old_arguments'
]
