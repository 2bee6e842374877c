"""FOCUS edge enhancer: a ResNet edge branch interleaved with a ViT (ViT-Adapter style)."""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmcv.ops import MultiScaleDeformableAttention
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import nn

from mmseg.registry import MODELS
from ...tasks import check_task_list
from ...utils import check_checkpoint_exists, load_checkpoint_strict
from ..layers import TaskNormAffine
from ..utils import cell_centre_reference_points, level_layout, split_levels
from .adapter_modules import InteractionBlock, reference_points, resample_to_grid
from .simple_pyramid import SimplePyramid

OUT_STRIDES = (4, 8, 16, 32)
_PROTOCOL = ('embed_dims', 'patch_size', 'num_extra_tokens', 'interaction_groups', 'prepare_tokens',
             'forward_group', 'tokens_to_map', 'prior_map')
_EDGE_HINT = ('Use torchvision-format ImageNet weights for the edge ResNet: `torchvision://resnet50` (needs '
              'internet) or a local copy of https://download.pytorch.org/models/resnet50-0676ba61.pth '
              '(keys conv1.*, bn1.*, layer1..4.*; fc.* is ignored).')


@MODELS.register_module()
class EdgeEnhancerNeck(BaseModule):
    """Edge enhancer of FOCUS: injects edge features into a ViT and extracts a stride-4..32 pyramid.

    The neck *drives* the backbone (``drives_backbone = True``): per interaction group, an injector
    (deformable attention from the ViT patch tokens to the edge pyramid c2..c4, gated by a
    zero-initialised ``gamma``) updates the tokens, the backbone runs the group's blocks, and
    extractors (deformable attention from the edge tokens to the ViT tokens, then a ConvFFN) update
    the edge pyramid; the last group has extra extractors. The backbone is used only through the
    protocol documented in :mod:`focus_mm.models.backbones.dinov2`, so any ViT that follows it fits.

    The edge branch is a ResNet on the edge-blended image (``EdgePrior`` transform), its c1..c4
    projected to D by 1x1 convs. Outputs: ``c1 + up(c2)`` and c2..c4, each plus the corresponding
    group's token map resampled onto its grid, then a norm per level.

    With ``with_edge=False`` (the "EE off" ablation) there is no ResNet and no injector/extractor: the
    backbone runs its groups and a simple pyramid (transposed convs / pooling) makes the 4 levels.

    Token placement follows the backbone's ``token_geometry``: ``'padded'`` (default) places tokens and
    edge cells by pixel position (:func:`~.adapter_modules.reference_points`,
    :func:`~.adapter_modules.resample_to_grid`); ``'stretched'`` stretches every grid over the input as the
    authors' adapter does (:func:`~focus_mm.models.utils.cell_centre_reference_points` for the injectors and
    extractors, ``F.interpolate`` of the group token maps onto the output grids).

    Args:
        embed_dims (int): ViT width D. Defaults to 1024 (DINOv2-L).
        num_heads (int): Deformable-attention heads (16 for L, 24 for G).
        num_points (int): Sampling points per head and level. Defaults to 4.
        deform_ratio (float): Value projection width / D. Defaults to 0.5.
        cffn_ratio (float): ConvFFN hidden width / D. Defaults to 0.25.
        num_groups (int): Interaction groups; must match the backbone's. Defaults to 4.
        num_extra_extractors (int): Extra extractors in the last group. Defaults to 2.
        init_gamma (float): Initial injector gate. Defaults to 0.
        dropout (float): Dropout in the ConvFFNs. Defaults to 0.
        drop_path_rate (float): Drop path on the ConvFFN branches (the authors reuse the ViT's 0.4).
            Defaults to 0.
        with_edge (bool): Use the edge branch and the interaction modules. Defaults to True.
        edge_backbone (dict): Config of the edge CNN (an mmseg ``MODELS`` type that returns 4 maps
            at strides 4/8/16/32). Defaults to an mmseg ResNet-50, torchvision layout.
        edge_channels (Sequence[int], optional): Channels of the 4 edge maps; inferred for mmseg's
            ResNet / ResNetV1c.
        edge_pretrained (str, optional): torchvision-format weights for the edge CNN (local path or
            ``torchvision://resnet50``); loaded strictly in ``init_weights``.
        add_vit_feature (bool): Add the group token maps to the outputs. Defaults to True.
        norm_cfg (dict): Norm of each output level (SyncBN for multi-GPU, BN/GN on CPU).
            Defaults to ``dict(type='BN')``.
        with_cp (bool): Gradient checkpointing of the injectors/extractors. Defaults to False.
        tasks (Sequence[str], optional): A universal model's tasks (the decode head's, in its order): the
            edge CNN's batch-norm outputs get a per-task scale and shift (``task_edge_affine``, a
            :class:`~focus_mm.models.layers.TaskNormAffine`), chosen by ``forward``'s ``task_ids``, so the
            low-level edge features can differ by task (docs/results/universal.md: the tasks' gradients
            conflict most in the edge CNN). None (default): a single-task neck, no task parameters.
        init_cfg (dict, optional): Unused beyond mmengine's defaults.
    """

    drives_backbone = True

    def __init__(self,
                 embed_dims: int = 1024,
                 num_heads: int = 16,
                 num_points: int = 4,
                 deform_ratio: float = 0.5,
                 cffn_ratio: float = 0.25,
                 num_groups: int = 4,
                 num_extra_extractors: int = 2,
                 init_gamma: float = 0.,
                 dropout: float = 0.,
                 drop_path_rate: float = 0.,
                 with_edge: bool = True,
                 edge_backbone: Optional[dict] = None,
                 edge_channels: Optional[Sequence[int]] = None,
                 edge_pretrained: Optional[str] = None,
                 add_vit_feature: bool = True,
                 norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False,
                 tasks: Optional[Sequence[str]] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.num_groups = num_groups
        self.with_edge = with_edge
        self.add_vit_feature = add_vit_feature
        self.init_gamma = init_gamma
        self.edge_pretrained = edge_pretrained if with_edge else None
        check_checkpoint_exists(self.edge_pretrained, 'EdgeEnhancerNeck edge_pretrained', _EDGE_HINT)

        if with_edge:
            if edge_backbone is None:
                edge_backbone = dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
                                     style='pytorch', norm_cfg=dict(type='BN', requires_grad=True),
                                     zero_init_residual=False)
            self.edge_backbone = MODELS.build(edge_backbone)
            edge_channels = edge_channels or self._infer_edge_channels(self.edge_backbone)
            if len(edge_channels) != 4:
                raise ValueError(f'EdgeEnhancerNeck: edge_channels must list 4 values, got {edge_channels}')
            self.edge_proj = nn.ModuleList([nn.Conv2d(c, embed_dims, 1) for c in edge_channels])
            self.level_embed = nn.Parameter(torch.zeros(3, embed_dims))
            self.interactions = nn.ModuleList([
                InteractionBlock(embed_dims, num_heads, num_points, deform_ratio, cffn_ratio, init_gamma,
                                 dropout, drop_path_rate, num_extra_extractors if i == num_groups - 1 else 0,
                                 with_cp)
                for i in range(num_groups)
            ])
            self.up = nn.ConvTranspose2d(embed_dims, embed_dims, 2, 2)
        else:
            self.pyramid = SimplePyramid(embed_dims, norm_cfg)
        self.norms = nn.ModuleList([build_norm_layer(norm_cfg, embed_dims)[1] for _ in OUT_STRIDES])
        #: the universal model's tasks (empty: single-task neck).
        self.tasks: Tuple[str, ...] = () if tasks is None else check_task_list(tasks, 'EdgeEnhancerNeck')
        if self.tasks:
            if not with_edge:
                raise ValueError('EdgeEnhancerNeck: tasks= conditions the edge CNN, which with_edge=False '
                                 'does not have; drop tasks or set with_edge=True')
            self.task_edge_affine = TaskNormAffine(self.edge_backbone, len(self.tasks))

    @staticmethod
    def _infer_edge_channels(edge_backbone: nn.Module) -> List[int]:
        block = getattr(edge_backbone, 'block', None)
        base = getattr(edge_backbone, 'base_channels', None)
        if block is None or base is None or not hasattr(block, 'expansion'):
            raise ValueError(f'EdgeEnhancerNeck: cannot infer the output channels of '
                             f'{type(edge_backbone).__name__}; set edge_channels=[c1, c2, c3, c4]')
        return [base * 2**i * block.expansion for i in range(4)]

    # ------------------------------------------------------------------ init
    def init_weights(self):
        """ViT-Adapter init for the adapter parts, mmcv's for the deformable attention, then the
        edge CNN's weights (strict) when ``edge_pretrained`` is set."""
        super().init_weights()
        adapter_parts = [self.norms]
        if self.with_edge:
            adapter_parts += [self.edge_proj, self.interactions, self.up]
        else:
            adapter_parts.append(self.pyramid)
        for part in adapter_parts:
            part.apply(self._init_adapter_module)
        for module in self.modules():
            if isinstance(module, MultiScaleDeformableAttention):
                module.init_weights()
        if self.with_edge:
            nn.init.normal_(self.level_embed)
            for block in self.interactions:
                nn.init.constant_(block.injector.gamma, self.init_gamma)
            if self.tasks:
                self.task_edge_affine.reset_parameters()
            if self.edge_pretrained:
                load_checkpoint_strict(self.edge_backbone, self.edge_pretrained,
                                       'EdgeEnhancerNeck edge ResNet', _EDGE_HINT,
                                       ignore_keys=('fc.weight', 'fc.bias'))

    @staticmethod
    def _init_adapter_module(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)):
            if m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    # ------------------------------------------------------------------ forward
    def _check_backbone(self, backbone: nn.Module) -> None:
        missing = [name for name in _PROTOCOL if not hasattr(backbone, name)]
        if missing:
            raise TypeError(f'EdgeEnhancerNeck drives a ViT through the protocol of '
                            f'focus_mm.models.backbones.dinov2; {type(backbone).__name__} lacks {missing}')
        if backbone.embed_dims != self.embed_dims or len(backbone.interaction_groups) != self.num_groups:
            raise ValueError(
                f'EdgeEnhancerNeck(embed_dims={self.embed_dims}, num_groups={self.num_groups}) does not '
                f'match the backbone (embed_dims={backbone.embed_dims}, '
                f'{len(backbone.interaction_groups)} interaction groups); set the neck to the same values')

    def forward(self, backbone: nn.Module, img: torch.Tensor, edge_img: Optional[torch.Tensor] = None,
                task_ids: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, ...]:
        """Run the backbone and the neck together.

        Args:
            backbone (nn.Module): A ViT following the interaction-neck protocol.
            img (Tensor): Normalised image, ``B x 3 x H x W``.
            edge_img (Tensor, optional): Normalised edge-blended image, ``B x 3 x H x W`` (channels
                3..5 of the ``EdgePrior`` input). Required when ``with_edge``; ignored otherwise.
            task_ids (Tensor, optional): ``B`` indices into ``tasks``, one per image; required by a
                universal neck, refused by a single-task one.

        Returns:
            tuple[Tensor]: ``(f1, f2, f3, f4, prior)``: D-channel maps at strides 4/8/16/32 of the
            input (``ceil(H / s) x ceil(W / s)``), and the backbone's last-block patch-token map after
            its final norm, ``B x D x ceil(H / p) x ceil(W / p)`` (``floor`` with the backbone's
            ``token_geometry='stretched'``).
        """
        self._check_backbone(backbone)
        if bool(self.tasks) != (task_ids is not None):
            raise ValueError(f'EdgeEnhancerNeck(tasks={list(self.tasks)}) was given task_ids={task_ids}: a '
                             'universal neck needs one task index per image, a single-task neck none')
        if self.with_edge:
            if edge_img is None:
                raise ValueError(
                    'EdgeEnhancerNeck(with_edge=True) needs the edge-blended image, but the input has only '
                    '3 channels: add dict(type="EdgePrior") just before PackSegInputs in the pipeline '
                    '(train, val, test and inference), or set with_edge=False')
            if edge_img.shape != img.shape:
                raise ValueError(f'EdgeEnhancerNeck: edge image {tuple(edge_img.shape)} and image '
                                 f'{tuple(img.shape)} must have the same shape')
        tokens, hw = backbone.prepare_tokens(img)
        if self.with_edge:
            tokens, feats = self._interact(backbone, tokens, hw, edge_img, task_ids)
        else:
            maps = []
            for index in range(self.num_groups):
                tokens = backbone.forward_group(tokens, index)
                maps.append(backbone.tokens_to_map(tokens, hw))
            out_shapes = [(-(-img.shape[-2] // s), -(-img.shape[-1] // s)) for s in OUT_STRIDES]
            feats = self.pyramid(maps, backbone.patch_size, out_shapes, stretch=self._stretched(backbone))
        feats = [norm(f) for norm, f in zip(self.norms, feats)]
        return (*feats, backbone.prior_map(tokens, hw))

    @staticmethod
    def _stretched(backbone: nn.Module) -> bool:
        """Whether the backbone's token grid is stretched over the input (the authors' geometry)."""
        geometry = getattr(backbone, 'token_geometry', 'padded')
        if geometry not in ('padded', 'stretched'):
            raise ValueError(f"EdgeEnhancerNeck: unknown backbone token_geometry {geometry!r}; expected "
                             "'padded' or 'stretched'")
        return geometry == 'stretched'

    def _edge_features(self, edge_img: torch.Tensor, task_ids: Optional[torch.Tensor]) -> List[torch.Tensor]:
        if not self.tasks:
            return self.edge_backbone(edge_img)
        with self.task_edge_affine.tasks(task_ids):
            return self.edge_backbone(edge_img)

    def _interact(self, backbone, tokens, hw, edge_img, task_ids=None):
        device, patch, n_extra = tokens.device, backbone.patch_size, backbone.num_extra_tokens
        stretched = self._stretched(backbone)
        c1, c2, c3, c4 = [proj(f) for proj, f in zip(self.edge_proj, self._edge_features(edge_img, task_ids))]
        c_shapes = [tuple(f.shape[-2:]) for f in (c2, c3, c4)]
        c = torch.cat(
            [f.flatten(2).transpose(1, 2) + self.level_embed[i] for i, f in enumerate((c2, c3, c4))], dim=1)
        if stretched:
            inj_ref = cell_centre_reference_points([hw], len(c_shapes), device)
            ext_ref = cell_centre_reference_points(c_shapes, 1, device)
        else:
            inj_ref = reference_points([hw], [patch], c_shapes, OUT_STRIDES[1:], device)
            ext_ref = reference_points(c_shapes, OUT_STRIDES[1:], [hw], [patch], device)
        inj_shapes, inj_start = level_layout(c_shapes, device)
        ext_shapes, ext_start = level_layout([hw], device)

        maps = []
        for index, block in enumerate(self.interactions):
            x = block.injector(tokens[:, n_extra:], c, inj_ref, inj_shapes, inj_start)
            tokens = backbone.forward_group(torch.cat((tokens[:, :n_extra], x), dim=1), index)
            x = tokens[:, n_extra:]
            for extractor in block.extractors:
                c = extractor(c, x, ext_ref, ext_shapes, ext_start, c_shapes)
            maps.append(backbone.tokens_to_map(tokens, hw))

        b, d = c.shape[0], c.shape[2]
        c2, c3, c4 = [t.transpose(1, 2).reshape(b, d, *s)
                      for t, s in zip(split_levels(c, c_shapes), c_shapes)]
        # up(c2) has 2 * ceil(H / 8) rows >= ceil(H / 4) of c1: crop the extra bottom/right row.
        c1 = c1 + self.up(c2)[..., :c1.shape[-2], :c1.shape[-1]]
        feats = [c1, c2, c3, c4]
        if self.add_vit_feature and stretched:
            feats = [f + F.interpolate(m, size=f.shape[-2:], mode='bilinear', align_corners=False)
                     for f, m in zip(feats, maps)]
        elif self.add_vit_feature:
            feats = [f + resample_to_grid(m, patch, f.shape[-2:], s)
                     for f, m, s in zip(feats, maps, OUT_STRIDES)]
        return tokens, feats
