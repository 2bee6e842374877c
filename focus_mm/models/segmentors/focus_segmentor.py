"""FocusSegmentor: EncoderDecoder with the edge-image input, interleaving necks and image-aware heads."""
import inspect
from typing import Dict, List, Optional

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import add_prefix

from ..decode_heads.decision_rules import build_decision_rule


@MODELS.register_module()
class FocusSegmentor(EncoderDecoder):
    """Encoder-decoder for FOCUS inputs.

    ``inputs`` is B x 6 x H x W (normalised RGB image, then the normalised edge-blended image, both from
    ``FocusDataPreProcessor``) or B x 3 x H x W (no edge input). A neck with ``drives_backbone = True``
    (e.g. ``EdgeEnhancerNeck``) runs the backbone itself: ``neck(backbone, img, edge)``; otherwise the usual
    ``neck(backbone(img))`` (or ``backbone(img)`` without neck) applies, so any mmseg backbone works.

    For training, the head's ``loss`` additionally receives ``images=``, the un-normalised RGB image in
    [0, 1] (recovered from the data preprocessor's mean/std), when its signature accepts it (the CLIP
    refiner needs it); heads without that argument (e.g. mmseg's UPerHead) are called as usual.

    The ablation switches of the parts (``decode_head.joint_prediction``, ``decode_head.loss_clip``,
    ``decode_head.prior_index``, ``neck.with_edge``, ``backbone.frozen``) are checked together before
    anything is built: a combination that cannot work fails with both switches named (see
    :func:`check_switch_combinations`).

    ``test_cfg.decision_rule`` picks the head's inference rule (see
    :mod:`focus_mm.models.decode_heads.decision_rules`), and ``postprocess_result`` lets the rule finish
    mmseg's post-processed result: with ``'scored_pair_merge'`` the head gives two logit maps (the chosen
    foreground and background masks), both are resized to the original size and
    ``sigmoid(fg) > sigmoid(bg)`` is kept as both the prediction and the probability map (the authors'
    evaluator scores that binary mask).

    Arguments are those of ``EncoderDecoder``.
    """

    def __init__(self, backbone: dict, decode_head: dict, neck: Optional[dict] = None, **kwargs):
        check_switch_combinations(backbone, decode_head, neck)
        test_cfg = kwargs.get('test_cfg') or {}
        one_query = isinstance(decode_head, dict) and decode_head.get('joint_prediction') is False
        joint_prediction = not one_query
        try:
            build_decision_rule(test_cfg).check_test_cfg(test_cfg, joint_prediction)
        except ValueError as error:
            raise ValueError(f'FocusSegmentor: {error}') from None
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck, **kwargs)
        self._check_prior_patch_size()
        self._check_task_lists()

    def _check_task_lists(self) -> None:
        """A task-conditioned neck indexes the head's task list: both must list the same tasks in order."""
        neck_tasks = tuple(getattr(self.neck, 'tasks', ()) or ()) if self.with_neck else ()
        head_tasks = tuple(getattr(self.decode_head, 'tasks', ()) or ())
        if neck_tasks and neck_tasks != head_tasks:
            raise ValueError(f'FocusSegmentor: neck.tasks={list(neck_tasks)} but decode_head.tasks='
                             f'{list(head_tasks)}; give both the same list (the configs use _base_.tasks)')

    def _neck_task_ids(self, batch_img_metas: Optional[list], batch_size: int) -> Optional[torch.Tensor]:
        """Each image's task index for a task-conditioned neck (None for any other neck).

        The head decides (``GroundQueryHead.task_indices``: the metainfo's ``task``, or the head's
        ``inference_task``), so the neck and the head always condition on the same task.
        """
        if not (self.with_neck and getattr(self.neck, 'tasks', ())):
            return None
        if batch_img_metas is None:
            if getattr(self.decode_head, 'inference_task', None) is None:
                raise ValueError('FocusSegmentor: this universal model conditions its neck on each image\'s '
                                 'task but got no metainfo; pass data samples with a task, or set the task '
                                 '(focus_mm.apis.set_inference_task)')
            batch_img_metas = [{}] * batch_size
        return self.decode_head.task_indices(batch_img_metas)

    def _check_prior_patch_size(self) -> None:
        """M0 places each image's own tokens with the head's ``prior_patch_size``: it must be the ViT's."""
        head_patch = getattr(self.decode_head, 'prior_patch_size', None)
        vit_patch = getattr(self.backbone, 'patch_size', None)
        if getattr(self.decode_head, 'prior_index', None) is None or head_patch is None or vit_patch is None:
            return
        vit_patch = tuple(vit_patch) if isinstance(vit_patch, (tuple, list)) else (vit_patch, vit_patch)
        if vit_patch != (head_patch, head_patch):
            raise ValueError(f'FocusSegmentor: decode_head.prior_patch_size={head_patch} but the backbone\'s '
                             f'tokens are {vit_patch[0]} x {vit_patch[1]} pixels; set '
                             f'decode_head.prior_patch_size={vit_patch[0]}.')

    def postprocess_result(self, seg_logits: torch.Tensor, data_samples: Optional[list] = None) -> list:
        """mmseg's postprocessing, then the decision rule's (``test_cfg.decision_rule``) last step.

        Args:
            seg_logits (Tensor): B x C x H x W logits of the decode head: the joint rule's foreground logits
                (or any mmseg head's class logits), or the chosen foreground and background mask logits
                with ``'scored_pair_merge'``.
            data_samples (list[SegDataSample], optional): With the padding, flip and ``ori_shape``.

        Returns:
            list[SegDataSample]: ``seg_logits`` (probability) and ``pred_sem_seg`` at the original size.
        """
        rule = build_decision_rule(self.test_cfg)
        rule.check_logits(seg_logits)
        # mmseg crops the padding, un-flips and resizes the maps bilinearly (as detectron2's
        # sem_seg_postprocess); the rule then decides, e.g. after the sigmoid as the authors' float32 code.
        return rule.decide(super().postprocess_result(seg_logits, data_samples))

    def extract_feat(self, inputs: torch.Tensor,
                     batch_img_metas: Optional[list] = None) -> List[torch.Tensor]:
        """Backbone (+ neck) features: 4 maps (strides 4..32), plus a token map when the neck gives one.

        ``batch_img_metas`` (metainfo dicts or data samples) give a task-conditioned neck each image's task.
        """
        img, edge = self._split_inputs(inputs)
        if self.with_neck and getattr(self.neck, 'drives_backbone', False):
            task_ids = self._neck_task_ids(batch_img_metas, inputs.shape[0])
            if task_ids is None:
                return list(self.neck(self.backbone, img, edge))
            return list(self.neck(self.backbone, img, edge, task_ids=task_ids))
        feats = self.backbone(img)
        if self.with_neck:
            feats = self.neck(feats)
        return list(feats)

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """mmseg's ``encode_decode``, with the metainfo given to the neck too (its tasks)."""
        feats = self.extract_feat(inputs, batch_img_metas)
        return self.decode_head.predict(feats, batch_img_metas, self.test_cfg)

    def _forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None):
        """mmseg's tensor mode (the head's raw outputs), with the metainfo given to the neck too."""
        metas = None if data_samples is None else [sample.metainfo for sample in data_samples]
        return self.decode_head.forward(self.extract_feat(inputs, metas))

    @staticmethod
    def _split_inputs(inputs: torch.Tensor):
        if inputs.dim() != 4 or inputs.shape[1] not in (3, 6):
            raise ValueError(f'FocusSegmentor expects inputs B x 3 x H x W (image) or B x 6 x H x W (image + '
                             f'edge-blended image), got {tuple(inputs.shape)}; add the EdgePrior '
                             f'transform to the pipeline for the edge input, or feed plain RGB images.')
        edge = inputs[:, 3:6] if inputs.shape[1] == 6 else None
        return inputs[:, :3], edge

    def loss(self, inputs: torch.Tensor, data_samples: list) -> Dict[str, torch.Tensor]:
        """Losses of the decode head (with ``images=`` when it takes them) and of the auxiliary heads."""
        feats = self.extract_feat(inputs, [sample.metainfo for sample in data_samples])
        losses = dict()
        kwargs = {}
        if _accepts_images(self.decode_head.loss):
            kwargs['images'] = self.unnormalized_images(inputs)
        loss_decode = self.decode_head.loss(feats, data_samples, self.train_cfg, **kwargs)
        losses.update(add_prefix(loss_decode, 'decode'))
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(feats, data_samples))
        return losses

    def unnormalized_images(self, inputs: torch.Tensor) -> torch.Tensor:
        """RGB image in [0, 1] (B x 3 x H x W) from the normalised ``inputs[:, :3]``.

        Uses the data preprocessor's ``mean``/``std`` (first three channels) when it normalises; swaps the
        channels when it did not convert BGR to RGB.
        """
        img = inputs[:, :3].detach().float()
        preprocessor = self.data_preprocessor
        if getattr(preprocessor, '_enable_normalize', False):
            mean = preprocessor.mean.flatten()[:3].view(1, 3, 1, 1).to(img)
            std = preprocessor.std.flatten()[:3].view(1, 3, 1, 1).to(img)
            img = img * std + mean
        if not getattr(preprocessor, 'channel_conversion', True):
            img = img.flip(1)  # still BGR as loaded by OpenCV
        return (img / 255.0).clamp(0.0, 1.0)


