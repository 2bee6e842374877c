"""Losses and matching of the ground-query head."""
from .clip_refiner_loss import TASK_PROMPTS, CLIPRefinerLoss
from .hungarian_matcher import GroundQueryMatcher
from .point_losses import pairwise_point_bce, pairwise_point_dice, point_bce_loss, point_dice_loss

__all__ = [
    'TASK_PROMPTS', 'CLIPRefinerLoss', 'GroundQueryMatcher', 'pairwise_point_bce', 'pairwise_point_dice',
    'point_bce_loss', 'point_dice_loss'
]
