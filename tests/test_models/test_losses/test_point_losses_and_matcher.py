import pytest
import torch

from _tiny_models import single_thread
from focus_mm.models.losses import GroundQueryMatcher, point_bce_loss, point_dice_loss


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


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


def test_matcher_pairs_masks_and_uses_weights():
    h = w = 16
    fg = torch.zeros(h, w)
    fg[4:12, 4:12] = 1
    masks = torch.stack([fg, 1 - fg])  # targets: fg (label 0), bg (label 1)
    labels = torch.tensor([0, 1])
    mask_logits = torch.stack([1 - fg, fg]) * 40 - 20  # query 0 draws the bg, query 1 the fg
    cls_logits = torch.zeros(2, 3)
    matcher = GroundQueryMatcher(num_points=500)
    q, t = matcher(cls_logits, mask_logits, labels, masks, torch.ones(h, w))
    assert dict(zip(q.tolist(), t.tolist())) == {0: 1, 1: 0}
    # Class evidence alone (mask costs off) can overrule the masks.
    cls_logits = torch.tensor([[9.0, 0.0, 0.0], [0.0, 9.0, 0.0]])
    q, t = GroundQueryMatcher(cost_mask=0.0, cost_dice=0.0, num_points=500)(
        cls_logits, mask_logits, labels, masks, torch.ones(h, w))
    assert dict(zip(q.tolist(), t.tolist())) == {0: 0, 1: 1}
    # One target only (an image without foreground): one query matched.
    q, t = matcher(cls_logits, mask_logits, labels[1:], masks[1:], torch.ones(h, w))
    assert q.tolist() == [0] and t.tolist() == [0]
