"""Boxes for the ground-query box head: mask bounding boxes, format conversion and GIoU."""
import torch


def masks_to_boxes_cxcywh(masks: torch.Tensor) -> torch.Tensor:
    """Tight boxes of binary masks, normalised by the mask size.

    Args:
        masks (Tensor): N x H x W, nonzero = inside. An empty mask gives an all-zero box (callers should
            not supervise it).

    Returns:
        Tensor: N x 4 boxes (cx, cy, w, h) in [0, 1]; pixel ``i`` covers [i, i + 1) / size.
    """
    n, h, w = masks.shape
    if n == 0:
        return masks.new_zeros((0, 4), dtype=torch.float32)
    masks = masks.bool()
    rows = masks.any(dim=2)  # N x H
    cols = masks.any(dim=1)  # N x W
    ys = torch.arange(h, device=masks.device, dtype=torch.float32)
    xs = torch.arange(w, device=masks.device, dtype=torch.float32)
    big = float(max(h, w) + 1)
    y0 = torch.where(rows, ys, big).amin(dim=1)
    y1 = torch.where(rows, ys, -1.0).amax(dim=1) + 1
    x0 = torch.where(cols, xs, big).amin(dim=1)
    x1 = torch.where(cols, xs, -1.0).amax(dim=1) + 1
    boxes = torch.stack([(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h], dim=1)
    return torch.where(rows.any(dim=1, keepdim=True), boxes, torch.zeros_like(boxes))


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """(cx, cy, w, h) -> (x0, y0, x1, y1), any leading shape."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def generalized_iou(boxes1: torch.Tensor, boxes2: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Element-wise generalised IoU of two N x 4 xyxy box sets (N values in [-1, 1])."""
    area1 = (boxes1[:, 2] - boxes1[:, 0]).clamp_min(0) * (boxes1[:, 3] - boxes1[:, 1]).clamp_min(0)
    area2 = (boxes2[:, 2] - boxes2[:, 0]).clamp_min(0) * (boxes2[:, 3] - boxes2[:, 1]).clamp_min(0)
    lt = torch.max(boxes1[:, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, 2:], boxes2[:, 2:])
    inter = (rb - lt).clamp_min(0).prod(dim=1)
    union = area1 + area2 - inter
    iou = inter / (union + eps)
    hull = (torch.max(boxes1[:, 2:], boxes2[:, 2:]) - torch.min(boxes1[:, :2], boxes2[:, :2])).clamp_min(0)
    hull_area = hull.prod(dim=1)
    return iou - (hull_area - union) / (hull_area + eps)
