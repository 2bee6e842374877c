"""Training of the ground-query head: targets, Hungarian matching and the losses of every prediction set.

A mixin of :class:`~focus_mm.models.decode_heads.GroundQueryHead` (as mmdet's ``MaskFormerHead`` keeps
its targets and losses beside the forward): it reads the head's ``loss_cls``, ``loss_mask``,
``loss_dice``, ``loss_bbox``, ``loss_giou``, ``loss_clip`` (registered modules built from config dicts,
see :mod:`focus_mm.models.losses.set_losses`), ``tasks`` and ``joint_prediction``, and sets up the
assigner and the point sampling from the head's ``train_cfg`` (``init_train_cfg``).
"""
import copy
from typing import Dict, List, Optional, Tuple

import torch
from mmcv.ops import point_sample
from mmengine.dist import all_reduce
from mmengine.structures import InstanceData
from mmseg.models.utils import get_uncertain_point_coords_with_randomness
from mmseg.registry import TASK_UTILS

from ..utils import masks_to_boxes_cxcywh
from .decision_rules import BACKGROUND, FOREGROUND


#: The head's training settings and their defaults. As in mmdet's ``Mask2FormerHead`` (which mmseg's
#: Mask2Former configs use), they are the decode head's own ``train_cfg`` argument, not the segmentor's.
TRAIN_CFG_DEFAULTS = dict(
    # Points per mask for the mask losses.
    num_points=12544,
    # Candidate points per sampled point (mmseg's uncertainty sampling).
    oversample_ratio=3.0,
    # Share of the points taken where the mask is most uncertain.
    importance_sample_ratio=0.75,
    # Uniformly random points per image on which the matching's mask costs are computed.
    num_matching_points=12544,
    # mmseg's Hungarian assigner, costs class 1, point BCE 5 and point dice 5 (mmseg's costs with
    # ignored pixels left out, see focus_mm.models.assigners).
    assigner=dict(
        type='HungarianAssigner',
        match_costs=[
            dict(type='ClassificationCost', weight=1.0),
            dict(type='WeightedCrossEntropyLossCost', weight=5.0, use_sigmoid=True),
            dict(type='WeightedDiceCost', weight=5.0, pred_act=True, eps=1.0)
        ]))


class GroundQueryLossMixin:
    """Targets, matching and losses of :class:`GroundQueryHead` (see the module docstring)."""

    def init_train_cfg(self, train_cfg: Optional[dict]) -> None:
        """Set ``train_cfg`` (``TRAIN_CFG_DEFAULTS`` for every key it leaves out), the assigner and the
        point-sampling settings.

        Args:
            train_cfg (dict, optional): Some of the keys of ``TRAIN_CFG_DEFAULTS``.

        Raises:
            KeyError: ``train_cfg`` holds a key the head does not read.
            ValueError: The sampling ratios are out of range.
        """
        train_cfg = dict(train_cfg or {})
        unknown = sorted(set(train_cfg) - set(TRAIN_CFG_DEFAULTS))
        if unknown:
            raise KeyError(f'GroundQueryHead: unknown key(s) {unknown} in model.decode_head.train_cfg; it '
                           f'reads {list(TRAIN_CFG_DEFAULTS)}: remove or rename them.')
        self.train_cfg = {**copy.deepcopy(TRAIN_CFG_DEFAULTS), **train_cfg}
        self.assigner = TASK_UTILS.build(self.train_cfg['assigner'])
        self.num_matching_points = self.train_cfg['num_matching_points']
        self.num_points = self.train_cfg['num_points']
        self.oversample_ratio = self.train_cfg['oversample_ratio']
        self.importance_sample_ratio = self.train_cfg['importance_sample_ratio']
        if self.oversample_ratio < 1 or not 0 <= self.importance_sample_ratio <= 1:
            # mmseg's point sampler only asserts this, deep inside the first training step.
            raise ValueError(f'GroundQueryHead needs train_cfg.oversample_ratio >= 1 and 0 <= '
                             f'train_cfg.importance_sample_ratio <= 1, got {self.oversample_ratio} and '
                             f'{self.importance_sample_ratio}')

    def loss(self, inputs, batch_data_samples: list, train_cfg: dict,
             images: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Forward and compute every loss.

        Args:
            inputs (Sequence[Tensor]): Head inputs (see ``forward``).
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg`` (0 bg, 1 fg, ``ignore_index``).
            train_cfg (dict): The segmentor's ``train_cfg`` (mmseg's signature); the head's own
                settings come from its ``train_cfg`` argument, so this one must not hold them.
            images (Tensor, optional): B x 3 x H x W un-normalised RGB in [0, 1]; needed by the CLIP loss.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_mask``, ``loss_dice``, ``loss_bbox``, ``loss_giou`` (and
            ``loss_clip`` when on) of the last set, the same with prefix ``d{i}.`` for the earlier sets
            (``loss_clip`` there only with ``clip_all_sets``).
        """
        misplaced = sorted(set(train_cfg or {}) & set(TRAIN_CFG_DEFAULTS))
        if misplaced:
            raise KeyError(f'GroundQueryHead reads {misplaced} from model.decode_head.train_cfg (as mmseg\'s '
                           f'Mask2FormerHead), not from the segmentor\'s model.train_cfg: move them there.')
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
        losses = dict(loss_cls=self.loss_cls(cls, cls_targets))
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
        losses['loss_mask'] = self.loss_mask(point_logits, point_targets, point_weights, avg_factor=num_masks)
        losses['loss_dice'] = self.loss_dice(point_logits, point_targets, point_weights, avg_factor=num_masks)
        src_boxes, tgt_boxes = torch.cat(src_boxes).float(), torch.cat(tgt_boxes)
        losses['loss_bbox'] = self.loss_bbox(src_boxes, tgt_boxes, avg_factor=num_masks)
        losses['loss_giou'] = self.loss_giou(src_boxes, tgt_boxes, avg_factor=num_masks)
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
