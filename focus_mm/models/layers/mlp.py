"""A plain multi-layer perceptron (the mask and box heads of the ground-query decoder)."""
import torch
from torch import nn


class MLP(nn.Module):
    """``num_layers`` linear layers with ReLU between them (none after the last).

    Args:
        in_channels (int): Input width. hidden_channels (int): Width of the hidden layers.
        out_channels (int): Output width. num_layers (int): Number of linear layers (>= 1).
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int):
        super().__init__()
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layers to the last dimension of ``x``."""
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = x.relu()
        return x
