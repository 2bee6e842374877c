"""Inference decision rules of the ground-query head, chosen by ``test_cfg.decision_rule``.

A rule turns the last prediction set of :class:`~focus_mm.models.decode_heads.GroundQueryHead` (class
logits and mask logits of the queries) into the logits the segmentor post-processes, as mmdet's
``MaskFormerFusionHead`` turns Mask2Former's queries into a segmentation. Each rule is a registered
class (``MODELS``) without parameters; ``test_cfg.decision_rule`` names it by its short name
(:data:`DECISION_RULES`) or gives a config dict (``dict(type='ScoredPairMerge')``). The head calls
:meth:`head_logits`; ``FocusSegmentor`` calls :meth:`check_test_cfg` when it is built, and
:meth:`check_logits` and :meth:`decide` around mmseg's post-processing.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS

FOREGROUND, BACKGROUND = 0, 1  # class indices of the head; no-object is the last class


def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``log(sigmoid(x))``, finite for every finite ``x``, also in an exported graph.

    torch exports ``F.logsigmoid`` as ``Log(Sigmoid(x))``: in float32 ``Sigmoid`` reaches 0 below about
    -88, so the graph's log is ``-inf`` where PyTorch's is ``x``, and the log-sum-exp of the fused logits
    becomes NaN where both queries' mask logits are that negative. ``-softplus(-x)`` is the same function
    and exports as ONNX ``Softplus``, which ONNX Runtime computes without the underflow; eagerly
    PyTorch's own ``logsigmoid`` is kept.
    """
    if torch.onnx.is_in_onnx_export():
        return -F.softplus(-x)
    return F.logsigmoid(x)


def fuse_ground_predictions(cls: torch.Tensor, mask_logits: torch.Tensor) -> torch.Tensor:
    """``log S_fg - log S_bg`` with ``S_c = sum_q softmax(cls_q)[c] * sigmoid(mask_q)``.

    Args:
        cls (Tensor): B x Q x 3 class logits (fg, bg, no-object).
        mask_logits (Tensor): B x Q x H x W.

    Returns:
        Tensor: B x 1 x H x W; computed in log space, so it stays finite where both are tiny.
    """
    log_cls = cls.float().log_softmax(dim=-1)[..., None, None]  # B x Q x 3 x 1 x 1
    log_masks = log_sigmoid(mask_logits.float())
    log_fg = torch.logsumexp(log_cls[:, :, FOREGROUND] + log_masks, dim=1)
    log_bg = torch.logsumexp(log_cls[:, :, BACKGROUND] + log_masks, dim=1)
    return (log_fg - log_bg)[:, None]


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
    log_fg = torch.logsumexp(log_cls[:, :, FOREGROUND] + log_sigmoid(mask_logits.float()), dim=1)
    prob = log_fg.exp().clamp(1e-6, 1 - 1e-6)  # one query: P <= 1; several could sum above it
    return (prob.log() - torch.log1p(-prob))[:, None]


def input_size(meta: dict) -> Tuple[int, int]:
    """The network input size of a batch (``pad_shape``, or ``img_shape`` when sliding)."""
    if isinstance(meta['img_shape'], torch.Size):
        return tuple(meta['img_shape'])
    if 'pad_shape' in meta:
        return tuple(meta['pad_shape'][:2])
    return tuple(meta['img_shape'][:2])


