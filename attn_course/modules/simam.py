"""SimAM: a simple, parameter-free attention module.

Yang, Zhang, Li, Xie, "SimAM: A Simple, Parameter-Free Attention Module for Convolutional Neural
Networks", ICML 2021.

Each neuron t of a channel gets an energy that measures how well a linear separator tells it apart
from the channel's other neurons. With λ a regulariser, the minimal energy has the closed form

    e_t* = 4(σ² + λ) / ((t − μ)² + 2σ² + 2λ),

where μ and σ² are the channel's mean and variance. A low energy means a distinctive neuron, so the
importance is 1 / e_t*, which simplifies to

    1 / e_t* = (t − μ)² / (4(σ² + λ)) + 1/2,

and the module refines the features with a full 3-D gate (one value per neuron):

    y = x ⊙ σ(1 / E*),      μ = (1/M) Σ x,   σ² = (1/n) Σ (x − μ)²,   n = M − 1,   M = H·W,

per sample and channel, with λ = 1e-4. There are no learnable parameters.

Paper vs official code: the derivation estimates μ and σ² over the M − 1 neurons other than t; the
paper then assumes one distribution per channel and computes them once over the whole channel. The
official code uses the channel mean and divides the sum of squares by n = H·W − 1, as here.

A 1×1 map (M = 1) makes n = 0, and the code's 0 / 0 gives NaN. Here the divisor is max(n, 1): with
one pixel (t − μ)² = 0 and the sum of squares is 0, so σ² = 0 and the gate is σ(1/2) ≈ 0.622, the
value any neuron equal to its channel mean gets.
"""

from __future__ import annotations

import torch
from torch import nn

from .._arguments import number_in_range

from ._pooling import spatial_mean
from ._validation import check_channels, check_feature_map

__all__ = ["SimAM"]


def _other_neurons(x: torch.Tensor) -> int:
    """n = H·W − 1, the neurons of a channel besides the one scored; 1 for a 1×1 map, where
    (x − μ)² is 0 and the gate is σ(0.5) whatever n is (the official code divides 0 by 0 there)."""
    return max(x.shape[2] * x.shape[3] - 1, 1)


torch.fx.wrap("_other_neurons")  # a torch.fx graph computes n from the real shape at run time


class SimAM(nn.Module):
    """SimAM: ``y = x * σ((x − μ)² / (4(σ² + λ)) + 0.5)``, μ and σ² per sample and channel.

    Args:
        channels: C, the channels of the input; SimAM has no parameters, C is used to check inputs.
        e_lambda: λ > 0, the energy's regulariser (1e-4 in the paper); it also keeps a constant
            channel (σ² = 0) finite.

    Learnable parts: none.
    """

    def __init__(self, channels: int, *, e_lambda: float = 1e-4):
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels(channels, module=name)
        self.e_lambda = number_in_range(e_lambda, name="e_lambda", where=name, low=0, low_open=True,
                                        hint=" (the paper uses 1e-4)")

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The 3-D gate σ(1/E*), shape (B, C, H, W), values in [σ(0.5), 1)."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        n = _other_neurons(x)
        d = (x - spatial_mean(x)).square()                                      # (x − μ)²
        # 1 / (4(σ² + λ)) with σ² = Σ d / n, as 1 / (Σ d · 4/n + 4λ): one operation fewer.
        inverse = torch.reciprocal(d.sum(dim=(2, 3), keepdim=True) * (4 / n) + 4 * self.e_lambda)
        # 0.5 + d · inverse in one fused op: a quarter faster than a division and an addition.
        return torch.sigmoid(torch.addcmul(inverse.new_full((), 0.5), d, inverse))

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"full": self.gate(x)}``, shape (B, C, H, W)."""
        return {"full": self.gate(x)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, e_lambda={self.e_lambda}"
