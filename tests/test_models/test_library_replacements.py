"""Our uses of library functions that replaced hand-written helpers give the same numbers on fixed inputs.

Each ``_reference_*`` below is the hand-written helper focus_mm used before (kept here, condensed, as the
proof); the test feeds our code and the helper the same input and compares. Only the documented contract of
``mmcv.ops.point_sample`` is checked on the library itself.
"""
import pytest
import torch
import torch.nn.functional as F
from mmcv.ops import point_sample


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


# ------------------------------------------------------------------ point sampling (mmcv / mmseg)
def _reference_point_sample(maps, coords):
    grid = (2.0 * coords - 1.0).unsqueeze(2)
    return F.grid_sample(maps, grid.to(maps.dtype), mode='bilinear', align_corners=False).squeeze(3)


def test_mmcv_point_sample_reads_pixel_centres_in_xy_order():
    """The documented contract of ``mmcv.ops.point_sample`` that the head's point losses and matching rely on:
    points are (x, y) in [0, 1] x [0, 1] relative to the map, read bilinearly with ``align_corners=False``
    (a point at a pixel's centre reads that pixel)."""
    maps = torch.arange(16.0).view(1, 1, 4, 4)
    coords = torch.tensor([[[0.125, 0.125], [0.875, 0.125], [0.375, 0.625]]])  # (x, y)
    assert torch.equal(point_sample(maps, coords)[0, 0], torch.tensor([0.0, 3.0, 9.0]))


# ------------------------------------------------------------------ MLP (mmseg.models.utils.MLP)
def test_head_mask_and_box_mlps_are_mmsegs_with_layers_n_keys():
    from mmengine.config import ConfigDict
    from mmseg.models.utils import MLP
    from mmseg.registry import MODELS

    from _tiny_models import tiny_head_cfg
    head = MODELS.build(ConfigDict(tiny_head_cfg()))
    assert isinstance(head.mask_embed, MLP) and isinstance(head.bbox_embed, MLP)
    keys = [k for k in head.state_dict() if k.startswith(('mask_embed.', 'bbox_embed.'))]
    assert keys == [f'{m}.layers.{i}.{p}' for m in ('mask_embed', 'bbox_embed') for i in range(3)
                    for p in ('weight', 'bias')]


# ------------------------------------------------------------------ matching (mmseg's HungarianAssigner)
def _reference_matching_cost(cls_logits, mask_logits, labels, masks, valid, coords, weights=(1.0, 5.0, 5.0)):
    """The cost of the former GroundQueryMatcher: -p(label), point BCE and dice over the labelled points."""
    pred = _reference_point_sample(mask_logits[None].float(), coords)[0]
    tgt = _reference_point_sample(masks[None].float(), coords)[0]
    w = _reference_point_sample(valid[None, None].float(), coords)[0, 0]
    pos = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred), reduction='none')
    neg = F.binary_cross_entropy_with_logits(pred, torch.zeros_like(pred), reduction='none')
    bce = ((pos * w) @ tgt.T + (neg * w) @ (1 - tgt).T) / w.sum().clamp_min(1.0)
    probs, tgt_w = pred.sigmoid() * w, tgt * w
    dice = 1 - (2 * probs @ tgt_w.T + 1) / (probs.sum(1, keepdim=True) + tgt_w.sum(1)[None, :] + 1)
    cost_class, cost_mask, cost_dice = weights
    return -cost_class * cls_logits.float().softmax(-1)[:, labels] + cost_mask * bce + cost_dice * dice


