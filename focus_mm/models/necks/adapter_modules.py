"""ViT-Adapter interaction modules (injector, extractor, ConvFFN) on mmcv's deformable attention.

Positions: every map here is a grid of cells of a known stride over the *same* input image, cell
``i`` centred at pixel ``(i + 0.5) * stride``. Reference points of the deformable attention are given
per value level (mmcv accepts ``B x Nq x L x 2``), each normalised by that level's own extent
``size * stride``. ViT tokens (stride 14, grid padded up to a multiple of 14) and ResNet maps (strides
8/16/32, sizes ``ceil(H / s)``) therefore stay aligned even though their extents differ slightly.

The authors' geometry (``token_geometry='stretched'`` of the backbone, for their converted checkpoints)
ignores strides instead: every grid is stretched over the whole input, cell ``i`` of a grid of ``n``
cells at ``(i + 0.5) / n`` of the input's side
(:func:`~focus_mm.models.utils.cell_centre_reference_points`; maps are resized
with ``F.interpolate``, not :func:`resample_to_grid`). With a 36-token grid computed from 504 of 512
pixels, a token then lies up to 8 pixels from where it was computed.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.drop import DropPath
from mmcv.ops import MultiScaleDeformableAttention
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..utils import size_tensor, split_levels

Shape = Tuple[int, int]


def reference_points(query_shapes: Sequence[Shape], query_strides: Sequence[int],
                     value_shapes: Sequence[Shape], value_strides: Sequence[int],
                     device: torch.device) -> torch.Tensor:
    """Pixel-aligned reference points of query cells in every value level.

    Args:
        query_shapes: ``(h, w)`` of each query level (flattened in this order).
        query_strides: Stride in pixels of each query level.
        value_shapes: ``(h, w)`` of each value level.
        value_strides: Stride in pixels of each value level.
        device: Device of the result.

    Returns:
        Tensor: ``1 x sum(h*w) x num_value_levels x 2`` in ``(x, y)`` order, in ``[0, 1]`` of each
        value level's extent (values slightly above 1 mean "past the last cell").
    """
    # L x 2, (x, y); stacked from the sizes (ints, or tensors while tracing) so that an export follows them
    extents = torch.stack([torch.stack((size_tensor(w, device, torch.float32) * s,
                                        size_tensor(h, device, torch.float32) * s))
                           for (h, w), s in zip(value_shapes, value_strides)])
    refs = []
    for (h, w), stride in zip(query_shapes, query_strides):
        ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) * stride
        xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) * stride
        yy, xx = torch.meshgrid(ys, xs, indexing='ij')
        pix = torch.stack((xx.reshape(-1), yy.reshape(-1)), dim=-1)  # N x 2
        refs.append(pix[:, None, :] / extents[None])
    return torch.cat(refs, dim=0)[None]


def resample_to_grid(feat: torch.Tensor, stride: float, out_shape: Shape, out_stride: float) -> torch.Tensor:
    """Bilinearly resample a map onto another grid of the same image, by pixel position.

    Args:
        feat (Tensor): ``B x C x h x w`` with cells of ``stride`` pixels.
        stride (float): Stride of ``feat`` (e.g. the ViT patch size, 14).
        out_shape (tuple): ``(H', W')`` of the target grid.
        out_stride (float): Stride of the target grid (4, 8, 16, 32).

    Returns:
        Tensor: ``B x C x H' x W'``; target cell ``i`` reads ``feat`` at pixel ``(i + 0.5) * out_stride``
        (clamped at the border).
    """
    h, w = feat.shape[-2:]
    out_h, out_w = out_shape
    device, dtype = feat.device, feat.dtype
    ys = (torch.arange(out_h, device=device, dtype=torch.float32) + 0.5) * out_stride / (h * stride)
    xs = (torch.arange(out_w, device=device, dtype=torch.float32) + 0.5) * out_stride / (w * stride)
    yy, xx = torch.meshgrid(ys * 2 - 1, xs * 2 - 1, indexing='ij')
    grid = torch.stack((xx, yy), dim=-1)[None].expand(feat.shape[0], -1, -1, -1).to(dtype)
    return F.grid_sample(feat, grid, mode='bilinear', padding_mode='border', align_corners=False)


class MultiLevelDWConv(nn.Module):
    """Depthwise 3x3 conv applied to each level of a flattened multi-level token sequence."""

    def __init__(self, channels: int):
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, 3, 1, 1, groups=channels)

    def forward(self, x: torch.Tensor, shapes: Sequence[Shape]) -> torch.Tensor:
        b, _, c = x.shape
        outs = []
        for tokens, (h, w) in zip(split_levels(x, shapes), shapes):
            fmap = tokens.transpose(1, 2).reshape(b, c, h, w)
            outs.append(self.dwconv(fmap).flatten(2).transpose(1, 2))
        return torch.cat(outs, dim=1)


class ConvFFN(nn.Module):
    """Linear -> depthwise 3x3 conv (per level) -> GELU -> Linear, as in ViT-Adapter."""

    def __init__(self, embed_dims: int, hidden_dims: int, dropout: float = 0.):
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.dwconv = MultiLevelDWConv(hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, shapes: Sequence[Shape]) -> torch.Tensor:
        x = self.drop(self.act(self.dwconv(self.fc1(x), shapes)))
        return self.drop(self.fc2(x))


def _msda(embed_dims: int, num_heads: int, num_levels: int, num_points: int,
          deform_ratio: float) -> MultiScaleDeformableAttention:
    return MultiScaleDeformableAttention(
        embed_dims=embed_dims, num_heads=num_heads, num_levels=num_levels, num_points=num_points,
        dropout=0., batch_first=True, value_proj_ratio=deform_ratio)


class Injector(nn.Module):
    """ViT tokens attend to the edge pyramid: ``x + gamma * MSDA(LN(x), LN(c))``, gamma starts at 0.

    Args:
        embed_dims (int): Token width D.
        num_heads (int): Attention heads.
        num_points (int): Sampling points per head and level.
        num_levels (int): Edge pyramid levels (3: strides 8, 16, 32).
        deform_ratio (float): Value projection width / D.
        init_gamma (float): Initial value of the per-channel gate. Defaults to 0 (identity at start).
        with_cp (bool): Gradient checkpointing.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_points: int = 4, num_levels: int = 3,
                 deform_ratio: float = 0.5, init_gamma: float = 0., with_cp: bool = False):
        super().__init__()
        self.query_norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.feat_norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.attn = _msda(embed_dims, num_heads, num_levels, num_points, deform_ratio)
        self.gamma = nn.Parameter(torch.full((embed_dims, ), float(init_gamma)))
        self.with_cp = with_cp

    def _forward(self, query, feat, ref, shapes, start):
        # mmcv's MSDA returns ``attn + identity``; a zero identity gives the attention alone.
        attn = self.attn(query=self.query_norm(query), value=self.feat_norm(feat),
                         identity=query.new_zeros(1), reference_points=ref, spatial_shapes=shapes,
                         level_start_index=start)
        return query + self.gamma * attn

    def forward(self, query: torch.Tensor, feat: torch.Tensor, ref: torch.Tensor, shapes: torch.Tensor,
                start: torch.Tensor) -> torch.Tensor:
        """query: B x N x D ViT patch tokens; feat: B x M x D flattened edge pyramid."""
        if self.with_cp and query.requires_grad:
            return checkpoint(self._forward, query, feat, ref, shapes, start, use_reentrant=False)
        return self._forward(query, feat, ref, shapes, start)


