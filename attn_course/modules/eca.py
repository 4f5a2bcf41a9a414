"""Efficient Channel Attention (ECA).

Wang, Wu, Zhu, Li, Zuo, Hu, "ECA-Net: Efficient Channel Attention for Deep Convolutional Neural
Networks", CVPR 2020 (arXiv 1910.03151).

ECA keeps SE's squeeze but replaces its bottleneck MLP by a 1-D convolution across the channel axis,
so each channel's gate depends on its k neighbours only. For a feature map x of shape (B, C, H, W):

    z = GAP(x)                                           (B, C)
    s_c = σ( Σ_{j=0}^{k-1} w_j · z_{c + j - k//2} )      z zero-padded at both ends of the channels
    y = x ⊙ s                                            s broadcast over H, W

with k weights and no bias. The paper chooses k from the channel count,

    k = ψ(C) = | log2(C)/γ + b/γ |_odd,    γ = 2, b = 1,

where |t|_odd is an odd number next to t. The official ECANet code never computes it: its training
script takes a fixed ``--ksize`` per stage (such as 3557). The integer recipe used here is timm's
(``timm.layers.eca``): t = int(|(log2 C + b)/γ|), plus 1 when t is even; ``eca_kernel_size`` does
the same: C = 64 → 3; C = 128 … 1024 → 5; 2048 → 7.

Paper vs official code: the released ECA-ResNet-50 checkpoint does not use the formula; it sets
k = 3, 5, 5, 7 for its four stages (+80 parameters over ResNet-50), whereas the formula applied to
the blocks' output channels 256/512/1024/2048 gives 5, 5, 5, 7 (+86). Pass ``kernel_size`` to
reproduce the checkpoint.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._pooling import spatial_mean
from ._validation import check_channels, check_feature_map, check_positive_int

__all__ = ["ECABlock", "eca_kernel_size"]


def eca_kernel_size(channels: int, gamma: float = 2, b: float = 1) -> int:
    """The adaptive kernel size ψ(C): t = int(|(log2 C + b) / γ|), then t if t is odd else t + 1."""
    check_channels(channels, module="eca_kernel_size")
    if not gamma > 0:
        raise ValueError(f"eca_kernel_size: gamma must be positive (for example 2), got {gamma!r}.")
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


class ECABlock(nn.Module):
    """Efficient Channel Attention: ``y = x * σ(conv1d_k(GAP(x)))`` with the conv across channels.

    Args:
        channels: C, the channels of the input feature map.
        kernel_size: k, odd and positive; ``None`` (default) picks ``eca_kernel_size(C, gamma, b)``.
        gamma, b: the constants of the adaptive formula (γ = 2, b = 1 in the paper); unused when
            ``kernel_size`` is given.

    Attributes:
        kernel_size: the k in use (given or computed).

    Learnable parts:
        conv: ``nn.Conv1d(1, 1, k, padding=k // 2, bias=False)``, weight (1, 1, k): k parameters.
    """

    def __init__(self, channels: int, *, kernel_size: int | None = None, gamma: float = 2,
                 b: float = 1):
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels(channels, module=name)
        if kernel_size is None:
            kernel_size = eca_kernel_size(channels, gamma, b)
        check_positive_int(kernel_size, name="kernel_size", module=name)
        if kernel_size % 2 == 0:
            raise ValueError(f"{name}: kernel_size must be odd so the conv keeps the channel "
                             f"count, got {kernel_size}; use {kernel_size - 1} or "
                             f"{kernel_size + 1}.")
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The channel gate s, shape (B, C, 1, 1), values in (0, 1)."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        z = spatial_mean(x).view(-1, 1, self.channels)   # (B, 1, C): channels are the signal
        return torch.sigmoid(self.conv(z).view(-1, self.channels, 1, 1))      # (B, C, 1, 1)

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"channel": self.gate(x)}``, shape (B, C, 1, 1)."""
        return {"channel": self.gate(x)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, kernel_size={self.kernel_size}"
