"""GroundQueryHead: the query path of FOCUS (two ground queries, masked-attention decoder).

One job: building the head and running its forward (pixel decoder, queries, decoder layers, prediction
sets). Its other jobs live beside it: the losses in :mod:`.ground_query_losses` (a mixin, with the
registered losses of :mod:`focus_mm.models.losses.set_losses`), the inference rules in
:mod:`.decision_rules`, the M0 prior and
its attention mask in :mod:`focus_mm.models.utils.pca_prior`, the task vectors in
:mod:`focus_mm.models.layers.task_embedding`.
"""
import contextlib
import copy
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import MLP
from mmseg.registry import MODELS
from torch import nn

from ...tasks import check_task_list
from ..layers import (MaskedAttentionDecoderLayer, SinePositionalEncoding2D, build_task_embeddings,
                      task_indices)
from ..utils import image_token_mask, pca_foreground_prior, prior_attention_mask, valid_token_mask
from .decision_rules import build_decision_rule
from .ground_query_losses import GroundQueryLossMixin

NUM_QUERIES = 2  # the two ground queries; query 0 is the one the M0 prior steers to the foreground
NO_OBJECT = 2  # class index of no-object with the two ground queries (foreground 0, background 1)
# Foreground-only head (joint_prediction=False): one query, classes (foreground, no-object).
FG_ONLY_NO_OBJECT = 1


