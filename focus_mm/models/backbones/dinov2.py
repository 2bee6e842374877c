"""DINOv2 ViT backbone (mmpretrain ``VisionTransformer`` with the DINOv2 settings).

Interaction-neck protocol
-------------------------
A neck that interleaves with a ViT (ViT-Adapter style, ``neck.drives_backbone = True``), such as
:class:`~focus_mm.models.necks.EdgeEnhancerNeck`, relies only on the following members, so any ViT
that provides them can be driven the same way:

- ``embed_dims`` (int): token width ``D``.
- ``patch_size`` (int): pixels per token side; the token grid has stride ``patch_size``.
- ``num_extra_tokens`` (int): leading non-patch tokens (class token) in the token sequence.
- ``interaction_groups`` (list of ``[first, last]`` block indices, inclusive, contiguous, covering all
  blocks in order).
- ``prepare_tokens(img) -> (tokens, (h, w))``: embeds a ``B x 3 x H x W`` image into
  ``B x (num_extra_tokens + h*w) x D`` tokens (position embedding added); ``(h, w)`` is the token grid.
- ``forward_group(tokens, index) -> tokens``: runs the blocks of interaction group ``index``.
- ``tokens_to_map(tokens, (h, w)) -> B x D x h x w``: the patch tokens (extra tokens dropped) as a map.
- ``prior_map(tokens, (h, w)) -> B x D x h x w``: the patch tokens after the final norm (M0 prior).
- ``token_geometry`` (str, optional; ``'padded'`` when absent): how the token grid lies on the image,
  see below.

Token geometry (``token_geometry``):

- ``'padded'`` (ours, the default): token maps cover the *padded* image: a side that is not a multiple
  of ``patch_size`` is zero-padded at the bottom/right up to the next multiple (mmcv ``PatchEmbed``
  adaptive "corner" padding; 512 -> 518, 37 x 37 tokens), so token ``i`` sits at pixel
  ``(i + 0.5) * patch_size`` of the original image and the grid extends past the image by less than
  one patch. Necks map tokens back onto the image's stride-4..32 grids by pixel position (see
  ``focus_mm.models.necks.adapter_modules``).
- ``'stretched'`` (the authors' code, for their converted checkpoints): the stride-14 convolution drops
  the remainder, i.e. the input is cropped at the bottom/right to a multiple of ``patch_size``
  (512 -> 504, 36 x 36 tokens; the last 8 rows and columns are not seen by the ViT), and necks treat
  the token grid as *stretched* over the whole input: token ``i`` of ``h`` is placed at ``(i + 0.5) / h``
  of the input's height, whatever the pixels it was computed from.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.drop import DropPath
from mmpretrain.models.backbones.vision_transformer import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed
from torch import nn
from torch.utils.checkpoint import checkpoint

from mmseg.registry import MODELS
from ...utils import check_checkpoint_exists, load_checkpoint_strict

# mmpretrain-format DINOv2 weights (headless configs ``configs/dinov2/vit-*-p14_dinov2-pre_headless.py``).
DINOV2_URLS = {
    'small': 'https://download.openmmlab.com/mmpretrain/v1.0/dinov2/'
             'vit-small-p14_dinov2-pre_3rdparty_20230426-5641ca5a.pth',
    'base': 'https://download.openmmlab.com/mmpretrain/v1.0/dinov2/'
            'vit-base-p14_dinov2-pre_3rdparty_20230426-ba246503.pth',
    'large': 'https://download.openmmlab.com/mmpretrain/v1.0/dinov2/'
             'vit-large-p14_dinov2-pre_3rdparty_20230426-f3302d9e.pth',
    'giant': 'https://download.openmmlab.com/mmpretrain/v1.0/dinov2/'
             'vit-giant-p14_dinov2-pre_3rdparty_20230426-2934a630.pth',
}

# Our arch names -> mmpretrain's arch_zoo names (same widths/depths as the DINOv2 releases).
_ARCH_ALIASES = {
    'small': 'dinov2-small', 's': 'dinov2-small', 'dinov2-small': 'dinov2-small', 'dinov2-s': 'dinov2-small',
    'base': 'base', 'b': 'base', 'dinov2-base': 'base',
    'large': 'large', 'l': 'large', 'dinov2-large': 'large',
    'giant': 'dinov2-giant', 'g': 'dinov2-giant', 'dinov2-giant': 'dinov2-giant', 'dinov2-g': 'dinov2-giant',
}

_HINT_WEIGHTS = ('mmpretrain-format DINOv2 weights: ' + ', '.join(f'{k}: {v}' for k, v in DINOV2_URLS.items())
                 + '. Official facebookresearch checkpoints (dinov2_vit*14[_reg4]_pretrain.pth) must '
                 'first be converted with tools/model_converters/dinov2_to_mmpretrain.py.')


TOKEN_GEOMETRIES = ('padded', 'stretched')


def default_interaction_groups(num_layers: int, num_groups: int = 4) -> List[List[int]]:
    """Split ``num_layers`` blocks into ``num_groups`` equal contiguous groups (L: [[0,5],...,[18,23]])."""
    if num_layers % num_groups:
        raise ValueError(f'DINOv2: cannot split {num_layers} blocks into {num_groups} equal interaction '
                         'groups; pass interaction_groups explicitly')
    size = num_layers // num_groups
    return [[i * size, (i + 1) * size - 1] for i in range(num_groups)]


@MODELS.register_module()
class DINOv2(VisionTransformer):
    """DINOv2 ViT (patch 14, layer scale, pretrain size 518) for dense prediction.

    Built on mmpretrain's ``VisionTransformer`` (same parameter names, so mmpretrain DINOv2
    checkpoints load as they are). It implements the interaction-neck protocol described in this
    module's docstring. Alone, ``forward(img)`` returns the per-group token maps and the final-norm
    map of the last block.

    Any input size works: position embeddings (37 x 37 at 518) are interpolated to the token grid,
    and a side that is not a multiple of 14 is zero-padded at the bottom/right to the next multiple
    (so the token grid is ``ceil(H / 14) x ceil(W / 14)`` and covers the image plus < 14 pixels), or,
    with ``token_geometry='stretched'``, cropped to the multiple below (``floor(H / 14) x floor(W / 14)``
    tokens, as the authors' patch embedding does).

    Args:
        arch (str | dict): ``'small'``, ``'base'``, ``'large'`` or ``'giant'`` (or mmpretrain's names
            ``'dinov2-small'``, ``'dinov2-giant'``), or a dict with ``embed_dims``, ``num_layers``,
            ``num_heads``, ``feedforward_channels`` (tiny test models). Defaults to ``'large'``.
        img_size (int): Pretraining size; sets the position-embedding grid. Defaults to 518.
        patch_size (int): Defaults to 14.
        in_channels (int): Defaults to 3.
        interaction_groups (list[list[int]], optional): ``[first, last]`` block indices per group,
            contiguous and covering every block. Defaults to 4 equal groups
            (L: ``[[0,5],[6,11],[12,17],[18,23]]``, G: ``[[0,9],...,[30,39]]``).
        drop_rate (float): Dropout after the position embedding and in the blocks. Defaults to 0.
        drop_path_rate (float): Stochastic depth, linearly increasing over the blocks. Defaults to 0.
        layer_scale_init_value (float): Defaults to 1e-5 (DINOv2).
        ffn_type (str, optional): ``'origin'`` (MLP) or ``'swiglu_fused'``. Defaults to SwiGLU for the
            giant arch and MLP otherwise.
        frozen (bool): Freeze the whole ViT: no gradients, always in eval mode (the paper's
            "0.1G trainable" variant). Its parameters then have ``requires_grad=False``, so they get no
            gradient and no optimizer update. Defaults to False.
        with_cp (bool): Gradient checkpointing of each block (saves memory, costs a recomputation).
            Defaults to False.
        train_final_norm (bool): Whether the final LayerNorm is trainable. It only feeds the M0 prior,
            which is binarised (no gradient), so by default it keeps its pretrained values, is
            excluded from training and the prior map is computed without gradient (this also keeps
            DDP's ``find_unused_parameters=False`` working). Defaults to False.
        interpolate_mode (str): Position-embedding interpolation. Defaults to ``'bicubic'``.
        token_geometry (str): ``'padded'`` (pad to the next multiple of the patch size, tokens placed by
            pixel position) or ``'stretched'`` (crop to the multiple below, tokens stretched over the
            input by the neck), see the module docstring. ``'stretched'`` is for evaluating the
            authors' converted checkpoints. Defaults to ``'padded'``.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=<path or URL>,
            prefix='backbone.')`` loads mmpretrain-format weights strictly (a key mismatch raises and
            lists the keys). A missing local file fails at build time.
    """

    def __init__(self,
                 arch: Union[str, Dict] = 'large',
                 img_size: int = 518,
                 patch_size: int = 14,
                 in_channels: int = 3,
                 interaction_groups: Optional[List[List[int]]] = None,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 1e-5,
                 ffn_type: Optional[str] = None,
                 frozen: bool = False,
                 with_cp: bool = False,
                 train_final_norm: bool = False,
                 interpolate_mode: str = 'bicubic',
                 token_geometry: str = 'padded',
                 init_cfg: Optional[dict] = None):
        if token_geometry not in TOKEN_GEOMETRIES:
            raise ValueError(f'DINOv2: token_geometry must be one of {TOKEN_GEOMETRIES}, '
                             f'got {token_geometry!r}')
        if isinstance(arch, str):
            if arch.lower() not in _ARCH_ALIASES:
                raise ValueError(f'DINOv2: unknown arch {arch!r}; choose from small, base, large, giant '
                                 'or pass a dict(embed_dims, num_layers, num_heads, feedforward_channels)')
            arch = _ARCH_ALIASES[arch.lower()]
            is_giant = arch == 'dinov2-giant'
        else:
            is_giant = False
        if ffn_type is None:
            ffn_type = 'swiglu_fused' if is_giant else 'origin'
        pretrained = self._parse_init_cfg(init_cfg)
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            in_channels=in_channels,
            out_indices=-1,
            drop_rate=drop_rate,
            drop_path_rate=drop_path_rate,
            qkv_bias=True,
            norm_cfg=dict(type='LN', eps=1e-6),
            final_norm=True,
            out_type='featmap',
            with_cls_token=True,
            interpolate_mode=interpolate_mode,
            layer_scale_init_value=layer_scale_init_value,
            layer_cfgs=dict(ffn_type=ffn_type),
            init_cfg=None)  # init_weights loads the checkpoint strictly instead of mmengine's warn-only init
        self._pretrained = pretrained
        self.patch_size = patch_size
        self.in_channels = in_channels
        self.with_cp = with_cp
        self.frozen = frozen
        self.train_final_norm = train_final_norm
        self.token_geometry = token_geometry
        if ffn_type == 'swiglu_fused' and drop_path_rate > 0:
            # mmpretrain's SwiGLU FFN is built without a drop path; give it the same schedule.
            for rate, layer in zip(np.linspace(0, drop_path_rate, self.num_layers), self.layers):
                layer.ffn.dropout_layer = DropPath(float(rate)) if rate > 0 else nn.Identity()

        groups = interaction_groups or default_interaction_groups(self.num_layers)
        self.interaction_groups = self._check_groups(groups, self.num_layers)

        if not train_final_norm:
            self.ln1.requires_grad_(False)
        if frozen:
            self.requires_grad_(False)

    # ------------------------------------------------------------------ set-up helpers
    @staticmethod
    def _parse_init_cfg(init_cfg: Optional[dict]) -> Optional[dict]:
        if init_cfg is None:
            return None
        if not isinstance(init_cfg, dict) or init_cfg.get('type') != 'Pretrained':
            raise ValueError(f'DINOv2: init_cfg must be None or dict(type="Pretrained", checkpoint=...), '
                             f'got {init_cfg}')
        if not init_cfg.get('checkpoint'):
            raise ValueError(f'DINOv2: init_cfg {init_cfg} has no checkpoint. {_HINT_WEIGHTS}')
        check_checkpoint_exists(init_cfg['checkpoint'], 'DINOv2', _HINT_WEIGHTS)
        return dict(init_cfg)

    @staticmethod
    def _check_groups(groups: Sequence[Sequence[int]], num_layers: int) -> List[List[int]]:
        groups = [list(g) for g in groups]
        expected_first = 0
        for g in groups:
            if len(g) != 2 or g[0] != expected_first or g[1] < g[0]:
                raise ValueError(f'DINOv2: interaction_groups {groups} must be contiguous [first, last] '
                                 f'block ranges starting at 0 (group {g} should start at {expected_first})')
            expected_first = g[1] + 1
        if expected_first != num_layers:
            raise ValueError(f'DINOv2: interaction_groups {groups} cover {expected_first} blocks but the '
                             f'model has {num_layers}')
        return groups

    def init_weights(self):
        """Random init (mmpretrain's), or a strict load of the ``Pretrained`` checkpoint."""
        if self._pretrained is None:
            super().init_weights()
            return
        load_checkpoint_strict(
            self,
            self._pretrained['checkpoint'],
            what='DINOv2',
            hint=_HINT_WEIGHTS,
            prefix=self._pretrained.get('prefix'),
            ignore_keys=('mask_token', ))  # only used by DINOv2's masked-image pretraining
        if not self.train_final_norm:
            self.ln1.requires_grad_(False)
        if self.frozen:
            self.requires_grad_(False)

    def train(self, mode: bool = True):
        """Keep a frozen ViT in eval mode (no dropout/drop path) whatever the parent's mode."""
        super().train(mode)
        if self.frozen:
            super().train(False)
        return self

    # ------------------------------------------------------------------ interaction-neck protocol
    def prepare_tokens(self, img: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Patch-embed ``img`` (B x 3 x H x W), prepend the class token, add position embeddings.

        Returns:
            tuple: tokens ``B x (1 + h*w) x D`` and the token grid ``(h, w)``: ``ceil`` of the side over
            the patch size (``'padded'``), ``floor`` with ``token_geometry='stretched'``.
        """
        if img.dim() != 4 or img.shape[1] != self.in_channels:
            raise ValueError(
                f'DINOv2 expects B x {self.in_channels} x H x W images, got {tuple(img.shape)}. A 6-channel '
                'input (image + EdgePrior) is split by the segmentor: pass only the first 3 channels.')
        if self.token_geometry == 'stretched':
            # The authors' stride-14 convolution has no padding: it drops the last H % 14 rows and
            # W % 14 columns. Cropping first gives the same tokens (mmcv's adaptive padding then adds none).
            height, width = (side // self.patch_size * self.patch_size for side in img.shape[-2:])
            if height == 0 or width == 0:
                raise ValueError(f'DINOv2(token_geometry="stretched"): an input of {tuple(img.shape[-2:])} '
                                 f'pixels has no full {self.patch_size} x {self.patch_size} patch')
            img = img[..., :height, :width]
        elif torch.jit.is_tracing():
            # mmcv's adaptive padding reads the input size into Python ints (math.ceil), which a trace
            # records as constants: pad here with sizes computed in the graph (the same zeros at the
            # bottom/right), so the adaptive padding finds nothing left to pad at any size.
            height, width = img.shape[-2:]
            img = F.pad(img, [0, (-width) % self.patch_size, 0, (-height) % self.patch_size])
        x, hw = self.patch_embed(img)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        if torch.jit.is_tracing():
            # mmpretrain's resize_pos_embed returns the table unresized when the sizes match, a branch a
            # trace would fix; bicubic resizing to the same size is the identity, so always resize.
            x = x + self._resized_pos_embed(hw)
        else:
            x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, hw,
                                     mode=self.interpolate_mode, num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        return self.pre_norm(x), tuple(hw)

    def _resized_pos_embed(self, hw) -> torch.Tensor:
        """The position-embedding table resized to the token grid ``hw`` (ints or traced sizes)."""
        extra = self.num_extra_tokens
        grid = self.pos_embed[:, extra:].reshape(1, *self.patch_resolution, -1).permute(0, 3, 1, 2)
        resized = F.interpolate(grid.float(), size=hw, mode=self.interpolate_mode, align_corners=False)
        resized = resized.flatten(2).transpose(1, 2).to(self.pos_embed.dtype)
        return torch.cat((self.pos_embed[:, :extra], resized), dim=1)

    def forward_group(self, tokens: torch.Tensor, index: int) -> torch.Tensor:
        """Run the blocks of interaction group ``index`` on ``tokens``."""
        first, last = self.interaction_groups[index]
        for layer in self.layers[first:last + 1]:
            if self.with_cp and self.training and tokens.requires_grad:
                tokens = checkpoint(layer, tokens, use_reentrant=False)
            else:
                tokens = layer(tokens)
        return tokens

    def tokens_to_map(self, tokens: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        """Drop the extra tokens and reshape the patch tokens to ``B x D x h x w``."""
        patches = tokens[:, self.num_extra_tokens:]
        return patches.transpose(1, 2).reshape(tokens.shape[0], -1, *hw)

    def prior_map(self, tokens: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        """Last-block patch tokens after the final norm, ``B x D x h x w`` (for the M0 prior)."""
        if self.train_final_norm:
            return self.tokens_to_map(self.ln1(tokens), hw)
        with torch.no_grad():
            return self.tokens_to_map(self.ln1(tokens), hw)

    def forward(self, img: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Run the ViT alone.

        Args:
            img (Tensor): ``B x 3 x H x W``.

        Returns:
            tuple[Tensor]: one ``B x D x h x w`` map per interaction group (block outputs, no norm),
            then the last block's map after the final norm; ``h, w = ceil(H / 14), ceil(W / 14)``
            (``floor`` with ``token_geometry='stretched'``).
        """
        tokens, hw = self.prepare_tokens(img)
        outs = []
        for index in range(len(self.interaction_groups)):
            tokens = self.forward_group(tokens, index)
            outs.append(self.tokens_to_map(tokens, hw))
        outs.append(self.prior_map(tokens, hw))
        return tuple(outs)
