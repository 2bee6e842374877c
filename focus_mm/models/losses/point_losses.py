"""Mask losses on sampled points: binary cross-entropy and dice, with an ignore-aware weight per point."""
from typing import Optional

import torch
import torch.nn.functional as F


def point_bce_loss(logits: torch.Tensor, targets: torch.Tensor,
                   weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Per-mask mean binary cross-entropy over the valid points.

    Args:
        logits (Tensor): M x P point logits.
        targets (Tensor): M x P targets in [0, 1].
        weights (Tensor, optional): M x P point weights (0 at ignored pixels). Defaults to all ones.

    Returns:
        Tensor: M losses.
    """
    loss = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    if weights is None:
        return loss.mean(dim=1)
    return (loss * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def point_dice_loss(logits: torch.Tensor, targets: torch.Tensor,
                    weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Per-mask dice loss ``1 - (2 |p t| + 1) / (|p| + |t| + 1)`` over the valid points.

    Args:
        logits (Tensor): M x P point logits.
        targets (Tensor): M x P targets in [0, 1].
        weights (Tensor, optional): M x P point weights (0 at ignored pixels). Defaults to all ones.

    Returns:
        Tensor: M losses.
    """
    probs = logits.sigmoid()
    if weights is not None:
        probs = probs * weights
        targets = targets * weights
    numerator = 2 * (probs * targets).sum(dim=1)
    denominator = probs.sum(dim=1) + targets.sum(dim=1)
    return 1 - (numerator + 1) / (denominator + 1)
