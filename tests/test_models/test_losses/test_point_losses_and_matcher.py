import pytest
import torch

from focus_mm.models.losses import point_bce_loss, point_dice_loss


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def test_dice_and_bce_are_low_for_confident_correct_points():
    targets = (torch.rand(2, 100) > 0.5).float()
    good = (targets * 2 - 1) * 20
    bad = -good
    assert point_dice_loss(good, targets).max() < 1e-3 < point_dice_loss(bad, targets).min()
    assert point_bce_loss(good, targets).max() < 1e-3 < point_bce_loss(bad, targets).min()


def test_weights_drop_ignored_points():
    targets = torch.ones(1, 10)
    logits = torch.full((1, 10), 20.0)
    logits[:, 5:] = -20.0  # wrong, but ignored
    weights = torch.zeros(1, 10)
    weights[:, :5] = 1
    assert point_bce_loss(logits, targets, weights).item() < 1e-6
    assert point_dice_loss(logits, targets, weights).item() < 1e-6
    assert point_bce_loss(logits, targets).item() > 5


def _head(**kwargs):
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS

    from _tiny_models import tiny_head_cfg
    return MODELS.build(ConfigDict(tiny_head_cfg(num_points=500, **kwargs)))


def test_matching_pairs_masks_and_classes():
    h = w = 16
    fg = torch.zeros(h, w)
    fg[4:12, 4:12] = 1
    target = dict(labels=torch.tensor([0, 1]), masks=torch.stack([fg, 1 - fg]), valid=torch.ones(h, w))
    mask_logits = torch.stack([1 - fg, fg]) * 40 - 20  # query 0 draws the bg, query 1 the fg
    cls_logits = torch.zeros(2, 3)
    head = _head()
    q, t = head.match(cls_logits, mask_logits, target)
    assert dict(zip(q.tolist(), t.tolist())) == {0: 1, 1: 0}
    # Class evidence alone (mask costs off) can overrule the masks.
    cls_logits = torch.tensor([[9.0, 0.0, 0.0], [0.0, 9.0, 0.0]])
    class_only = dict(type='HungarianAssigner', match_costs=[dict(type='ClassificationCost', weight=1.0)])
    q, t = _head(train_cfg=dict(assigner=class_only)).match(cls_logits, mask_logits, target)
    assert dict(zip(q.tolist(), t.tolist())) == {0: 0, 1: 1}
    # One target only (an image without foreground): one query matched.
    one = dict(labels=target['labels'][1:], masks=target['masks'][1:], valid=target['valid'])
    q, t = head.match(cls_logits, mask_logits, one)
    assert q.tolist() == [0] and t.tolist() == [0]

