"""Match costs for mmseg's ``HungarianAssigner`` that the ground-query head needs beyond mmseg's own."""
from .match_cost import WeightedCrossEntropyLossCost, WeightedDiceCost

__all__ = ['WeightedCrossEntropyLossCost', 'WeightedDiceCost']
