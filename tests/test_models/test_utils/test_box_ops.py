import pytest
import torch
from torchvision.ops import box_convert

from focus_mm.models.utils import masks_to_boxes_cxcywh


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def test_masks_to_boxes():
    masks = torch.zeros(3, 10, 20)
    masks[0, 2:5, 3:9] = 1
    masks[2] = 1
    boxes = masks_to_boxes_cxcywh(masks)
    assert boxes.dtype == torch.float32
    assert torch.allclose(boxes[0], torch.tensor([6 / 20, 3.5 / 10, 6 / 20, 3 / 10]))
    assert torch.equal(boxes[1], torch.zeros(4))  # empty mask
    assert torch.allclose(boxes[2], torch.tensor([0.5, 0.5, 1.0, 1.0]))
    assert torch.allclose(box_convert(boxes[2:], 'cxcywh', 'xyxy'), torch.tensor([[0.0, 0.0, 1.0, 1.0]]))


def test_masks_to_boxes_of_no_mask_and_of_bool_masks():
    assert masks_to_boxes_cxcywh(torch.zeros(0, 4, 4)).shape == (0, 4)
    masks = torch.zeros(2, 4, 8, dtype=torch.bool)
    masks[1, 3, 7] = True  # one pixel in the bottom-right corner
    torch.testing.assert_close(masks_to_boxes_cxcywh(masks),
                               torch.tensor([[0.0, 0.0, 0.0, 0.0], [7.5 / 8, 3.5 / 4, 1 / 8, 1 / 4]]))
