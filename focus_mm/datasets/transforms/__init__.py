"""Pipeline transforms (registered into ``mmseg.registry.TRANSFORMS``)."""
from .edge_prior import EdgePrior
from .loading import LoadForegroundMask

__all__ = ['EdgePrior', 'LoadForegroundMask']
