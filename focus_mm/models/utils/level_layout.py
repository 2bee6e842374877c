"""The flattened multi-level layout that mmcv's ``MultiScaleDeformableAttention`` reads."""
from typing import Sequence, Tuple

import torch


def level_layout(shapes: Sequence[Tuple[int, int]],
                 device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """mmcv's ``spatial_shapes`` and ``level_start_index`` for maps of ``shapes`` flattened one after another.

    Args:
        shapes (Sequence[tuple[int, int]]): ``(h, w)`` of each level, in the order of the flattened tokens.
        device (torch.device): Device of the result.

    Returns:
        tuple[Tensor, Tensor]: ``spatial_shapes`` (L x 2, long) and ``level_start_index`` (L, long: the
        index of each level's first token).
    """
    spatial_shapes = torch.as_tensor(shapes, dtype=torch.long, device=device).view(-1, 2)
    sizes = spatial_shapes.prod(1)
    return spatial_shapes, torch.cat((sizes.new_zeros(1), sizes.cumsum(0)[:-1]))
