"""Decode heads, the pixel decoder they build and their inference decision rules."""
from .decision_rules import DECISION_RULES, JointDecision, ScoredPairMerge, build_decision_rule
from .ground_query_head import GroundQueryHead
from .pixel_decoder import FocusPixelDecoder

__all__ = [
    'DECISION_RULES', 'FocusPixelDecoder', 'GroundQueryHead', 'JointDecision', 'ScoredPairMerge',
    'build_decision_rule'
]
