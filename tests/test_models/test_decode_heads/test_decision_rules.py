"""The decision rules chosen by ``test_cfg.decision_rule``: names, config dicts and the head's output."""
import pytest
import torch
import torch.nn.functional as F

from focus_mm.models.decode_heads import JointDecision, ScoredPairMerge, build_decision_rule


@pytest.mark.parametrize('test_cfg,kind', [
    (None, JointDecision), (dict(mode='whole'), JointDecision), (dict(decision_rule='joint'), JointDecision),
    (dict(decision_rule='scored_pair_merge'), ScoredPairMerge),
    (dict(decision_rule=dict(type='ScoredPairMerge')), ScoredPairMerge)
])
def test_rule_by_name_or_config(test_cfg, kind):
    assert type(build_decision_rule(test_cfg)) is kind


def test_unknown_name_lists_the_rules():
    with pytest.raises(ValueError, match="joint.*scored_pair_merge"):
        build_decision_rule(dict(decision_rule='authors_merge'))


def test_joint_rule_is_the_foreground_share_of_the_evidence():
    torch.manual_seed(0)
    cls, masks = torch.randn(2, 2, 3), torch.randn(2, 2, 8, 12)
    metas = [dict(img_shape=(16, 24), pad_shape=(16, 24))] * 2
    logits = JointDecision().head_logits(cls, masks, metas, align_corners=False, joint_prediction=True)
    up = F.interpolate(masks, size=(16, 24), mode='bilinear', align_corners=False).sigmoid()
    p = cls.softmax(-1)
    s_fg = (p[..., 0, None, None] * up).sum(1)
    s_bg = (p[..., 1, None, None] * up).sum(1)
    torch.testing.assert_close(logits[:, 0].sigmoid(), s_fg / (s_fg + s_bg))


def test_pair_merge_needs_two_queries_and_two_maps():
    rule = ScoredPairMerge()
    with pytest.raises(ValueError, match='two ground queries'):
        rule.check_test_cfg(dict(mode='whole'), joint_prediction=False)
    with pytest.raises(ValueError, match='B x 2 x H x W'):
        rule.check_logits(torch.zeros(1, 1, 4, 4))
