"""Convolutional Block Attention Module (CBAM): a channel gate, then a spatial gate.

Woo, Park, Lee, Kweon, "CBAM: Convolutional Block Attention Module", ECCV 2018 (arXiv 1807.06521).

For a feature map x of shape (B, C, H, W):

    channel:  M_c(x) = σ( MLP(AvgPool(x)) + MLP(MaxPool(x)) )            (B, C, 1, 1)
              MLP(v) = W2 · ReLU(W1 · v + b1) + b2,  one MLP shared by both pooled vectors, r = 16
    spatial:  M_s(x) = σ( BN( conv_7×7( [MaxPool_c(x); AvgPool_c(x)] ) ) )  (B, 1, H, W)
              the two descriptors are the max and the mean over the channel axis at each pixel
    CBAM:     x' = x ⊙ M_c(x),   y = x' ⊙ M_s(x')                          channel first

Paper vs official code (Jongchan/attention-module):

* the paper stacks [AvgPool; MaxPool] for the spatial gate, the code stacks max first
  (``pool_order="max_avg"``, the default here; ``"avg_max"`` gives the paper's order);
* the paper's spatial gate is σ(conv(·)); the code puts ``BatchNorm2d(1, momentum=0.01)`` between
  the conv and σ (``batchnorm=True``, the default here);
* the code's MLP layers have biases (the CBAM-ResNet-50 count, 28,089,624, includes them).

Unlike the stand-alone gates of some public copies, ``ChannelAttention`` and ``SpatialAttention``
return the refined features ``x * gate``; read the gate itself through ``gate(x)``.
"""

from __future__ import annotations

import torch
from torch import nn

from ._pooling import channel_max, channel_mean, spatial_max, spatial_mean
from ._validation import check_channels, check_feature_map, check_positive_int, reduced_channels

__all__ = ["ChannelAttention", "SpatialAttention", "CBAM"]

POOL_ORDERS = ("max_avg", "avg_max")


class ChannelAttention(nn.Module):
    """CBAM's channel gate: ``y = x * σ(MLP(avg(x)) + MLP(max(x)))``, one MLP for both.

    Args:
        channels: C, the channels of the input feature map.
        reduction: r, the bottleneck ratio; the hidden width is ``C // r``.
        bias: give both MLP layers a bias, as the official code does.

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

    def _mlp(self, v: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(v)))

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The channel gate M_c(x), shape (B, C, 1, 1), values in (0, 1)."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        avg = spatial_mean(x)
        peak = spatial_max(x)           # amax, or max with indices when x needs a gradient
        return torch.sigmoid(self._mlp(avg) + self._mlp(peak))

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"channel": self.gate(x)}``, shape (B, C, 1, 1)."""
        return {"channel": self.gate(x)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}"


class SpatialAttention(nn.Module):
    """CBAM's spatial gate: ``y = x * σ(BN(conv_k×k([max_c x; mean_c x])))``.

    Args:
        channels: C, the channels of the input; the gate has no per-channel part, C is only used
            to check the input.
        kernel_size: k, odd and positive (7 in the paper); padding k // 2 keeps H and W.
        batchnorm: put ``BatchNorm2d(1)`` after the conv, as the official code does (the paper's
            equation has none).
        pool_order: ``"max_avg"`` stacks the channel-wise max first (official code), ``"avg_max"``
            the mean first (paper's text). The order decides which conv weights meet which map.

    Learnable parts:
        conv: ``nn.Conv2d(2, 1, k, padding=k // 2, bias=False)``, weight (1, 2, k, k), 2k²
            parameters; input channel 0 is the first descriptor of ``pool_order``.
        bn (only when ``batchnorm=True``): ``nn.BatchNorm2d(1, momentum=0.01)``, weight (1,),
            bias (1,)
    """

    def __init__(self, channels: int, *, kernel_size: int = 7, batchnorm: bool = True,
                 pool_order: str = "max_avg"):
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels(channels, module=name)
        check_positive_int(kernel_size, name="kernel_size", module=name)
        if kernel_size % 2 == 0:
            raise ValueError(f"{name}: kernel_size must be odd so the conv keeps H and W, "
                             f"got {kernel_size}; use {kernel_size - 1} or {kernel_size + 1}.")
        if pool_order not in POOL_ORDERS:
            raise ValueError(f"{name}: pool_order must be one of {POOL_ORDERS} ('max_avg' is the "
                             f"official code, 'avg_max' the paper's text), got {pool_order!r}.")
        self.kernel_size = kernel_size
        self.pool_order = pool_order
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(1, momentum=0.01) if batchnorm else None

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The spatial gate M_s(x), shape (B, 1, H, W), values in (0, 1)."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        peak = channel_max(x)           # amax, or max with indices when x needs a gradient
        avg = channel_mean(x)
        pair = (peak, avg) if self.pool_order == "max_avg" else (avg, peak)
        s = self.conv(torch.cat(pair, dim=1))
        if self.bn is not None:
            s = self.bn(s)
        return torch.sigmoid(s)

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"spatial": self.gate(x)}``, shape (B, 1, H, W)."""
        return {"spatial": self.gate(x)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, kernel_size={self.kernel_size}, "
                f"pool_order={self.pool_order!r}")


class CBAM(nn.Module):
    """CBAM: ``y = spatial(channel(x))``, each part returning its input times its gate.

    Args:
        channels: C, the channels of the input feature map.
        reduction, bias: the channel gate's options (see ``ChannelAttention``).
        kernel_size, pool_order: the spatial gate's options (see ``SpatialAttention``).
        spatial_batchnorm: the spatial gate's ``batchnorm`` option.

    Learnable parts:
        channel: ``ChannelAttention`` — channel.fc1, channel.fc2 (2C²/r + C/r + C with bias)
        spatial: ``SpatialAttention`` — spatial.conv (2k²), spatial.bn (2)

    The gates are ``channel.gate(x)`` and ``spatial.gate(channel(x))``.
    """

    def __init__(self, channels: int, *, reduction: int = 16, kernel_size: int = 7,
                 spatial_batchnorm: bool = True, pool_order: str = "max_avg", bias: bool = True):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction=reduction, bias=bias)
        self.spatial = SpatialAttention(channels, kernel_size=kernel_size,
                                        batchnorm=spatial_batchnorm, pool_order=pool_order)

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"channel": (B, C, 1, 1), "spatial": (B, 1, H, W)}``: the channel gate of x and the
        spatial gate of the channel-refined map, the two factors of ``forward``."""
        channel = self.channel.gate(x)
        return {"channel": channel, "spatial": self.spatial.gate(x * channel)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))