def _accepts_images(method) -> bool:
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return 'images' in params or any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())


def _component_class(cfg: Optional[dict]):
    """The registered class a config names (None when it names none we can resolve)."""
    if not isinstance(cfg, dict):
        return None
    kind = cfg.get('type')
    return MODELS.get(kind) if isinstance(kind, str) else kind if inspect.isclass(kind) else None


def check_switch_combinations(backbone: dict, decode_head: dict, neck: Optional[dict] = None) -> None:
    """Refuse switch combinations of the parts that cannot work, naming both switches.

    - ``decode_head.prior_index`` (M0 on) needs the backbone's last-block token map among the head inputs:
      a neck that drives the backbone (``EdgeEnhancerNeck``, edge branch on or off) appends it, and so does
      a DINOv2 backbone without neck; a plain CNN backbone or a feature neck (FPN...) gives none. The index
      must not also be one of the feature maps of ``decode_head.in_index``.
    - ``neck.edge_pretrained`` (edge ResNet weights) with ``neck.with_edge=False`` (EE off): the weights
      would be silently ignored, as there is no edge branch.
    - ``backbone.train_final_norm=True`` with ``backbone.frozen=True``: a frozen ViT trains nothing.

    Args:
        backbone (dict): Backbone config.
        decode_head (dict): Head config.
        neck (dict, optional): Neck config.

    Raises:
        ValueError: For the first combination that cannot work.
    """
    backbone = backbone if isinstance(backbone, dict) else {}
    head = decode_head if isinstance(decode_head, dict) else {}
    prior_index = head.get('prior_index')
    if prior_index is not None:
        if neck is not None:
            neck_cls = _component_class(neck)
            if neck_cls is not None and not getattr(neck_cls, 'drives_backbone', False):
                raise ValueError(
                    f"FocusSegmentor: decode_head.prior_index={prior_index} (M0 prior on) needs the "
                    f"backbone's token map, but neck.type={neck_cls.__name__} does not drive the backbone "
                    f'and passes none on; set decode_head.prior_index=None (M0 off) or use a neck with '
                    f'drives_backbone=True (EdgeEnhancerNeck).')
        else:
            backbone_cls = _component_class(backbone)
            if backbone_cls is not None and not hasattr(backbone_cls, 'prior_map'):
                raise ValueError(
                    f"FocusSegmentor: decode_head.prior_index={prior_index} (M0 prior on) needs a ViT token "
                    f'map, but backbone.type={backbone_cls.__name__} (no neck) gives none; set '
                    f'decode_head.prior_index=None (M0 off) or use a DINOv2 backbone with EdgeEnhancerNeck.')
        in_index = head.get('in_index', (0, 1, 2, 3))
        if prior_index in list(in_index):
            raise ValueError(f'FocusSegmentor: decode_head.prior_index={prior_index} (M0 prior) selects one '
                             f'of the feature maps of decode_head.in_index={list(in_index)}; the token map '
                             f'comes after them (index 4 with EdgeEnhancerNeck).')
    if isinstance(neck, dict) and neck.get('with_edge', True) is False and neck.get('edge_pretrained'):
        raise ValueError(f"FocusSegmentor: neck.with_edge=False (edge enhancer off) has no edge ResNet to "
                         f"load neck.edge_pretrained={neck['edge_pretrained']!r} into; set "
                         f'neck.edge_pretrained=None in the EE-off config (or neck.with_edge=True).')
    if backbone.get('frozen') and backbone.get('train_final_norm'):
        raise ValueError('FocusSegmentor: backbone.frozen=True freezes every ViT parameter, so '
                         'backbone.train_final_norm=True cannot train its final norm; drop one of the two.')
