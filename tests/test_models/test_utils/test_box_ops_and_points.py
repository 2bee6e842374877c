import pytest
import torch

from _tiny_models import single_thread
from focus_mm.models.utils import (cxcywh_to_xyxy, generalized_iou, masks_to_boxes_cxcywh, point_sample,
                                   uncertain_point_coords)


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def test_masks_to_boxes():
    masks = torch.zeros(3, 10, 20)
    masks[0, 2:5, 3:9] = 1
    masks[2] = 1
    boxes = masks_to_boxes_cxcywh(masks)
    assert torch.allclose(boxes[0], torch.tensor([6 / 20, 3.5 / 10, 6 / 20, 3 / 10]))
    assert torch.equal(boxes[1], torch.zeros(4))  # empty mask
    assert torch.allclose(boxes[2], torch.tensor([0.5, 0.5, 1.0, 1.0]))
    assert torch.allclose(cxcywh_to_xyxy(boxes[2:]), torch.tensor([[0.0, 0.0, 1.0, 1.0]]))


def test_generalized_iou_values():
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 1.0]])
    b = torch.tensor([[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0], [1.0, 0.0, 3.0, 1.0]])
    expected = torch.tensor([1.0, 0.0 - 7.0 / 9.0, 1.0 / 3.0])
    assert torch.allclose(generalized_iou(a, b), expected, atol=1e-5)


def test_point_sample_reads_pixel_centres():
    maps = torch.arange(16.0).view(1, 1, 4, 4)
    coords = torch.tensor([[[0.125, 0.125], [0.875, 0.125], [0.375, 0.625]]])  # (x, y)
    assert torch.allclose(point_sample(maps, coords)[0, 0], torch.tensor([0.0, 3.0, 9.0]))


def test_uncertain_points_prefer_the_boundary():
    logits = torch.full((1, 1, 64, 64), -20.0)
    logits[..., :, 32:] = 20.0
    logits[..., :, 16:48] = 0.0  # the uncertain band: half of the map
    coords = uncertain_point_coords(logits, 400, oversample_ratio=3, importance_sample_ratio=0.75)
    assert coords.shape == (1, 400, 2) and coords.min() >= 0 and coords.max() <= 1
    inside = ((coords[0, :, 0] * 64 - 32).abs() < 17).float()
    assert inside[:300].mean() == 1  # the importance-sampled part
    assert inside[300:].mean() < 0.9  # the uniform part also lands outside
