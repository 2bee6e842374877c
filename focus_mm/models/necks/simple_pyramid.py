"""Plain ViT -> strides 4/8/16/32 pyramid (the edge-enhancer-off ablation)."""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import nn

from .adapter_modules import resample_to_grid


class SimplePyramid(nn.Module):
    """Turn the four group token maps into strides 4/8/16/32 (ViTDet-style simple pyramid).

    Map ``i`` is first resampled (by pixel position) onto the stride-16 grid of the input, then
    upsampled x4 (two 2x2 transposed convs) for stride 4, x2 for stride 8, kept for stride 16 and
    max-pooled for stride 32; outputs are cropped to ``ceil(H / s) x ceil(W / s)``.

    Args:
        embed_dims (int): Channels D of the token maps and of the outputs.
        norm_cfg (dict): Norm between the two stride-4 transposed convs.
    """

    def __init__(self, embed_dims: int, norm_cfg: dict):
        super().__init__()
        self.up4 = nn.Sequential(
            nn.ConvTranspose2d(embed_dims, embed_dims, 2, 2),
            build_norm_layer(norm_cfg, embed_dims)[1],
            nn.GELU(),
            nn.ConvTranspose2d(embed_dims, embed_dims, 2, 2))
        self.up8 = nn.ConvTranspose2d(embed_dims, embed_dims, 2, 2)
        self.down32 = nn.MaxPool2d(2, 2, ceil_mode=True)

    def forward(self, maps: Sequence[torch.Tensor], patch_size: int,
                out_shapes: Sequence[Tuple[int, int]], stretch: bool = False) -> List[torch.Tensor]:
        """Build the pyramid.

        Args:
            maps: 4 token maps (B x D x h x w) of stride ``patch_size``.
            patch_size (int): Stride of the token maps.
            out_shapes: Target sizes at strides 4, 8, 16, 32.
            stretch (bool): Resize the token maps onto the stride-16 grid as if they covered the whole
                input (the authors' token geometry) instead of by pixel position. Defaults to False.

        Returns:
            list[Tensor]: 4 maps of D channels with the sizes ``out_shapes``.
        """
        if stretch:
            grid16 = [F.interpolate(m, size=out_shapes[2], mode='bilinear', align_corners=False)
                      for m in maps]
        else:
            grid16 = [resample_to_grid(m, patch_size, out_shapes[2], 16) for m in maps]
        (h4, w4), (h8, w8) = out_shapes[0], out_shapes[1]
        return [
            self.up4(grid16[0])[..., :h4, :w4],
            self.up8(grid16[1])[..., :h8, :w8],
            grid16[2],
            self.down32(grid16[3]),
        ]
