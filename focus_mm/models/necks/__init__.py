"""Necks; ``EdgeEnhancerNeck`` drives a ViT backbone (see ``focus_mm.models.backbones.dinov2``)."""
from .edge_enhancer import EdgeEnhancerNeck

__all__ = ['EdgeEnhancerNeck']
