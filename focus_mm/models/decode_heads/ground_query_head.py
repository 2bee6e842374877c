"""GroundQueryHead: the query path of FOCUS (two ground queries, masked-attention decoder, losses)."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.ops import point_sample
from mmengine.dist import all_reduce
from mmengine.structures import InstanceData
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import MLP, get_uncertain_point_coords_with_randomness
from mmseg.registry import MODELS, TASK_UTILS
from torch import nn
from torchvision.ops import box_convert, generalized_box_iou_loss

from ...tasks import check_task_list, sample_task
from ..layers import MaskedAttentionDecoderLayer, SinePositionalEncoding2D
from ..losses.point_losses import point_bce_loss, point_dice_loss
from ..utils import (masks_to_boxes_cxcywh, pca_foreground_prior, refuse_old_arguments, resize_prior,
                     valid_token_mask)

FOREGROUND, BACKGROUND, NO_OBJECT = 0, 1, 2
NUM_QUERIES = 2  # the two ground queries; query 0 is the one the M0 prior steers to the foreground
# Foreground-only head (joint_prediction=False): one query, classes (foreground, no-object).
FG_ONLY_NO_OBJECT = 1
# Inference decision rules (``test_cfg['decision_rule']``), see GroundQueryHead.
DECISION_RULES = ('joint', 'authors_merge')


def decision_rule(test_cfg: Optional[dict]) -> str:
    """``test_cfg['decision_rule']`` (default ``'joint'``), checked against :data:`DECISION_RULES`."""
    rule = (test_cfg or {}).get('decision_rule', 'joint')
    if rule not in DECISION_RULES:
        raise ValueError(f"test_cfg.decision_rule must be one of {DECISION_RULES}, got {rule!r}")
    return rule


@MODELS.register_module()
class GroundQueryHead(BaseDecodeHead):
    """Decode head with exactly two learned ground queries (foreground, background), as in FOCUS.

    A pixel decoder turns the four backbone/neck maps (strides 4..32) into mask features (stride 4) and
    three maps (strides 32, 16, 8). ``num_decoder_layers`` layers of masked cross-attention ->
    self-attention -> FFN cycle over those three maps. Before the first layer and after each layer the
    queries are decoded into class logits (foreground, background, no-object), mask logits (a 3-layer MLP
    dotted with the mask features) and a box (3-layer MLP, sigmoid, cx/cy/w/h): ``num_decoder_layers + 1``
    prediction sets, all supervised after Hungarian matching.

    Attention masks: layer ``i`` may only attend where prediction set ``i`` has ``sigmoid(mask) >= 0.5``
    (Mask2Former). With the M0 prior on (``prior_index`` not None), layer 1 instead uses the PCA prior of
    the backbone's last-block tokens: query 0 attends inside the prior, query 1 outside it, in training and
    at inference. The prior is computed on each image's own tokens (from its metainfo ``img_shape`` and
    ``prior_patch_size``; the batch padding around a smaller image takes no part), and padded cells are
    closed to both queries in layer 1; a query with no cell of its side opens the image's cells. Rows
    with nothing to attend to are opened entirely.

    Joint inference (``predict``): both queries are kept; with class probabilities ``p_q(c)`` (softmax over
    the three classes) and mask probabilities ``m_q = sigmoid(mask logit)`` of the last set, the
    foreground and background evidence are ``S_fg = sum_q p_q(fg) m_q`` and ``S_bg = sum_q p_q(bg) m_q``
    (Mask2Former's semantic inference). The head returns ``log S_fg - log S_bg`` (B x 1 x H x W), so
    ``sigmoid(logit) = S_fg / (S_fg + S_bg)`` is the foreground probability and ``logit > 0`` (with
    ``threshold=0.5``) is the joint decision ``P_fg > P_bg``. Which query is foreground is thus decided by
    the class head, pixel-weighted by both queries, never by the query index.

    The authors' rule (``test_cfg=dict(decision_rule='authors_merge')``, for their converted checkpoints):
    their evaluator scores the binary mask of ``FOCUS._merge_mask``. Each (query, class) pair among
    (fg, bg) gets the score ``p_q(c) * s_q`` with the mask score ``s_q = sum(m_q^2) / (sum(m_q) + 1e-6)``
    over the mask at the original image size; if one foreground pair and one background pair score above
    0.5, the result is ``m_fg > m_bg`` (the two chosen queries' sigmoid masks compared, no class
    weighting), else the best-scoring pair alone decides (``m_q > 0.5`` for a foreground pair,
    ``m_q < 0.5`` for a background one). ``predict`` then returns B x 2 x H x W logits (the chosen
    foreground and background masks, a constant 0 standing for the 0.5 of the single-pair case), which
    ``FocusSegmentor.postprocess_result`` resizes to the original size and compares after the sigmoid,
    as their code does; the probability map is then that binary mask. See :meth:`authors_merge_choice`.

    Foreground-only ablation (``joint_prediction=False``, the Mask2Former-style baseline of the paper's
    Table 4): the head has a single query and a 2-way class head (foreground, no-object); background pixels
    are no target (an image without foreground trains the query to no-object), and the prediction is
    Mask2Former's semantic inference of the one class, ``P_fg = p(fg) * sigmoid(mask)``, returned as
    ``log P_fg - log(1 - P_fg)``: its sigmoid is ``P_fg`` and ``logit > 0`` is ``P_fg > 0.5`` (no
    background evidence takes part). M0 then steers the one query inside the prior in layer 1, and the CLIP
    loss (if on) takes ``1 - sigmoid(fg)`` as the background mask.

    Args:
        in_channels (Sequence[int]): Channels of the four selected maps.
        feat_channels (int): Width of the queries, the pixel decoder and the decoder. Defaults to 256.
        pixel_decoder (dict): Config of the pixel decoder; ``in_channels``, ``feat_channels`` and
            ``out_channels`` default to this head's.
        num_decoder_layers (int): Defaults to 9. num_heads (int): Defaults to 8.
        feedforward_channels (int): Defaults to 2048. dropout (float): Defaults to 0.
        prior_index (int, optional): Index in the head inputs of the token map for M0; None turns M0 off.
        prior_threshold (float): M0 binarisation threshold after min-max scaling. Defaults to 0.6.
        prior_patch_size (int): Pixels per token side of the M0 token map (DINOv2: 14); it places each
            image's own tokens inside the padded batch. ``FocusSegmentor`` checks it against the
            backbone's ``patch_size``.
        assigner (dict): Config of the Hungarian assigner: mmseg's ``HungarianAssigner`` with costs class 1
            (``ClassificationCost``), point BCE 5 and point dice 5 (``WeightedCrossEntropyLossCost``,
            ``WeightedDiceCost``: mmseg's costs with ignored pixels left out).
        num_matching_points (int): Uniformly random points per image on which the mask costs are
            computed. Defaults to 12544.
        num_points (int): Points per mask for the mask losses. Defaults to 12544.
        oversample_ratio (float): Defaults to 3. importance_sample_ratio (float): Defaults to 0.75.
        loss_cls_weight (float): Defaults to 1. no_object_weight (float): CE weight of no-object, 0.1.
        loss_mask_weight (float): Point BCE, defaults to 5. loss_dice_weight (float): Defaults to 5.
        loss_bbox_weight (float): Box L1, defaults to 5. loss_giou_weight (float): Defaults to 2.
        loss_clip (dict, optional): Config of ``CLIPRefinerLoss``; None removes it.
        clip_all_sets (bool): True (default, as the authors' code): the CLIP loss on every prediction set
            (``num_decoder_layers + 1``, each with its own matching, keys ``loss_clip`` and
            ``d{i}.loss_clip``); False: on the last set only.
        tasks (Sequence[str], optional): The tasks of a universal model (some of 'sod', 'cod', 'sd', 'dbd',
            'fd'). Each sample's task, from its metainfo ``task`` (or ``inference_task`` when set), selects
            a learned per-task offset of the query content and position embeddings and, with
            ``'pixel_decoder'`` in ``task_conditioning``, a per-task vector added to every token of the
            pixel decoder's encoder (``FocusPixelDecoder(task_embed=)``); one batch may mix tasks, and the
            CLIP loss gives each image its own task's prompts. None (default) gives the single-task head:
            no task parameters, the task metainfo is ignored.
        task_conditioning (Sequence[str]): Where a universal head injects the task: ``'queries'`` and/or
            ``'pixel_decoder'``. Defaults to both.
        joint_prediction (bool): Two ground queries, foreground and background targets and the joint
            decision ``P_fg > P_bg`` (FOCUS, the default); False gives the foreground-only head described
            above (the "JP off" ablation).
        **kwargs: Passed to ``BaseDecodeHead`` (``in_index``, ``align_corners``, ``ignore_index``...).
    """

    @refuse_old_arguments(removed=dict(
        matcher="matching is mmseg's HungarianAssigner: set `assigner=dict(type='HungarianAssigner', "
        "match_costs=[...])` for the cost weights and `num_matching_points` for the points",
        num_feature_levels='the decoder layers cycle over the scales the pixel decoder gives '
        '(FocusPixelDecoder: 3, strides 32/16/8); set the pixel decoder instead'))
    def __init__(self,
                 in_channels: Sequence[int],
                 feat_channels: int = 256,
                 pixel_decoder: dict = dict(type='FocusPixelDecoder'),
                 num_decoder_layers: int = 9,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 dropout: float = 0.0,
                 prior_index: Optional[int] = None,
                 prior_threshold: float = 0.6,
                 prior_patch_size: int = 14,
                 assigner: dict = dict(
                     type='HungarianAssigner',
                     match_costs=[
                         dict(type='ClassificationCost', weight=1.0),
                         dict(type='WeightedCrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                         dict(type='WeightedDiceCost', weight=5.0, pred_act=True, eps=1.0)
                     ]),
                 num_matching_points: int = 12544,
                 num_points: int = 12544,
                 oversample_ratio: float = 3.0,
                 importance_sample_ratio: float = 0.75,
                 loss_cls_weight: float = 1.0,
                 no_object_weight: float = 0.1,
                 loss_mask_weight: float = 5.0,
                 loss_dice_weight: float = 5.0,
                 loss_bbox_weight: float = 5.0,
                 loss_giou_weight: float = 2.0,
                 loss_clip: Optional[dict] = None,
                 clip_all_sets: bool = True,
                 joint_prediction: bool = True,
                 tasks: Optional[Sequence[str]] = None,
                 task_conditioning: Sequence[str] = ('queries', 'pixel_decoder'),
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        kwargs.setdefault('input_transform', 'multiple_select')
        kwargs.setdefault('num_classes', 2)
        kwargs.setdefault('out_channels', 1)
        kwargs.setdefault('threshold', 0.5)
        kwargs.setdefault('dropout_ratio', 0.0)
        if kwargs['out_channels'] != 1:
            raise ValueError(f"GroundQueryHead outputs one foreground logit map: out_channels must be 1, got "
                             f"{kwargs['out_channels']}")
        if len(in_channels) != 4 or len(in_index) != 4:
            raise ValueError(f'GroundQueryHead reads 4 levels (strides 4, 8, 16, 32): in_channels and '
                             f'in_index must list 4 entries each, got in_channels={list(in_channels)}, '
                             f'in_index={list(in_index)}')
        super().__init__(in_channels, feat_channels, in_index=list(in_index), init_cfg=init_cfg, **kwargs)
        del self.conv_seg  # the masks come from the queries; an unused conv would idle in DDP
        pixel_decoder = copy.deepcopy(pixel_decoder)
        pixel_decoder.setdefault('in_channels', list(in_channels))
        pixel_decoder.setdefault('feat_channels', feat_channels)
        pixel_decoder.setdefault('out_channels', feat_channels)
        if pixel_decoder['feat_channels'] != feat_channels or pixel_decoder['out_channels'] != feat_channels:
            raise ValueError(f"GroundQueryHead(feat_channels={feat_channels}) needs a pixel decoder with "
                             f"feat_channels and out_channels {feat_channels}, got {pixel_decoder}")
        self.pixel_decoder = MODELS.build(pixel_decoder)
        self.num_feature_levels = self.pixel_decoder.num_levels  # the scales the layers cycle over
        self.num_heads = num_heads
        self.prior_index = prior_index
        self.prior_threshold = prior_threshold
        self.prior_patch_size = int(prior_patch_size)
        self.joint_prediction = joint_prediction
        # JP off drops the background query and class: one query, classes (foreground, no-object).
        self.num_queries = NUM_QUERIES if joint_prediction else 1
        self.no_object_label = NO_OBJECT if joint_prediction else FG_ONLY_NO_OBJECT

        self.query_feat = nn.Embedding(self.num_queries, feat_channels)  # content
        self.query_embed = nn.Embedding(self.num_queries, feat_channels)  # position
        self.level_embed = nn.Embedding(self.num_feature_levels, feat_channels)
        self._build_task_embeddings(tasks, task_conditioning, in_channels, feat_channels)
        self.pos_encoding = SinePositionalEncoding2D(num_feats=feat_channels // 2, normalize=True)
        self.layers = nn.ModuleList(
            MaskedAttentionDecoderLayer(feat_channels, num_heads, feedforward_channels, dropout)
            for _ in range(num_decoder_layers))
        self.decoder_norm = nn.LayerNorm(feat_channels)
        self.cls_embed = nn.Linear(feat_channels, self.no_object_label + 1)
        self.mask_embed = MLP(feat_channels, feat_channels, feat_channels, 3)
        self.bbox_embed = MLP(feat_channels, feat_channels, 4, 3)

        self.assigner = TASK_UTILS.build(assigner)
        self.num_matching_points = num_matching_points
        if oversample_ratio < 1 or not 0 <= importance_sample_ratio <= 1:
            # mmseg's point sampler only asserts this, deep inside the first training step.
            raise ValueError(f'GroundQueryHead needs oversample_ratio >= 1 and 0 <= importance_sample_ratio '
                             f'<= 1, got {oversample_ratio} and {importance_sample_ratio}')
        self.num_points = num_points
        self.oversample_ratio = oversample_ratio
        self.importance_sample_ratio = importance_sample_ratio
        self.loss_cls_weight = loss_cls_weight
        self.loss_mask_weight = loss_mask_weight
        self.loss_dice_weight = loss_dice_weight
        self.loss_bbox_weight = loss_bbox_weight
        self.loss_giou_weight = loss_giou_weight
        class_weight = [1.0] * self.no_object_label + [no_object_weight]
        self.register_buffer('class_weight', torch.tensor(class_weight), persistent=False)
        self.loss_clip = MODELS.build(loss_clip) if loss_clip is not None else None
        self.clip_all_sets = clip_all_sets

    def _build_task_embeddings(self, tasks, task_conditioning, in_channels, feat_channels) -> None:
        """Per-task offsets of a universal head (none for a single-task head, whose state is unchanged)."""
        #: the universal model's tasks (empty: single-task head).
        self.tasks: Tuple[str, ...] = () if tasks is None else check_task_list(tasks, 'GroundQueryHead')
        #: when set, every sample is decoded as this task (tools/test.py --task, FocusInferencer(task=)).
        self.inference_task: Optional[str] = None
        if not self.tasks:
            return
        unknown = set(task_conditioning) - {'queries', 'pixel_decoder'}
        if unknown or not task_conditioning:
            raise ValueError(f'GroundQueryHead: task_conditioning={list(task_conditioning)}; choose one or '
                             "both of 'queries' and 'pixel_decoder'.")
        num_tasks, width = len(self.tasks), self.num_queries * feat_channels
        # nn.Embedding's N(0, 1) init: the scale of the shared queries and of the normalised encoder
        # tokens, so the tasks are told apart from the first step; the shared parts learn from every task.
        if 'queries' in task_conditioning:
            self.task_query_feat = nn.Embedding(num_tasks, width)
            self.task_query_embed = nn.Embedding(num_tasks, width)
        if 'pixel_decoder' in task_conditioning:
            self.task_pixel_embed = nn.Embedding(num_tasks, feat_channels)

    def task_indices(self, batch_img_metas: Sequence) -> Optional[torch.Tensor]:
        """Index in ``tasks`` of each sample's task (``inference_task`` overrides), or None when single-task.

        Args:
            batch_img_metas (Sequence[dict | SegDataSample]): Metainfo dicts or data samples.

        Raises:
            KeyError: A universal head meets a sample without a task, or with a task it was not built for.
        """
        if not self.tasks:
            return None
        indices = []
        for meta in batch_img_metas:
            task = self.inference_task or sample_task(meta)
            if task not in self.tasks:
                info = meta.metainfo if hasattr(meta, 'metainfo') else meta
                where = info.get('img_path', 'an input') if isinstance(info, dict) else 'an input'
                what = 'no task' if task is None else f'the unknown task {task!r}'
                raise KeyError(f'GroundQueryHead: {where} has {what}; this universal model knows the tasks '
                               f'{list(self.tasks)}. Choose one (FocusInferencer(task=...), --task), or give '
                               "the dataset task=... and keep 'task' in PackSegInputs.meta_keys.")
            indices.append(self.tasks.index(task))
        return torch.tensor(indices, dtype=torch.long, device=self.level_embed.weight.device)

    def init_weights(self):
        """Default inits, then Xavier for the decoder layers' matrices (as Mask2Former)."""
        super().init_weights()
        for p in self.layers.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    # ------------------------------------------------------------------ forward
    def _transform_inputs(self, inputs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """The 4 maps that ``in_index`` selects, with a clear error when the backbone/neck gave fewer."""
        if len(inputs) <= max(self.in_index):
            raise ValueError(f'GroundQueryHead: in_index={self.in_index} selects 4 maps (strides 4..32), but '
                             f'the backbone/neck gave {len(inputs)}: {[tuple(x.shape) for x in inputs]}; '
                             f'expected B x C_i x H_i x W_i with C_i = in_channels={self.in_channels} '
                             f'(e.g. set the backbone\'s out_indices=(0, 1, 2, 3))')
        return super()._transform_inputs(inputs)

    def forward(self, inputs: Sequence[torch.Tensor],
                batch_img_metas: Optional[List[dict]] = None) -> Tuple[List[torch.Tensor], ...]:
        """Run the pixel decoder and the query decoder.

        Args:
            inputs (Sequence[Tensor]): Neck/backbone outputs; ``in_index`` picks the four maps and
                ``prior_index`` the B x D x h x w token map for M0.
            batch_img_metas (list[dict], optional): Per image, ``img_shape`` (its size inside the padded
                batch) places M0 on the image's own tokens; None (or no ``img_shape``): the whole grid.
                A universal head also reads each image's ``task`` there (see ``task_indices``).

        Returns:
            tuple[list[Tensor], list[Tensor], list[Tensor]]: per prediction set (``num_decoder_layers + 1``,
            the last one final): class logits B x 2 x 3, mask logits B x 2 x H/4 x W/4, boxes B x 2 x 4
            (cx, cy, w, h in [0, 1]); B x 1 x 2, B x 1 x H/4 x W/4, B x 1 x 4 with ``joint_prediction=False``.
        """
        prior = self.compute_prior(inputs, batch_img_metas)
        pixel_kwargs = {}
        if self.tasks:
            if batch_img_metas is None:
                raise ValueError(f'GroundQueryHead: this universal head needs the task of each sample (one '
                                 f'of {list(self.tasks)} per image, in batch_img_metas); call loss/predict '
                                 'with metainfo that has a task, or set inference_task.')
            task_ids = self.task_indices(batch_img_metas)
            if hasattr(self, 'task_pixel_embed'):
                pixel_kwargs['task_embed'] = self.task_pixel_embed(task_ids)
        mask_features, multi_scale = self.pixel_decoder(self._transform_inputs(inputs), **pixel_kwargs)
        batch_size = mask_features.shape[0]
        memories, memory_pos, sizes = [], [], []
        for level in range(self.num_feature_levels):
            feat = multi_scale[level]
            sizes.append(feat.shape[-2:])
            memory_pos.append(self.pos_encoding(feat).flatten(2).transpose(1, 2))
            memories.append(feat.flatten(2).transpose(1, 2) + self.level_embed.weight[level][None, None])
        query = self.query_feat.weight[None].expand(batch_size, -1, -1)
        query_pos = self.query_embed.weight[None].expand(batch_size, -1, -1)
        if self.tasks and hasattr(self, 'task_query_feat'):
            query = query + self.task_query_feat(task_ids).view_as(query)
            query_pos = query_pos + self.task_query_embed(task_ids).view_as(query_pos)

        *prediction, attn_mask = self._decode_queries(query, mask_features, sizes[0])
        predictions = [prediction]
        if prior is not None:
            valid = self._valid_tokens(inputs[self.prior_index], batch_img_metas)
            attn_mask = self._prior_attn_mask(prior, valid, sizes[0])
        for i, layer in enumerate(self.layers):
            level = i % self.num_feature_levels
            # A query with nothing to attend to attends everywhere (softmax over nothing is NaN).
            attn_mask = attn_mask & ~attn_mask.all(dim=-1, keepdim=True)
            query = layer(query, query_pos, memories[level], memory_pos[level], attn_mask)
            next_size = sizes[(i + 1) % self.num_feature_levels]
            *prediction, attn_mask = self._decode_queries(query, mask_features, next_size)
            predictions.append(prediction)
        cls_list, mask_list, box_list = (list(column) for column in zip(*predictions))
        return cls_list, mask_list, box_list

    def compute_prior(self, inputs: Sequence[torch.Tensor],
                      batch_img_metas: Optional[List[dict]] = None) -> Optional[torch.Tensor]:
        """M0 of each image on its own tokens (bool B x h x w, True = foreground; False on padding), or
        None when the prior is off."""
        if self.prior_index is None:
            return None
        if self.prior_index >= len(inputs):
            raise IndexError(f'GroundQueryHead: prior_index={self.prior_index} but the head received '
                             f'{len(inputs)} inputs; the neck must append the backbone token map (a neck '
                             f'with drives_backbone=True does), or set prior_index=None to turn M0 off.')
        tokens = inputs[self.prior_index]
        return pca_foreground_prior(tokens, self.prior_threshold, self._valid_tokens(tokens, batch_img_metas))

    def _valid_tokens(self, tokens: torch.Tensor,
                      batch_img_metas: Optional[List[dict]]) -> Optional[torch.Tensor]:
        """Each image's own tokens (bool B x h x w) from its ``img_shape``; None: all tokens."""
        if tokens.dim() != 4 or not batch_img_metas or any('img_shape' not in m for m in batch_img_metas):
            return None
        if len(batch_img_metas) not in (1, tokens.shape[0]):
            raise ValueError(f'GroundQueryHead: {len(batch_img_metas)} image metas for a batch of '
                             f'{tokens.shape[0]} token maps; give one per image (or one for all)')
        shapes = [tuple(m['img_shape'])[:2] for m in batch_img_metas]
        shapes = shapes * tokens.shape[0] if len(shapes) == 1 else shapes  # one meta describes the batch
        return valid_token_mask(shapes, tuple(tokens.shape[-2:]), self.prior_patch_size, tokens.device)

    def _decode_queries(self, query: torch.Tensor, mask_features: torch.Tensor, attn_size):
        """Heads on the normalised queries, plus the attention mask for the next layer."""
        decoded = self.decoder_norm(query)
        cls = self.cls_embed(decoded)
        masks = torch.einsum('bqc,bchw->bqhw', self.mask_embed(decoded), mask_features)
        boxes = self.bbox_embed(decoded).sigmoid()
        attn = F.interpolate(masks.detach(), size=attn_size, mode='bilinear', align_corners=False)
        attn_mask = attn.flatten(2).sigmoid() < 0.5  # B x Q x N, True = blocked
        attn_mask = attn_mask.repeat_interleave(self.num_heads, dim=0)
        return cls, masks, boxes, attn_mask

    def _prior_attn_mask(self, prior: torch.Tensor, valid: Optional[torch.Tensor], size) -> torch.Tensor:
        """Layer-1 mask from M0: query 0 blocked outside the prior, query 1 (if any) blocked inside it,
        both blocked on the padding; a query left with no cell attends to the whole image."""
        inside = resize_prior(prior, size).flatten(1)  # B x N
        if valid is None:
            image = torch.ones_like(inside)
        else:
            # The same resize as the prior's; the top-left cell always holds image pixels.
            image = resize_prior(valid, size)
            image[:, 0, 0] = True
            image = image.flatten(1)
        inside = inside & image
        outside = image & ~inside
        # A side with no cell falls back to the whole image (logical ops: ONNX Runtime has no bool Where).
        fg_cells = inside | (image & ~inside.any(dim=1, keepdim=True))
        bg_cells = outside | (image & ~outside.any(dim=1, keepdim=True))
        blocked = ~torch.stack([fg_cells, bg_cells], dim=1)[:, :self.num_queries]  # B x Q x N
        return blocked.repeat_interleave(self.num_heads, dim=0)

    # ------------------------------------------------------------------ losses
    def loss(self, inputs: Sequence[torch.Tensor], batch_data_samples: list, train_cfg: dict,
             images: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Forward and compute every loss.

        Args:
            inputs (Sequence[Tensor]): Head inputs (see ``forward``).
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg`` (0 bg, 1 fg, ``ignore_index``).
            train_cfg (dict): Unused (mmseg signature).
            images (Tensor, optional): B x 3 x H x W un-normalised RGB in [0, 1]; needed by the CLIP loss.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_mask``, ``loss_dice``, ``loss_bbox``, ``loss_giou`` (and
            ``loss_clip`` when on) of the last set, the same with prefix ``d{i}.`` for the earlier sets
            (``loss_clip`` there only with ``clip_all_sets``).
        """
        outputs = self.forward(inputs, [sample.metainfo for sample in batch_data_samples])
        return self.loss_by_feat(outputs, batch_data_samples, images=images)

    def loss_by_feat(self, outputs, batch_data_samples: list,
                     images: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Losses of all prediction sets from ``forward``'s outputs (see ``loss``)."""
        cls_list, mask_list, box_list = outputs
        targets = self._build_targets(batch_data_samples, mask_list[-1].device)
        num_masks = mask_list[-1].new_tensor(float(sum(len(t['labels']) for t in targets)))
        all_reduce(num_masks, op='mean')  # in place; a no-op outside distributed training
        num_masks = num_masks.clamp_min(1.0)
        if self.loss_clip is not None and images is None:
            raise ValueError('GroundQueryHead: loss_clip needs the un-normalised images; use the '
                             'FocusSegmentor (it passes images=) or set loss_clip=None.')
        task_names = ([self.tasks[i] for i in self.task_indices(batch_data_samples).tolist()]
                      if self.tasks else None)
        losses = {}
        last = len(cls_list) - 1
        for i, (cls, masks, boxes) in enumerate(zip(cls_list, mask_list, box_list)):
            matches = [self.match(cls[b], masks[b], t) for b, t in enumerate(targets)]
            prefix = '' if i == last else f'd{i}.'
            for name, value in self._set_losses(cls, masks, boxes, targets, matches, num_masks).items():
                losses[prefix + name] = value
            if self.loss_clip is not None and (self.clip_all_sets or i == last):
                losses[prefix + self.loss_clip.loss_name] = self._clip_loss(masks, matches, targets, images,
                                                                            task_names)
        return losses

    def _clip_loss(self, masks: torch.Tensor, matches, targets, images: torch.Tensor,
                   task_names: Optional[List[str]] = None) -> torch.Tensor:
        """CLIP refiner loss of one prediction set, with that set's matching.

        The foreground mask is the query matched to the foreground, the background mask the other query
        (or ``1 - sigmoid(fg)`` without a background query). Only images with both foreground and
        background pixels take part: without foreground there is neither a foreground region nor a
        reason to name the foreground prompt (the unmatched query would be pulled toward it), and without
        background the same holds for the background side.
        """
        contrast = torch.tensor([bool(t['has_fg'] and t['has_bg']) for t in targets], device=masks.device)
        if self.joint_prediction:
            fg_index = self._foreground_query_index(matches, targets)
            batch = torch.arange(len(targets), device=fg_index.device)
            fg_logits, bg_logits = masks[batch, fg_index], masks[batch, 1 - fg_index]
        else:  # no background query: the loss uses 1 - sigmoid(fg) as the background mask
            fg_logits, bg_logits = masks[:, 0], None
        # A universal head contrasts each image with its own task's prompts.
        task_kwargs = {} if task_names is None else dict(tasks=task_names)
        return self.loss_clip(fg_logits, bg_logits, images, contrast, **task_kwargs)

    @torch.no_grad()
    def match(self, cls_logits: torch.Tensor, mask_logits: torch.Tensor,
              target: dict) -> Tuple[torch.Tensor, torch.Tensor]:
        """Match the queries of one image to its targets (minimum total cost, one to one).

        The mask costs are computed on ``num_matching_points`` uniformly random points shared by the
        predictions, the targets and the map of labelled pixels (passed to the costs as
        ``point_weights``, so that ignored pixels do not count).

        Args:
            cls_logits (Tensor): Q x K class logits (K includes no-object).
            mask_logits (Tensor): Q x h x w mask logits.
            target (dict): ``labels`` (T, long), ``masks`` (T x H x W, 0/1 float) and ``valid`` (H x W,
                1 where labelled), as ``_build_targets`` makes them.

        Returns:
            tuple[Tensor, Tensor]: matched query indices and target indices (long, same length).
        """
        labels = target['labels']
        if labels.numel() == 0:
            empty = torch.zeros(0, dtype=torch.long, device=mask_logits.device)
            return empty, empty
        coords = torch.rand(1, self.num_matching_points, 2, device=mask_logits.device)
        pred = InstanceData(scores=cls_logits.float(),
                            masks=point_sample(mask_logits[None].float(), coords)[0])
        point_weights = point_sample(target['valid'][None, None].float(), coords)[0]  # 1 x P
        gt = InstanceData(labels=labels, masks=point_sample(target['masks'][None].float(), coords)[0],
                          point_weights=point_weights.expand(len(labels), -1))
        return self.assigner.assign(pred, gt)

    def _build_targets(self, batch_data_samples: list, device) -> List[dict]:
        """Per image: present classes among (fg, bg), their masks, boxes and the valid-pixel map."""
        targets = []
        for sample in batch_data_samples:
            gt = sample.gt_sem_seg.data.to(device)
            gt = gt[0] if gt.dim() == 3 else gt
            valid = gt != self.ignore_index
            if ((gt > 1) & valid).any():
                found = sorted(torch.unique(gt[valid]).tolist())
                path = sample.metainfo.get('img_path', '?')
                raise ValueError(f'GroundQueryHead: gt_sem_seg of {path} holds '
                                 f'values {found}; expected 0 (background), 1 (foreground) and '
                                 f'{self.ignore_index} (ignore): binarise masks when loading them.')
            class_masks = [(FOREGROUND, gt == 1)]
            if self.joint_prediction:  # the foreground-only head has no background target
                class_masks.append((BACKGROUND, valid & (gt == 0)))
            present = [(label, mask) for label, mask in class_masks if mask.any()]
            labels = torch.tensor([label for label, _ in present], dtype=torch.long, device=device)
            masks = (torch.stack([mask for _, mask in present]).float()
                     if present else gt.new_zeros((0, ) + gt.shape, dtype=torch.float))
            targets.append(dict(labels=labels, masks=masks, boxes=masks_to_boxes_cxcywh(masks),
                                valid=valid.float(), has_fg=bool((gt == 1).any()),
                                has_bg=bool((valid & (gt == 0)).any())))
        return targets

    def _set_losses(self, cls, masks, boxes, targets, matches, num_masks) -> Dict[str, torch.Tensor]:
        """Losses of one prediction set given its matching."""
        batch_size = cls.shape[0]
        cls_targets = torch.full((batch_size, self.num_queries), self.no_object_label, dtype=torch.long,
                                 device=cls.device)
        src_masks, tgt_masks, valid, src_boxes, tgt_boxes = [], [], [], [], []
        for b, (query_idx, target_idx) in enumerate(matches):
            cls_targets[b, query_idx] = targets[b]['labels'][target_idx]
            src_masks.append(masks[b, query_idx])
            tgt_masks.append(targets[b]['masks'][target_idx])
            valid.append(targets[b]['valid'][None].expand(len(target_idx), -1, -1))
            src_boxes.append(boxes[b, query_idx])
            tgt_boxes.append(targets[b]['boxes'][target_idx])
        losses = dict(loss_cls=self.loss_cls_weight *
                      F.cross_entropy(cls.transpose(1, 2).float(), cls_targets, self.class_weight))
        src_masks = torch.cat(src_masks)
        if src_masks.shape[0] == 0:  # nothing labelled in the batch: keep the graph, add nothing
            zero = masks.sum() * 0 + boxes.sum() * 0
            losses.update(loss_mask=zero, loss_dice=zero, loss_bbox=zero, loss_giou=zero)
            return losses
        src_masks = src_masks[:, None].float()
        tgt_masks = torch.cat(tgt_masks)[:, None]
        valid = torch.cat(valid)[:, None]
        with torch.no_grad():  # the choice of points needs no gradient
            coords = get_uncertain_point_coords_with_randomness(src_masks, None, self.num_points,
                                                                self.oversample_ratio,
                                                                self.importance_sample_ratio)
            point_targets = point_sample(tgt_masks, coords)[:, 0]
            point_weights = point_sample(valid, coords)[:, 0]
        point_logits = point_sample(src_masks, coords)[:, 0]
        losses['loss_mask'] = self.loss_mask_weight * point_bce_loss(point_logits, point_targets,
                                                                     point_weights).sum() / num_masks
        losses['loss_dice'] = self.loss_dice_weight * point_dice_loss(point_logits, point_targets,
                                                                      point_weights).sum() / num_masks
        src_boxes, tgt_boxes = torch.cat(src_boxes).float(), torch.cat(tgt_boxes)
        losses['loss_bbox'] = self.loss_bbox_weight * (src_boxes - tgt_boxes).abs().sum() / num_masks
        giou_loss = generalized_box_iou_loss(box_convert(src_boxes, 'cxcywh', 'xyxy'),
                                             box_convert(tgt_boxes, 'cxcywh', 'xyxy'), reduction='sum')
        losses['loss_giou'] = self.loss_giou_weight * giou_loss / num_masks
        return losses

    @staticmethod
    def _foreground_query_index(matches, targets) -> torch.Tensor:
        """Per image, the query matched to the foreground, else the one not matched to the background."""
        indices = []
        for (query_idx, target_idx), target in zip(matches, targets):
            labels = target['labels'][target_idx].tolist()
            queries = query_idx.tolist()
            if FOREGROUND in labels:
                indices.append(queries[labels.index(FOREGROUND)])
            elif BACKGROUND in labels:
                indices.append(1 - queries[labels.index(BACKGROUND)])
            else:
                indices.append(0)
        device = targets[0]['labels'].device if targets else None
        return torch.tensor(indices, dtype=torch.long, device=device)

    # ------------------------------------------------------------------ inference
    def predict(self, inputs: Sequence[torch.Tensor], batch_img_metas: List[dict],
                test_cfg: dict) -> torch.Tensor:
        """Joint (or, with ``joint_prediction=False``, foreground-only) B x 1 x H x W logits, or with
        ``test_cfg['decision_rule'] == 'authors_merge'`` the B x 2 x H x W logits of the authors' rule (see
        the class docstring)."""
        outputs = self.forward(inputs, batch_img_metas)
        if decision_rule(test_cfg) == 'authors_merge':
            return self.authors_merge_by_feat(outputs, batch_img_metas)
        return self.predict_by_feat(outputs, batch_img_metas)

    @staticmethod
    def _input_size(meta: dict):
        """The network input size of a batch (``pad_shape``, or ``img_shape`` when sliding)."""
        if isinstance(meta['img_shape'], torch.Size):
            return tuple(meta['img_shape'])
        if 'pad_shape' in meta:
            return tuple(meta['pad_shape'][:2])
        return tuple(meta['img_shape'][:2])

    def predict_by_feat(self, outputs, batch_img_metas: List[dict]) -> torch.Tensor:
        """Fuse the last prediction set, at the input size (``pad_shape``, or ``img_shape`` when sliding)."""
        cls, masks = outputs[0][-1], outputs[1][-1]
        size = self._input_size(batch_img_metas[0])
        masks = F.interpolate(masks, size=size, mode='bilinear', align_corners=self.align_corners)
        if not self.joint_prediction:
            return self.foreground_only_logits(cls, masks)
        return self.fuse_ground_predictions(cls, masks)

    def authors_merge_by_feat(self, outputs, batch_img_metas: List[dict]) -> torch.Tensor:
        """The authors' ``_merge_mask`` rule on the last prediction set (see the class docstring).

        Args:
            outputs: ``forward``'s outputs.
            batch_img_metas (list[dict]): Per image: ``ori_shape`` and the padding (``img_padding_size``
                or ``padding_size``, left/right/top/bottom), used for the mask scores at the original size
                as in their code; without ``ori_shape`` the scores use the unpadded input size.

        Returns:
            Tensor: B x 2 x H x W at the input size: channel 0 the chosen foreground mask's logits, channel
            1 the chosen background mask's logits (0, i.e. probability 0.5, where the rule uses one pair).
        """
        if not self.joint_prediction:
            raise ValueError("GroundQueryHead: decision_rule='authors_merge' needs the two ground queries; "
                             'joint_prediction=False has one (use the default decision_rule)')
        cls, masks = outputs[0][-1], outputs[1][-1]
        size = self._input_size(batch_img_metas[0])
        masks = F.interpolate(masks.float(), size=size, mode='bilinear', align_corners=self.align_corners)
        probs = cls.float().softmax(dim=-1)[..., :NO_OBJECT]  # B x Q x 2 (fg, bg)
        out = masks.new_zeros((masks.shape[0], 2) + masks.shape[-2:])
        for b, meta in enumerate(batch_img_metas):
            left, right, top, bottom = meta.get('img_padding_size', meta.get('padding_size', [0] * 4))
            unpadded = masks[b:b + 1, :, top:masks.shape[-2] - bottom, left:masks.shape[-1] - right]
            if 'ori_shape' in meta:
                unpadded = F.interpolate(unpadded, size=tuple(meta['ori_shape'][:2]), mode='bilinear',
                                         align_corners=self.align_corners)
            soft = unpadded[0].flatten(1).sigmoid()  # Q x N
            mask_scores = (soft * soft).sum(1) / (soft.sum(1) + 1e-6)
            fg_query, bg_query = self.authors_merge_choice(probs[b] * mask_scores[:, None])
            if fg_query is not None:
                out[b, 0] = masks[b, fg_query]
            if bg_query is not None:
                out[b, 1] = masks[b, bg_query]
        return out

    @staticmethod
    def authors_merge_choice(scores: torch.Tensor) -> Tuple[Optional[int], Optional[int]]:
        """Which queries the authors' ``_merge_mask`` compares, from the (query, class) scores.

        Their rule keeps the pairs scoring above 0.5, one per class in turn; with a foreground and a
        background pair kept, the foreground query's mask is compared with the background query's.
        Otherwise the best pair decides alone, against 0.5. (At most one pair per query can pass 0.5, as
        ``p(fg) + p(bg) <= 1`` and the mask score is <= 1, so the order of their unsorted top-k does
        not matter.)

        Args:
            scores (Tensor): Q x 2, ``p_q(c) * mask_score_q`` for c = foreground, background.

        Returns:
            tuple: ``(fg_query, bg_query)``; one of them is None when one pair decides alone (the result is
            then ``sigmoid(mask) > 0.5`` for a foreground pair, ``0.5 > sigmoid(mask)`` for a background one).
        """
        kept = {}
        for flat in scores.flatten().argsort(descending=True, stable=True).tolist():
            query, label = divmod(flat, scores.shape[1])
            if float(scores[query, label]) > 0.5 and label not in kept:
                kept[label] = query
        if len(kept) == 2:
            return kept[FOREGROUND], kept[BACKGROUND]
        query, label = divmod(int(scores.flatten().argmax()), scores.shape[1])
        return (query, None) if label == FOREGROUND else (None, query)

    @staticmethod
    def fuse_ground_predictions(cls: torch.Tensor, mask_logits: torch.Tensor) -> torch.Tensor:
        """``log S_fg - log S_bg`` with ``S_c = sum_q softmax(cls_q)[c] * sigmoid(mask_q)``.

        Args:
            cls (Tensor): B x Q x 3 class logits (fg, bg, no-object).
            mask_logits (Tensor): B x Q x H x W.

        Returns:
            Tensor: B x 1 x H x W; computed in log space, so it stays finite where both are tiny.
        """
        log_cls = cls.float().log_softmax(dim=-1)[..., None, None]  # B x Q x 3 x 1 x 1
        log_masks = F.logsigmoid(mask_logits.float())
        log_fg = torch.logsumexp(log_cls[:, :, FOREGROUND] + log_masks, dim=1)
        log_bg = torch.logsumexp(log_cls[:, :, BACKGROUND] + log_masks, dim=1)
        return (log_fg - log_bg)[:, None]

    @staticmethod
    def foreground_only_logits(cls: torch.Tensor, mask_logits: torch.Tensor) -> torch.Tensor:
        """``log P - log(1 - P)``, ``P = sum_q softmax(cls_q)[fg] * sigmoid(mask_q)`` (no background term).

        Mask2Former's semantic inference of the foreground class alone, for the foreground-only head.

        Args:
            cls (Tensor): B x Q x K class logits, foreground first, no-object last.
            mask_logits (Tensor): B x Q x H x W.

        Returns:
            Tensor: B x 1 x H x W; ``P`` is clamped to ``[1e-6, 1 - 1e-6]`` so that the logit stays finite.
        """
        log_cls = cls.float().log_softmax(dim=-1)[..., None, None]  # B x Q x K x 1 x 1
        log_fg = torch.logsumexp(log_cls[:, :, FOREGROUND] + F.logsigmoid(mask_logits.float()), dim=1)
        prob = log_fg.exp().clamp(1e-6, 1 - 1e-6)  # one query: P <= 1; several could sum above it
        return (prob.log() - torch.log1p(-prob))[:, None]
