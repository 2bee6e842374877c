"""TorchScript export of a segmentor's inference path (normalised input tensor -> logit map)."""
from typing import Tuple

import torch
from torch import nn


class LogitsExportWrapper(nn.Module):
    """``inputs (B x C x H x W, already normalised) -> B x out_channels x H x W logits``.

    The data preprocessing (BGR->RGB, normalisation, the edge prior) is not part of the graph: a
    deployment runs the test pipeline and ``FocusDataPreProcessor`` (or their equivalents) first.

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder`` (e.g. ``FocusSegmentor``).
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        shape = tuple(inputs.shape[-2:])
        metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
                 ] * inputs.shape[0]
        return self.segmentor.encode_decode(inputs, metas)


def export_torchscript(segmentor: nn.Module, input_shape: Tuple[int, int, int, int]) -> torch.jit.ScriptModule:
    """Trace the inference path at a fixed input shape.

    ``torch.export`` cannot be used: mmcv's deformable attention and the matcher-free inference path
    still branch on tensor values (shape assertions), which tracing records as constants for the traced
    shape. A traced module therefore serves exactly ``input_shape``; trace once per deployment size.

    Args:
        segmentor (nn.Module): The model, in eval mode.
        input_shape (tuple): ``(B, C, H, W)`` of the normalised input (C = 6 with the edge prior).

    Returns:
        torch.jit.ScriptModule: Call it with a tensor of ``input_shape``; save with ``.save(path)``.
    """
    wrapper = LogitsExportWrapper(segmentor.eval())
    example = torch.zeros(input_shape)
    with torch.no_grad():
        return torch.jit.trace(wrapper, (example, ), check_trace=False)
