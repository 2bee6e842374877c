import torch

from focus_mm.models.utils import level_layout


def test_level_layout_gives_mmcvs_shapes_and_start_indices():
    shapes, start = level_layout([(4, 5), (2, 3), (1, 1)], torch.device('cpu'))
    assert shapes.dtype == start.dtype == torch.long
    assert shapes.tolist() == [[4, 5], [2, 3], [1, 1]]
    assert start.tolist() == [0, 20, 26]
    shapes, start = level_layout([(7, 9)], torch.device('cpu'))  # one level: the ViT token grid
    assert shapes.tolist() == [[7, 9]] and start.tolist() == [0]
