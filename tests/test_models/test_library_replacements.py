"""The library functions that replaced hand-written helpers give the same numbers on fixed inputs.

Each ``_reference_*`` below is the hand-written helper focus_mm used before (kept here, condensed, as the
proof); the test feeds it and its replacement the same input (and the same random stream) and compares.
"""
import pytest
import torch
import torch.nn.functional as F
from mmcv.ops import point_sample
from mmseg.models.utils import get_uncertain_point_coords_with_randomness

from _tiny_models import single_thread


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


# ------------------------------------------------------------------ point sampling (mmcv / mmseg)
def _reference_point_sample(maps, coords):
    grid = (2.0 * coords - 1.0).unsqueeze(2)
    return F.grid_sample(maps, grid.to(maps.dtype), mode='bilinear', align_corners=False).squeeze(3)


def _reference_uncertain_point_coords(mask_logits, num_points, oversample_ratio, importance_sample_ratio):
    n = mask_logits.shape[0]
    candidates = torch.rand(n, int(num_points * oversample_ratio), 2)
    uncertainty = -_reference_point_sample(mask_logits.detach().float(), candidates).abs()[:, 0]
    num_uncertain = int(importance_sample_ratio * num_points)
    top = uncertainty.topk(num_uncertain, dim=1).indices
    chosen = torch.gather(candidates, 1, top[..., None].expand(-1, -1, 2))
    if num_points > num_uncertain:
        chosen = torch.cat([chosen, torch.rand(n, num_points - num_uncertain, 2)], dim=1)
    return chosen


def test_mmcv_point_sample_reads_pixel_centres_in_xy_order():
    maps = torch.arange(16.0).view(1, 1, 4, 4)
    coords = torch.tensor([[[0.125, 0.125], [0.875, 0.125], [0.375, 0.625]]])  # (x, y)
    assert torch.equal(point_sample(maps, coords)[0, 0], torch.tensor([0.0, 3.0, 9.0]))


def test_mmcv_point_sample_equals_the_old_helper():
    maps = torch.randn(3, 2, 17, 23)
    coords = torch.rand(3, 500, 2)
    torch.testing.assert_close(point_sample(maps, coords), _reference_point_sample(maps, coords),
                               rtol=0, atol=0)


@pytest.mark.parametrize('ratios', [(3.0, 0.75), (2.0, 1.0), (1.0, 0.0)])
def test_mmseg_uncertain_points_equal_the_old_helper(ratios):
    logits = torch.randn(4, 1, 32, 40) * 5
    oversample, importance = ratios
    torch.manual_seed(3)
    expected = _reference_uncertain_point_coords(logits, 300, oversample, importance)
    torch.manual_seed(3)
    with torch.no_grad():
        got = get_uncertain_point_coords_with_randomness(logits, None, 300, oversample, importance)
    assert got.shape == (4, 300, 2)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