def _matching_case(num_queries=6, h=24, w=20):
    """Random logits, three overlapping targets and a padded (ignored) bottom/right border."""
    cls_logits = torch.randn(num_queries, 3) * 2
    mask_logits = torch.randn(num_queries, h // 2, w // 2) * 4
    masks = (torch.rand(3, h, w) > 0.5).float()
    valid = torch.ones(h, w)
    valid[18:] = 0
    valid[:, 15:] = 0
    return cls_logits, mask_logits, torch.tensor([0, 1, 1]), masks, valid


def _head(**kwargs):
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS

    from _tiny_models import tiny_head_cfg
    return MODELS.build(ConfigDict(tiny_head_cfg(**kwargs)))


def test_default_assigner_costs_equal_the_old_matcher_cost():
    from mmcv.ops import point_sample
    from mmengine.structures import InstanceData
    assigner = _head().assigner  # the head's default: mmseg's HungarianAssigner, weights 1 / 5 / 5
    for seed in range(3):
        torch.manual_seed(seed)
        cls_logits, mask_logits, labels, masks, valid = _matching_case()
        coords = torch.rand(1, 700, 2)
        expected = _reference_matching_cost(cls_logits, mask_logits, labels, masks, valid, coords)
        pred = InstanceData(scores=cls_logits, masks=point_sample(mask_logits[None], coords)[0])
        gt = InstanceData(labels=labels, masks=point_sample(masks[None], coords)[0],
                          point_weights=point_sample(valid[None, None], coords)[0].expand(3, -1))
        cost = sum(c(pred_instances=pred, gt_instances=gt) for c in assigner.match_costs)
        torch.testing.assert_close(cost, expected, rtol=1e-5, atol=1e-5)


def test_head_matching_equals_the_old_matcher_on_fixed_inputs():
    from scipy.optimize import linear_sum_assignment
    head = _head(train_cfg=dict(num_matching_points=700))
    matched = 0
    for seed in range(8):
        torch.manual_seed(100 + seed)
        cls_logits, mask_logits, labels, masks, valid = _matching_case()
        target = dict(labels=labels, masks=masks, valid=valid)
        torch.manual_seed(seed)
        query_idx, target_idx = head.match(cls_logits, mask_logits, target)
        torch.manual_seed(seed)  # the same random points for the reference
        coords = torch.rand(1, 700, 2)
        ref_query, ref_target = linear_sum_assignment(
            _reference_matching_cost(cls_logits, mask_logits, labels, masks, valid, coords).numpy())
        assert query_idx.dtype == torch.long and query_idx.tolist() == ref_query.tolist()
        assert target_idx.tolist() == ref_target.tolist()
        matched += len(query_idx)
    assert matched == 8 * 3
    # No target (nothing labelled): nothing matched, no random points drawn.
    empty = dict(labels=torch.zeros(0, dtype=torch.long), masks=torch.zeros(0, 24, 20),
                 valid=torch.ones(24, 20))
    state = torch.get_rng_state()
    query_idx, target_idx = head.match(cls_logits, mask_logits, empty)
    assert query_idx.numel() == target_idx.numel() == 0 and torch.equal(state, torch.get_rng_state())


def test_ignored_points_do_not_count_in_the_weighted_costs():
    """A query right on the labelled pixels and wrong on the ignored ones costs what a perfect one costs."""
    from mmengine.structures import InstanceData
    from mmseg.registry import TASK_UTILS
    target = (torch.rand(1, 400) > 0.5).float()
    weights = torch.ones(1, 400)
    weights[:, 200:] = 0
    perfect = (target * 2 - 1) * 30
    wrong_where_ignored = perfect.clone()
    wrong_where_ignored[:, 200:] *= -1
    pred = InstanceData(masks=torch.cat([perfect, wrong_where_ignored]))
    gt = InstanceData(labels=torch.zeros(1, dtype=torch.long), masks=target, point_weights=weights)
    for cfg in (dict(type='WeightedCrossEntropyLossCost'),
                dict(type='WeightedDiceCost', pred_act=True, eps=1.0)):
        cost = TASK_UTILS.build(cfg)(pred_instances=pred, gt_instances=gt)
        torch.testing.assert_close(cost[0], cost[1])
        unweighted = TASK_UTILS.build(cfg)(pred_instances=pred, gt_instances=InstanceData(labels=gt.labels,
                                                                                       masks=target))
        assert unweighted[1, 0] > unweighted[0, 0] + 0.1  # mmseg's own cost counts every point
    with pytest.raises(ValueError, match='point_weights'):
        bad = InstanceData(labels=gt.labels, masks=target, point_weights=weights[:, :100])
        TASK_UTILS.build(dict(type='WeightedDiceCost'))(pred_instances=pred, gt_instances=bad)


# ------------------------------------------------------------------ boxes (torchvision.ops)
def _reference_masks_to_boxes_cxcywh(masks):
    n, h, w = masks.shape
    masks = masks.bool()
    rows, cols = masks.any(dim=2), masks.any(dim=1)
    ys, xs = torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32)
    big = float(max(h, w) + 1)
    y0, y1 = torch.where(rows, ys, big).amin(dim=1), torch.where(rows, ys, -1.0).amax(dim=1) + 1
    x0, x1 = torch.where(cols, xs, big).amin(dim=1), torch.where(cols, xs, -1.0).amax(dim=1) + 1
    boxes = torch.stack([(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h], dim=1)
    return torch.where(rows.any(dim=1, keepdim=True), boxes, torch.zeros_like(boxes))


def test_mask_boxes_equal_the_old_helper():
    from focus_mm.models.utils import masks_to_boxes_cxcywh
    masks = torch.zeros(6, 23, 31)
    for i in range(4):  # random rectangles and blobs; mask 4 empty, mask 5 full
        masks[i] = (torch.rand(23, 31) > 0.97).float()
    masks[0, 3:9, 11:12] = 1
    masks[5] = 1
    torch.testing.assert_close(masks_to_boxes_cxcywh(masks), _reference_masks_to_boxes_cxcywh(masks),
                               rtol=0, atol=1e-6)
