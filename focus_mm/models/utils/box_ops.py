"""Mask bounding boxes for the ground-query box head (torchvision's, plus empty masks and normalisation)."""
import torch
from torchvision.ops import box_convert, masks_to_boxes


def masks_to_boxes_cxcywh(masks: torch.Tensor) -> torch.Tensor:
    """Tight boxes of binary masks, normalised by the mask size.

    torchvision's ``masks_to_boxes`` gives the first and last pixel index of each mask and cannot take an
    empty mask; here pixel ``i`` covers ``[i, i + 1) / size`` and an empty mask gets an all-zero box.

    Args:
        masks (Tensor): N x H x W, nonzero = inside. An empty mask gives an all-zero box (callers should
            not supervise it).

    Returns:
        Tensor: N x 4 boxes (cx, cy, w, h) in [0, 1], float32.
    """
    n, h, w = masks.shape
    boxes = torch.zeros((n, 4), dtype=torch.float32, device=masks.device)
    nonempty = masks.flatten(1).ne(0).any(dim=1)
    if nonempty.any():
        xyxy = masks_to_boxes(masks[nonempty].ne(0)).float()
        xyxy[:, 2:] += 1  # last pixel index -> right/bottom edge
        xyxy /= torch.tensor([w, h, w, h], dtype=torch.float32, device=masks.device)
        boxes[nonempty] = box_convert(xyxy, 'xyxy', 'cxcywh')
    return boxes
