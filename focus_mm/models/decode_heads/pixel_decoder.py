"""Mask2Former's multi-scale deformable-attention pixel decoder, written on mmcv (no mmdet)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmcv.ops import MultiScaleDeformableAttention
from mmengine.model import BaseModule
from torch import nn

from mmseg.registry import MODELS
from ..layers import SinePositionalEncoding2D
from ..utils import cell_centre_reference_points, level_layout, split_levels


class DeformableEncoderLayer(nn.Module):
    """Post-norm Deformable-DETR encoder layer: ``x = LN(x + MSDA(x)); x = LN(x + FFN(x))``."""

    def __init__(self, embed_dims: int, num_heads: int, num_levels: int, num_points: int,
                 feedforward_channels: int, dropout: float = 0.):
        super().__init__()
        self.self_attn = MultiScaleDeformableAttention(
            embed_dims=embed_dims, num_heads=num_heads, num_levels=num_levels, num_points=num_points,
            dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, feedforward_channels), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(feedforward_channels, embed_dims), nn.Dropout(dropout))
        self.norm2 = nn.LayerNorm(embed_dims)

    def forward(self, x, pos, ref, shapes, start):
        # mmcv's MSDA adds ``pos`` to the query only (offsets/weights) and returns ``x + attn``.
        x = self.norm1(self.self_attn(query=x, value=x, query_pos=pos, reference_points=ref,
                                      spatial_shapes=shapes, level_start_index=start))
        return self.norm2(x + self.ffn(x))


@MODELS.register_module()
class FocusPixelDecoder(BaseModule):
    """Multi-scale deformable-attention pixel decoder of Mask2Former (as used by FOCUS).

    The three lowest-resolution inputs (strides 8/16/32) are projected to ``feat_channels`` (1x1 conv
    + GroupNorm), given sine positions and a learned level embedding, and refined by
    ``num_encoder_layers`` deformable encoder layers. The stride-4 input goes through an FPN lateral
    conv, is added to the upsampled stride-8 output and an output conv; a 1x1 conv gives the mask
    features.

    Args:
        in_channels (Sequence[int]): Channels of the 4 inputs (strides 4, 8, 16, 32).
        feat_channels (int): Width of the decoder. Defaults to 256.
        out_channels (int): Channels of the mask features. Defaults to 256.
        num_encoder_layers (int): Defaults to 6.
        num_heads (int): Deformable-attention heads. Defaults to 8.
        num_points (int): Sampling points per head and level. Defaults to 4.
        feedforward_channels (int): Encoder FFN width. Defaults to 1024.
        dropout (float): Encoder dropout. Defaults to 0.
        norm_cfg (dict): Norm of the projections and FPN convs. Defaults to ``GN(32)``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (1024, 1024, 1024, 1024),
                 feat_channels: int = 256,
                 out_channels: int = 256,
                 num_encoder_layers: int = 6,
                 num_heads: int = 8,
                 num_points: int = 4,
                 feedforward_channels: int = 1024,
                 dropout: float = 0.,
                 norm_cfg: dict = dict(type='GN', num_groups=32),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 4:
            raise ValueError(f'FocusPixelDecoder expects 4 input levels (strides 4, 8, 16, 32), '
                             f'got in_channels={in_channels}')
        self.in_channels = list(in_channels)
        self.num_levels = 3
        # Mask2Former order: the encoder levels from the lowest resolution (stride 32) up.
        self.input_projs = nn.ModuleList([
            nn.Sequential(nn.Conv2d(c, feat_channels, 1), build_norm_layer(norm_cfg, feat_channels)[1])
            for c in self.in_channels[:0:-1]
        ])
        self.level_embed = nn.Embedding(self.num_levels, feat_channels)
        self.positional_encoding = SinePositionalEncoding2D(feat_channels // 2, normalize=True)
        self.encoder = nn.ModuleList([
            DeformableEncoderLayer(feat_channels, num_heads, self.num_levels, num_points,
                                   feedforward_channels, dropout) for _ in range(num_encoder_layers)
        ])
        self.lateral_conv = nn.Sequential(
            nn.Conv2d(self.in_channels[0], feat_channels, 1, bias=False),
            build_norm_layer(norm_cfg, feat_channels)[1])
        self.output_conv = nn.Sequential(
            nn.Conv2d(feat_channels, feat_channels, 3, padding=1, bias=False),
            build_norm_layer(norm_cfg, feat_channels)[1], nn.ReLU(inplace=True))
        self.mask_feature = nn.Conv2d(feat_channels, out_channels, 1)

    def init_weights(self):
        """Mask2Former's init: xavier for the projections and encoder, c2-xavier for the FPN convs."""
        super().init_weights()
        for proj in self.input_projs:
            nn.init.xavier_uniform_(proj[0].weight, gain=1)
            nn.init.zeros_(proj[0].bias)
        for p in self.encoder.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for m in self.encoder.modules():
            if isinstance(m, MultiScaleDeformableAttention):
                m.init_weights()
        nn.init.normal_(self.level_embed.weight)
        for conv in (self.lateral_conv[0], self.output_conv[0], self.mask_feature):
            nn.init.kaiming_uniform_(conv.weight, a=1)
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)

    def forward(self, feats: Sequence[torch.Tensor],
                task_embed: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Decode the pyramid.

        Args:
            feats (Sequence[Tensor]): 4 maps at strides 4, 8, 16, 32 (``B x in_channels[i] x H_i x W_i``).
            task_embed (Tensor, optional): ``B x feat_channels``, added to every encoder token after the
                input projections (a universal head's per-sample task; after the GroupNorm, which would
                remove a per-channel constant, and before the encoder, which mixes it in). Defaults to None.

        Returns:
            tuple: mask features ``B x out_channels x H_0 x W_0`` (stride 4), and the encoder outputs
            ``[s32, s16, s8]`` (``B x feat_channels x H_i x W_i``, lowest resolution first).
        """
        if len(feats) != 4:
            raise ValueError(f'FocusPixelDecoder expects 4 maps (strides 4..32), got {len(feats)}')
        for i, (f, c) in enumerate(zip(feats, self.in_channels)):
            if f.dim() != 4 or f.shape[1] != c:
                raise ValueError(f'FocusPixelDecoder input {i} has shape {tuple(f.shape)}; expected '
                                 f'B x {c} x H x W (in_channels={self.in_channels})')
        b = feats[0].shape[0]
        levels = feats[:0:-1]  # s32, s16, s8
        tokens, pos, shapes = [], [], []
        for lvl, (f, proj) in enumerate(zip(levels, self.input_projs)):
            x = proj(f)
            shapes.append(tuple(x.shape[-2:]))
            tokens.append(x.flatten(2).transpose(1, 2))
            level_pos = self.positional_encoding(x).flatten(2).transpose(1, 2)
            pos.append(level_pos + self.level_embed.weight[lvl][None, None])
        x, pos = torch.cat(tokens, 1), torch.cat(pos, 1)
        if task_embed is not None:
            x = x + task_embed[:, None].to(x.dtype)
        device = x.device
        spatial_shapes, start = level_layout(shapes, device)
        ref = cell_centre_reference_points(shapes, self.num_levels, device)  # as Mask2Former's encoder
        for layer in self.encoder:
            x = layer(x, pos, ref, spatial_shapes, start)

        multi_scale = [t.transpose(1, 2).reshape(b, -1, h, w)
                       for t, (h, w) in zip(split_levels(x, shapes), shapes)]
        y = self.lateral_conv(feats[0])
        y = y + F.interpolate(multi_scale[-1], size=y.shape[-2:], mode='bilinear', align_corners=False)
        y = self.output_conv(y)
        return self.mask_feature(y), multi_scale
