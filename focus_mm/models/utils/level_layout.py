"""What mmcv's ``MultiScaleDeformableAttention`` reads about flattened multi-level maps: their layout,
and reference points at the cell centres."""
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


def cell_centre_reference_points(shapes: Sequence[Tuple[int, int]], num_value_levels: int,
                                 device: torch.device) -> torch.Tensor:
    """Reference points at the cell centres of each grid, normalised by that grid's own size.

    Cell ``(i, j)`` of an ``h x w`` grid gets ``((j + 0.5) / w, (i + 0.5) / h)``, the same point in every
    value level: each grid is stretched over the whole input, whatever its stride. Mask2Former's pixel
    decoder places its encoder queries so, and so does the authors' ViT-Adapter (``token_geometry=
    'stretched'``; our own adapter geometry aligns grids by pixel position instead).

    Args:
        shapes (Sequence[tuple[int, int]]): ``(h, w)`` of each query level, in the order of the flattened
            tokens.
        num_value_levels (int): Number of value levels.
        device (torch.device): Device of the result.

    Returns:
        Tensor: ``1 x sum(h*w) x num_value_levels x 2`` in ``(x, y)`` order, in ``(0, 1)``.
    """
    refs = []
    for h, w in shapes:
        ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) / h
        xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) / w
        yy, xx = torch.meshgrid(ys, xs, indexing='ij')
        refs.append(torch.stack((xx.reshape(-1), yy.reshape(-1)), dim=-1))
    return torch.cat(refs, dim=0)[None, :, None].expand(-1, -1, num_value_levels, -1)
