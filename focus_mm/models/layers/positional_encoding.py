"""Sine positional encoding for 2-D feature maps (DETR / Mask2Former style)."""
import math

import torch
from torch import nn


class SinePositionalEncoding2D(nn.Module):
    """Fixed sine/cosine encoding of (y, x) positions, normalised to [0, 2*pi].

    Args:
        num_feats (int): Channels per axis; the output has ``2 * num_feats`` channels.
        temperature (float): Frequency base. Defaults to 10000.
        normalize (bool): Scale coordinates to ``[0, scale]`` before encoding. Defaults to True.
        scale (float): Range of normalised coordinates. Defaults to ``2 * pi``.
    """

    def __init__(self, num_feats: int = 128, temperature: float = 10000., normalize: bool = True,
                 scale: float = 2 * math.pi):
        super().__init__()
        self.num_feats = num_feats
        self.temperature = temperature
        self.normalize = normalize
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode the positions of ``x`` (B x C x H x W).

        Returns:
            Tensor: B x (2 * num_feats) x H x W, same dtype and device as ``x``.
        """
        b, _, h, w = x.shape
        y_embed = torch.arange(1, h + 1, device=x.device, dtype=torch.float32)[:, None].expand(h, w)
        x_embed = torch.arange(1, w + 1, device=x.device, dtype=torch.float32)[None, :].expand(h, w)
        if self.normalize:
            eps = 1e-6
            y_embed = y_embed / (h + eps) * self.scale
            x_embed = x_embed / (w + eps) * self.scale
        dim_t = torch.arange(self.num_feats, device=x.device, dtype=torch.float32)
        dim_t = self.temperature**(2 * torch.div(dim_t, 2, rounding_mode='floor') / self.num_feats)
        pos_x = x_embed[..., None] / dim_t
        pos_y = y_embed[..., None] / dim_t
        pos_x = torch.stack((pos_x[..., 0::2].sin(), pos_x[..., 1::2].cos()), dim=-1).flatten(2)
        pos_y = torch.stack((pos_y[..., 0::2].sin(), pos_y[..., 1::2].cos()), dim=-1).flatten(2)
        pos = torch.cat((pos_y, pos_x), dim=-1).permute(2, 0, 1)
        return pos.unsqueeze(0).expand(b, -1, -1, -1).to(x.dtype)
