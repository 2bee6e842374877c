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


def pairwise_point_bce(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """BCE cost of every prediction against every target on shared points.

    Args:
        logits (Tensor): Q x P. targets (Tensor): T x P. weights (Tensor): P point weights.

    Returns:
        Tensor: Q x T mean BCE over the valid points.
    """
    pos = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction='none')
    neg = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits), reduction='none')
    cost = (pos * weights) @ targets.T + (neg * weights) @ (1 - targets).T
    return cost / weights.sum().clamp_min(1.0)


def pairwise_point_dice(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Dice cost of every prediction against every target on shared points (Q x P, T x P, P -> Q x T)."""
    probs = logits.sigmoid() * weights
    targets = targets * weights
    numerator = 2 * probs @ targets.T
    denominator = probs.sum(dim=1, keepdim=True) + targets.sum(dim=1)[None, :]
    return 1 - (numerator + 1) / (denominator + 1)
