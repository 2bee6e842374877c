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


# ------------------------------------------------------------------ MLP (mmseg.models.utils.MLP)
class _ReferenceMLP(torch.nn.Module):

    def __init__(self, in_channels, hidden_channels, out_channels, num_layers):
        super().__init__()
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = x.relu()
        return x


@pytest.mark.parametrize('num_layers', [1, 3])
def test_mmseg_mlp_has_the_old_keys_and_outputs(num_layers):
    from mmseg.models.utils import MLP
    old = _ReferenceMLP(16, 24, 4, num_layers)
    new = MLP(16, 24, 4, num_layers)
    assert {k: v.shape for k, v in new.state_dict().items()} == {k: v.shape for k, v in old.state_dict().items()}
    new.load_state_dict(old.state_dict(), strict=True)  # checkpoints with layers.N.* load as they are
    x = torch.randn(2, 5, 16)
    torch.testing.assert_close(new(x), old(x), rtol=0, atol=0)


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