@MODELS.register_module()
class JointDecision:
    """Mask2Former's semantic inference of the two ground queries: the joint decision ``P_fg > P_bg``.

    With class probabilities ``p_q(c)`` (softmax over fg, bg, no-object) and mask probabilities
    ``m_q = sigmoid(mask logit)``, the foreground and background evidence are ``S_fg = sum_q p_q(fg) m_q``
    and ``S_bg = sum_q p_q(bg) m_q``. The head returns ``log S_fg - log S_bg`` (B x 1 x H x W), so
    ``sigmoid(logit) = S_fg / (S_fg + S_bg)`` is the foreground probability and ``logit > 0`` (mmseg's
    ``threshold=0.5``) is ``P_fg > P_bg``. Which query is foreground is decided by the class head,
    pixel-weighted by both queries, never by the query index.

    A foreground-only head (``joint_prediction=False``: one query, classes fg and no-object) gets
    ``P_fg = p(fg) * sigmoid(mask)`` as ``log P_fg - log(1 - P_fg)``: its sigmoid is ``P_fg`` and
    ``logit > 0`` is ``P_fg > 0.5`` (no background evidence takes part).
    """

    def check_test_cfg(self, test_cfg: dict, joint_prediction: bool) -> None:
        """Every ``test_cfg.mode`` and both heads work with this rule."""

    def head_logits(self, cls: torch.Tensor, masks: torch.Tensor, batch_img_metas: List[dict],
                    align_corners: bool, joint_prediction: bool) -> torch.Tensor:
        """B x 1 x H x W logits at the input size (``pad_shape``, or ``img_shape`` when sliding).

        Args:
            cls (Tensor): B x Q x K class logits of the last prediction set.
            masks (Tensor): B x Q x h x w mask logits of the last prediction set.
            batch_img_metas (list[dict]): Metainfo of the batch (the input size).
            align_corners (bool): Of the bilinear resize to the input size.
            joint_prediction (bool): Two ground queries (True) or the foreground-only head.

        Returns:
            Tensor: B x 1 x H x W foreground logits.
        """
        masks = F.interpolate(masks, size=input_size(batch_img_metas[0]), mode='bilinear',
                              align_corners=align_corners)
        if not joint_prediction:
            return foreground_only_logits(cls, masks)
        return fuse_ground_predictions(cls, masks)

    def check_logits(self, seg_logits: torch.Tensor) -> None:
        """Any logits pass (mmseg's post-processing handles every head's)."""

    def decide(self, samples: list) -> list:
        """mmseg's post-processed samples are the result: nothing to change."""
        return samples


