import pytest
import torch

from _tiny_models import single_thread
from focus_mm.models.utils import cxcywh_to_xyxy, generalized_iou, masks_to_boxes_cxcywh


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
