"""What mmcv's ``MultiScaleDeformableAttention`` reads about flattened multi-level maps: their layout,
reference points at the cell centres, and the split of a flattened sequence back into its levels.

Every function here accepts level sizes that are Python ints (eager) or 0-dim tensors (what
``tensor.shape`` gives while ``torch.jit.trace`` / the ONNX exporter runs): sizes are combined with tensor
operations only (``torch.stack``, slicing), never read into Python numbers, so an exported graph computes
them from its input's height and width instead of holding the traced example's as constants.
"""
from typing import List, Sequence, Tuple, Union

import torch

Size = Union[int, torch.Tensor]


def size_tensor(value: Size, device=None, dtype=torch.long) -> torch.Tensor:
    """A 0-dim tensor of a size that is an int or (while tracing) a 0-dim tensor."""
    if isinstance(value, torch.Tensor):
        return value.to(device=device, dtype=dtype)
    return torch.tensor(value, device=device, dtype=dtype)


def level_layout(shapes: Sequence[Tuple[Size, Size]],
                 device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """mmcv's ``spatial_shapes`` and ``level_start_index`` for maps of ``shapes`` flattened one after another.

    Args:
        shapes (Sequence[tuple]): ``(h, w)`` of each level, in the order of the flattened tokens.
        device (torch.device): Device of the result.

    Returns:
        tuple[Tensor, Tensor]: ``spatial_shapes`` (L x 2, long) and ``level_start_index`` (L, long: the
        index of each level's first token).
    """
    spatial_shapes = torch.stack(
        [torch.stack((size_tensor(h, device), size_tensor(w, device))) for h, w in shapes]).view(-1, 2)
    sizes = spatial_shapes.prod(1)
    return spatial_shapes, torch.cat((sizes.new_zeros(1), sizes.cumsum(0)[:-1]))


def split_levels(tokens: torch.Tensor, shapes: Sequence[Tuple[Size, Size]]) -> List[torch.Tensor]:
    """Split ``B x sum(h*w) x C`` tokens into one ``B x (h*w) x C`` chunk per level of ``shapes``.

    ``Tensor.split`` takes Python ints, which a trace records as constants; slicing at running offsets
    keeps the sizes as computed values (same chunks).
    """
    if not torch.jit.is_tracing():
        return list(tokens.split([int(h) * int(w) for h, w in shapes], dim=1))
    chunks, start = [], 0
    for index, (h, w) in enumerate(shapes):
        stop = start + h * w
        chunks.append(tokens[:, start:] if index == len(shapes) - 1 else tokens[:, start:stop])
        start = stop
    return chunks


def cell_centre_reference_points(shapes: Sequence[Tuple[Size, Size]], num_value_levels: int,
                                 device: torch.device) -> torch.Tensor:
    """Reference points at the cell centres of each grid, normalised by that grid's own size.

    Cell ``(i, j)`` of an ``h x w`` grid gets ``((j + 0.5) / w, (i + 0.5) / h)``, the same point in every
    value level: each grid is stretched over the whole input, whatever its stride. Mask2Former's pixel
    decoder places its encoder queries so, and so does the authors' ViT-Adapter (``token_geometry=
    'stretched'``; our own adapter geometry aligns grids by pixel position instead).

    Args:
        shapes (Sequence[tuple]): ``(h, w)`` of each query level, in the order of the flattened tokens.
        num_value_levels (int): Number of value levels.
        device (torch.device): Device of the result.

    Returns:
        Tensor: ``1 x sum(h*w) x num_value_levels x 2`` in ``(x, y)`` order, in ``(0, 1)``.
    """
    refs = []
    for h, w in shapes:
        ys = ((torch.arange(h, dtype=torch.float32, device=device) + 0.5)
              / size_tensor(h, device, torch.float32))
        xs = ((torch.arange(w, dtype=torch.float32, device=device) + 0.5)
              / size_tensor(w, device, torch.float32))
        yy, xx = torch.meshgrid(ys, xs, indexing='ij')
        refs.append(torch.stack((xx.reshape(-1), yy.reshape(-1)), dim=-1))
    return torch.cat(refs, dim=0)[None, :, None].expand(-1, -1, num_value_levels, -1)


def multi_scale_deformable_attn_traceable(value: torch.Tensor, value_spatial_shapes: torch.Tensor,
                                          sampling_locations: torch.Tensor,
                                          attention_weights: torch.Tensor) -> torch.Tensor:
    """mmcv's ``multi_scale_deformable_attn_pytorch`` with the level sizes kept as tensors.

    The same operations in the same order (so the same values), except that the value tokens are split
    by slicing at the offsets computed from ``value_spatial_shapes`` instead of ``Tensor.split`` with
    Python ints: mmcv 2.1.0 (and its later 2.x releases) convert the sizes to ints there, which the ONNX
    tracer bakes into the graph, so a graph would accept only the traced size. ``export_onnx`` puts this
    function in mmcv's place for the export (mmcv's CPU path; the CUDA kernel is not exported).

    Args:
        value (Tensor): ``bs x num_keys x num_heads x dims``.
        value_spatial_shapes (Tensor): ``L x 2`` (h, w) per level, long.
        sampling_locations (Tensor): ``bs x num_queries x num_heads x L x num_points x 2`` in ``[0, 1]``.
        attention_weights (Tensor): ``bs x num_queries x num_heads x L x num_points``.

    Returns:
        Tensor: ``bs x num_queries x (num_heads * dims)``.
    """
    bs, _, num_heads, embed_dims = value.shape
    _, num_queries, num_heads, num_levels, num_points, _ = sampling_locations.shape
    sizes = value_spatial_shapes.prod(1)
    starts = torch.cat((sizes.new_zeros(1), sizes.cumsum(0)))
    sampling_grids = 2 * sampling_locations - 1
    sampling_value_list = []
    for level in range(num_levels):
        h, w = value_spatial_shapes[level, 0], value_spatial_shapes[level, 1]
        value_l = value[:, starts[level]:starts[level + 1]]
        value_l = value_l.flatten(2).transpose(1, 2).reshape(bs * num_heads, embed_dims, h, w)
        sampling_grid_l = sampling_grids[:, :, :, level].transpose(1, 2).flatten(0, 1)
        sampling_value_list.append(
            torch.nn.functional.grid_sample(value_l, sampling_grid_l, mode='bilinear', padding_mode='zeros',
                                            align_corners=False))
    attention_weights = attention_weights.transpose(1, 2).reshape(bs * num_heads, 1, num_queries,
                                                                  num_levels * num_points)
    output = (torch.stack(sampling_value_list, dim=-2).flatten(-2) * attention_weights).sum(-1).view(
        bs, num_heads * embed_dims, num_queries)
    return output.transpose(1, 2).contiguous()