@MODELS.register_module()
class ScoredPairMerge:
    """Pick the best-scoring (query, class) pairs and compare their masks (the rule of FOCUS's evaluator).

    Used for the authors' converted checkpoints: their evaluator scores the binary mask of
    ``FOCUS._merge_mask``. Each (query, class) pair among (fg, bg) gets the score ``p_q(c) * s_q``, with
    the mask score ``s_q = sum(m_q^2) / (sum(m_q) + 1e-6)`` over the mask at the original image size. If
    one foreground pair and one background pair score above 0.5, the result is ``m_fg > m_bg`` (the two
    chosen queries' sigmoid masks compared, no class weighting); else the best-scoring pair alone decides
    (``m_q > 0.5`` for a foreground pair, ``m_q < 0.5`` for a background one). :meth:`head_logits` gives
    B x 2 x H x W logits (the chosen foreground and background masks, a constant 0 standing for the 0.5 of
    the single-pair case); mmseg's post-processing resizes both to the original size and :meth:`decide`
    compares them after the sigmoid, as their code does; the probability map is then that binary mask.
    """

    def check_test_cfg(self, test_cfg: dict, joint_prediction: bool) -> None:
        """The rule decides on the whole image and compares two ground queries.

        Args:
            test_cfg (dict): The segmentor's ``test_cfg``.
            joint_prediction (bool): The head's ``joint_prediction``.

        Raises:
            ValueError: ``test_cfg.mode`` is not ``'whole'``, or the head has one query.
        """
        if test_cfg.get('mode', 'whole') != 'whole':
            raise ValueError("test_cfg.decision_rule='scored_pair_merge' decides on the whole image (as the "
                             f"authors' evaluator); test_cfg.mode={test_cfg['mode']!r} is not supported "
                             "with it, use mode='whole'")
        if not joint_prediction:
            raise ValueError("test_cfg.decision_rule='scored_pair_merge' compares the two ground queries; "
                             'decode_head.joint_prediction=False has one (use the default decision_rule)')

    def head_logits(self, cls: torch.Tensor, masks: torch.Tensor, batch_img_metas: List[dict],
                    align_corners: bool, joint_prediction: bool = True) -> torch.Tensor:
        """The chosen foreground and background masks' logits at the input size.

        Args:
            cls (Tensor): B x 2 x 3 class logits of the last prediction set.
            masks (Tensor): B x 2 x h x w mask logits of the last prediction set.
            batch_img_metas (list[dict]): Per image: ``ori_shape`` and the padding (``img_padding_size``
                or ``padding_size``, left/right/top/bottom), used for the mask scores at the original size
                as in their code; without ``ori_shape`` the scores use the unpadded input size.
            align_corners (bool): Of the bilinear resizes.
            joint_prediction (bool): Must be True (two ground queries).

        Returns:
            Tensor: B x 2 x H x W at the input size: channel 0 the chosen foreground mask's logits, channel
            1 the chosen background mask's logits (0, i.e. probability 0.5, where the rule uses one pair).
        """
        self.check_test_cfg({}, joint_prediction)
        masks = F.interpolate(masks.float(), size=input_size(batch_img_metas[0]), mode='bilinear',
                              align_corners=align_corners)
        probs = cls.float().softmax(dim=-1)[..., :2]  # B x Q x 2 (fg, bg)
        out = masks.new_zeros((masks.shape[0], 2) + masks.shape[-2:])
        for b, meta in enumerate(batch_img_metas):
            left, right, top, bottom = meta.get('img_padding_size', meta.get('padding_size', [0] * 4))
            unpadded = masks[b:b + 1, :, top:masks.shape[-2] - bottom, left:masks.shape[-1] - right]
            if 'ori_shape' in meta:
                unpadded = F.interpolate(unpadded, size=tuple(meta['ori_shape'][:2]), mode='bilinear',
                                         align_corners=align_corners)
            soft = unpadded[0].flatten(1).sigmoid()  # Q x N
            mask_scores = (soft * soft).sum(1) / (soft.sum(1) + 1e-6)
            fg_query, bg_query = self.choose_pairs(probs[b] * mask_scores[:, None])
            if fg_query is not None:
                out[b, 0] = masks[b, fg_query]
            if bg_query is not None:
                out[b, 1] = masks[b, bg_query]
        return out

    @staticmethod
    def choose_pairs(scores: torch.Tensor) -> Tuple[Optional[int], Optional[int]]:
        """Which queries the rule compares, from the (query, class) scores.

        The pairs scoring above 0.5 are kept, one per class in turn; with a foreground and a background
        pair kept, the foreground query's mask is compared with the background query's. Otherwise the
        best pair decides alone, against 0.5. (At most one pair per query can pass 0.5, as
        ``p(fg) + p(bg) <= 1`` and the mask score is <= 1, so the order of the authors' unsorted top-k
        does not matter.)

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

    def check_logits(self, seg_logits: torch.Tensor) -> None:
        """The head's output must be the two chosen masks (B x 2 x H x W).

        Args:
            seg_logits (Tensor): The decode head's logits.

        Raises:
            ValueError: Another shape.
        """
        if seg_logits.dim() != 4 or seg_logits.shape[1] != 2:
            raise ValueError("decision_rule='scored_pair_merge' expects B x 2 x H x W logits from the decode "
                             f'head, got {tuple(seg_logits.shape)}')

    def decide(self, samples: list) -> list:
        """``sigmoid(fg) > sigmoid(bg)`` of the post-processed maps, as prediction and probability map.

        Args:
            samples (list[SegDataSample]): mmseg's post-processed samples; ``seg_logits`` holds the two
                maps (cropped, un-flipped and resized to the original size, as detectron2's
                ``sem_seg_postprocess``).

        Returns:
            list[SegDataSample]: The same samples, ``seg_logits`` and ``pred_sem_seg`` the binary mask.
        """
        for sample in samples:
            logits = sample.seg_logits.data
            foreground = (logits[0:1].sigmoid() > logits[1:2].sigmoid()).to(logits.dtype)
            sample.set_data({'seg_logits': PixelData(data=foreground),
                             'pred_sem_seg': PixelData(data=foreground.clone())})
        return samples


#: short names of the rules for ``test_cfg.decision_rule``.
DECISION_RULES = {'joint': 'JointDecision', 'scored_pair_merge': 'ScoredPairMerge'}


def build_decision_rule(test_cfg: Optional[dict]) -> Union[JointDecision, ScoredPairMerge]:
    """The rule that ``test_cfg['decision_rule']`` names (default ``'joint'``).

    Args:
        test_cfg (dict, optional): A segmentor's or head's ``test_cfg``.

    Returns:
        The decision rule object.

    Raises:
        ValueError: An unknown short name.
    """
    rule = (test_cfg or {}).get('decision_rule', 'joint')
    if isinstance(rule, str):
        if rule not in DECISION_RULES:
            raise ValueError(f'test_cfg.decision_rule must be one of {sorted(DECISION_RULES)} (or a config '
                             f"dict of a registered rule, e.g. dict(type='JointDecision')), got {rule!r}")
        rule = dict(type=DECISION_RULES[rule])
    return MODELS.build(rule)


__all__: Sequence[str] = ('DECISION_RULES', 'JointDecision', 'ScoredPairMerge', 'build_decision_rule',
                          'fuse_ground_predictions', 'foreground_only_logits')
