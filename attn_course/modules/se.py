"""Squeeze-and-Excitation (SE).

Hu, Shen, Sun, "Squeeze-and-Excitation Networks", CVPR 2018 (arXiv 1709.01507).

For a feature map x of shape (B, C, H, W):

    z = GAP(x) = 1/(HW) Σ_{h,w} x[:, :, h, w]            squeeze,      (B, C)
    s = σ(W2 · ReLU(W1 · z + b1) + b2)                   excitation,   (B, C)
    y = x ⊙ s                                            scale, s broadcast over H, W

with W1 ∈ R^{C/r × C}, W2 ∈ R^{C × C/r} and reduction ratio r = 16.
"""

from __future__ import annotations

import torch
from torch import nn

from ._pooling import spatial_mean
from ._validation import check_channels, check_feature_map, reduced_channels

__all__ = ["SEBlock"]


class SEBlock(nn.Module):
    """Squeeze-and-Excitation channel gate: ``y = x * σ(W2 ReLU(W1 GAP(x) + b1) + b2)``.

    Args:
        channels: C, the channels of the input feature map.
        reduction: r, the bottleneck ratio; the hidden width is ``C // r`` (at least 1 unit).
        bias: give both excitation layers a bias, as the official SE-ResNet-50 does
            (28,088,024 parameters); ``bias=False`` matches the SE paper's formula 2C²/r per block
            (28,071,976 in a ResNet-50).

    Learnable parts:
        fc1: ``nn.Conv2d(C, C // r, 1)``, weight (C//r, C, 1, 1), bias (C//r,)
        fc2: ``nn.Conv2d(C // r, C, 1)``, weight (C, C//r, 1, 1), bias (C,)
    """

    def __init__(self, channels: int, *, reduction: int = 16, bias: bool = True):
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels(channels, module=name)
        hidden = reduced_channels(channels, reduction, module=name)
        self.reduction = reduction
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1, bias=bias)
        self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1, bias=bias)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The excitation s, shape (B, C, 1, 1), values in (0, 1)."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        z = spatial_mean(x)                                                # (B, C, 1, 1)
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"channel": self.gate(x)}``, shape (B, C, 1, 1)."""
        return {"channel": self.gate(x)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}"