@MODELS.register_module()
class GroundQueryHead(GroundQueryLossMixin, BaseDecodeHead):
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

    Inference (``predict``): the decision rule that ``test_cfg.decision_rule`` names turns the last
    prediction set into logits: ``'joint'`` (default, :class:`~.decision_rules.JointDecision`: Mask2Former's
    semantic inference of both queries, the joint decision ``P_fg > P_bg``) or ``'scored_pair_merge'``
    (:class:`~.decision_rules.ScoredPairMerge`, the rule of the authors' evaluator, for their converted
    checkpoints). Which query is foreground is decided by the class head, never by the query index.

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
        num_decoder_layers (int): Decoder layers. Defaults to 9.
        num_heads (int): Attention heads of the decoder layers. Defaults to 8.
        feedforward_channels (int): Hidden width of the decoder layers' FFN. Defaults to 2048.
        dropout (float): Dropout of the decoder layers. Defaults to 0.
        prior_index (int, optional): Index in the head inputs of the token map for M0; None turns M0 off.
        prior_threshold (float): M0 binarisation threshold after min-max scaling. Defaults to 0.6.
        prior_patch_size (int): Pixels per token side of the M0 token map (DINOv2: 14); it places each
            image's own tokens inside the padded batch. ``FocusSegmentor`` checks it against the
            backbone's ``patch_size``.
        train_cfg (dict, optional): Training settings, as mmdet's ``Mask2FormerHead`` takes them (mmseg's
            Mask2Former configs put them under ``decode_head``): ``num_points`` (points per mask for the
            mask losses, 12544), ``oversample_ratio`` (3), ``importance_sample_ratio`` (0.75),
            ``num_matching_points`` (uniformly random points per image for the matching costs, 12544) and
            ``assigner`` (mmseg's ``HungarianAssigner``, costs class 1, point BCE 5, point dice 5 with
            ignored pixels left out); a key left out takes that default
            (:data:`~.ground_query_losses.TRAIN_CFG_DEFAULTS`), an unknown key is an error.
        loss_cls (dict): Config of the class loss. Defaults to ``QueryClassLoss`` (weight 1, no-object
            weight 0.1).
        loss_mask (dict): Config of the point mask loss. Defaults to ``PointBCELoss`` (weight 5).
        loss_dice (dict): Config of the point dice loss. Defaults to ``PointDiceLoss`` (weight 5).
        loss_bbox (dict): Config of the box loss. Defaults to ``BoxL1Loss`` (weight 5).
        loss_giou (dict): Config of the box overlap loss. Defaults to ``BoxGIoULoss`` (weight 2).
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
                 train_cfg: Optional[dict] = None,
                 loss_cls: dict = dict(type='QueryClassLoss', loss_weight=1.0, no_object_weight=0.1),
                 loss_mask: dict = dict(type='PointBCELoss', loss_weight=5.0),
                 loss_dice: dict = dict(type='PointDiceLoss', loss_weight=5.0),
                 loss_bbox: dict = dict(type='BoxL1Loss', loss_weight=5.0),
                 loss_giou: dict = dict(type='BoxGIoULoss', loss_weight=2.0),
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
        self._build_task_embeddings(tasks, task_conditioning, feat_channels)
        self.pos_encoding = SinePositionalEncoding2D(num_feats=feat_channels // 2, normalize=True)
        self.layers = nn.ModuleList(
            MaskedAttentionDecoderLayer(feat_channels, num_heads, feedforward_channels, dropout)
            for _ in range(num_decoder_layers))
        self.decoder_norm = nn.LayerNorm(feat_channels)
        self.cls_embed = nn.Linear(feat_channels, self.no_object_label + 1)
        self.mask_embed = MLP(feat_channels, feat_channels, feat_channels, 3)
        self.bbox_embed = MLP(feat_channels, feat_channels, 4, 3)

        self.init_train_cfg(train_cfg)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.loss_giou = MODELS.build(loss_giou)
        self.loss_clip = MODELS.build(loss_clip) if loss_clip is not None else None
        self.clip_all_sets = clip_all_sets

    def _build_task_embeddings(self, tasks, task_conditioning, feat_channels) -> None:
        """Per-task offsets of a universal head (none for a single-task head, whose state is unchanged)."""
        #: the universal model's tasks (empty: single-task head).
        self.tasks: Tuple[str, ...] = () if tasks is None else check_task_list(tasks, 'GroundQueryHead')
        #: when set, every sample is decoded as this task (tools/test.py --task, FocusInferencer(task=)).
        self.inference_task: Optional[str] = None
        self._batch_task_ids: Optional[torch.Tensor] = None  # see batch_inputs
        self._batch_img_shapes: Optional[torch.Tensor] = None
        if not self.tasks:
            return
        for name, embedding in build_task_embeddings(self.tasks, task_conditioning, self.num_queries,
                                                     feat_channels).items():
            setattr(self, name, embedding)

    def task_indices(self, batch_img_metas: Sequence) -> Optional[torch.Tensor]:
        """Index in ``tasks`` of each sample's task (``inference_task`` overrides), or None when single-task.

        Args:
            batch_img_metas (Sequence[dict | SegDataSample]): Metainfo dicts or data samples.

        Raises:
            KeyError: A universal head meets a sample without a task, or with a task it was not built for.
        """
        if not self.tasks:
            return None
        if self._batch_task_ids is not None:
            return self._batch_task_ids
        return task_indices(self.tasks, batch_img_metas, self.inference_task, self.level_embed.weight.device)

    @contextlib.contextmanager
    def batch_inputs(self, task_ids: Optional[torch.Tensor] = None,
                     img_shapes: Optional[torch.Tensor] = None) -> Iterator[None]:
        """Give the batch's task indices and image sizes as tensors instead of per-image metainfo.

        An exported graph takes them as inputs (``task``, ``img_shape``): read from metainfo dicts they
        would be Python values, which a trace records as constants (one task, one batch size, one image
        size per graph). Inside the block ``task_indices`` returns ``task_ids`` and the M0 prior's valid
        tokens come from ``img_shapes``.

        Args:
            task_ids (Tensor, optional): ``B`` indices into ``tasks`` (long).
            img_shapes (Tensor, optional): ``B x 2`` (H, W) of each image inside the padded batch (long).
        """
        previous = self._batch_task_ids, self._batch_img_shapes
        self._batch_task_ids, self._batch_img_shapes = task_ids, img_shapes
        try:
            yield
        finally:
            self._batch_task_ids, self._batch_img_shapes = previous

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
            attn_mask = prior_attention_mask(prior, valid, sizes[0], self.num_queries, self.num_heads)
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
        if self._batch_img_shapes is not None and tokens.dim() == 4:
            return valid_token_mask(self._batch_img_shapes, tuple(tokens.shape[-2:]), self.prior_patch_size,
                                    tokens.device)
        return image_token_mask(tokens, batch_img_metas, self.prior_patch_size)

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

    # ------------------------------------------------------------------ inference
    def predict(self, inputs: Sequence[torch.Tensor], batch_img_metas: List[dict],
                test_cfg: dict) -> torch.Tensor:
        """Logits of the decision rule that ``test_cfg['decision_rule']`` names (see
        :mod:`~focus_mm.models.decode_heads.decision_rules`): B x 1 x H x W for ``'joint'``, B x 2 x H x W
        for ``'scored_pair_merge'``, at the input size."""
        rule = build_decision_rule(test_cfg)
        cls_list, mask_list, _ = self.forward(inputs, batch_img_metas)
        return rule.head_logits(cls_list[-1], mask_list[-1], batch_img_metas, self.align_corners,
                                self.joint_prediction)
