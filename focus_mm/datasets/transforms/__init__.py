"""Pipeline transforms (registered into ``mmseg.registry.TRANSFORMS``)."""
from .edge_prior import EdgePrior
from .loading import LoadForegroundImage, LoadForegroundMask

__all__ = ['EdgePrior', 'LoadForegroundImage', 'LoadForegroundMask']