class Extractor(nn.Module):
    """Edge tokens attend to the ViT tokens, then a ConvFFN: ``c + MSDA(LN(c), LN(x))``, ``+ FFN``.

    Args:
        embed_dims (int): Token width D.
        num_heads (int): Attention heads.
        num_points (int): Sampling points per head.
        deform_ratio (float): Value projection width / D.
        cffn_ratio (float): ConvFFN hidden width / D. Defaults to 0.25.
        dropout (float): Dropout in the ConvFFN.
        drop_path (float): Drop path on the ConvFFN branch.
        with_cp (bool): Gradient checkpointing.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_points: int = 4, deform_ratio: float = 0.5,
                 cffn_ratio: float = 0.25, dropout: float = 0., drop_path: float = 0., with_cp: bool = False):
        super().__init__()
        self.query_norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.feat_norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.attn = _msda(embed_dims, num_heads, 1, num_points, deform_ratio)
        self.ffn = ConvFFN(embed_dims, int(embed_dims * cffn_ratio), dropout)
        self.ffn_norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.with_cp = with_cp

    def _forward(self, query, feat, ref, shapes, start, query_shapes):
        query = self.attn(query=self.query_norm(query), value=self.feat_norm(feat), identity=query,
                          reference_points=ref, spatial_shapes=shapes, level_start_index=start)
        return query + self.drop_path(self.ffn(self.ffn_norm(query), query_shapes))

    def forward(self, query: torch.Tensor, feat: torch.Tensor, ref: torch.Tensor, shapes: torch.Tensor,
                start: torch.Tensor, query_shapes: List[Shape]) -> torch.Tensor:
        """query: B x M x D flattened edge pyramid (levels ``query_shapes``); feat: B x N x D tokens."""
        if self.with_cp and query.requires_grad:
            return checkpoint(self._forward, query, feat, ref, shapes, start, query_shapes,
                              use_reentrant=False)
        return self._forward(query, feat, ref, shapes, start, query_shapes)


class InteractionBlock(nn.Module):
    """One interaction group's adapter modules: an injector and ``1 + num_extra`` extractors.

    The ViT blocks themselves stay in the backbone; the neck runs
    ``injector -> backbone.forward_group -> extractors``.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_points: int = 4, deform_ratio: float = 0.5,
                 cffn_ratio: float = 0.25, init_gamma: float = 0., dropout: float = 0., drop_path: float = 0.,
                 num_extra_extractors: int = 0, with_cp: bool = False):
        super().__init__()
        self.injector = Injector(embed_dims, num_heads, num_points, 3, deform_ratio, init_gamma, with_cp)
        self.extractors = nn.ModuleList([
            Extractor(embed_dims, num_heads, num_points, deform_ratio, cffn_ratio, dropout, drop_path,
                      with_cp)
            for _ in range(1 + num_extra_extractors)
        ])
