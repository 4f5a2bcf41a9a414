"""Normalization-based Attention Module (NAM), channel branch.

Liu et al., "NAM: Normalization-based Attention Module", arXiv 2111.12419, 2021.

BatchNorm's scale factors γ say how much each channel varies after normalisation; NAM reads them as
channel importances. For a feature map x of shape (B, C, H, W):

    BN(x)_c = γ_c · (x_c − μ_c) / sqrt(σ_c² + ε) + β_c          an affine BatchNorm2d(C)
    w_c     = |γ_c| / Σ_j |γ_j|                                  weights summing to 1
    y       = x ⊙ σ( w ⊙ BN(x) )                                 w broadcast over B, H, W

At initialisation γ = 1, so w = 1/C and every gate is close to σ(0) = 0.5. The paper trains with a
sparsity penalty p · Σ|γ| on these scale factors (``nam_sparsity_penalty``, p = 1e-4).

Paper vs official code:

* the paper writes w_c = γ_c / Σ_j γ_j; the code takes absolute values, as here;
* the code computes w from ``bn.weight.data``, so no gradient flows through w (γ still learns
  through BN(x) and the penalty); this module detaches w the same way. The forward values are the
  same either way;
* the paper also describes a pixel (spatial) branch; the official code's first upload had one (a
  BatchNorm1d over the positions of a fixed-size map), removed four days later, and its
  ``no_spatial`` argument is now ignored; this
  module is the channel branch only.

If every γ is 0 the code's w is 0 / 0 = NaN; here the sum is clamped to the dtype's smallest normal
number, so w = 0 and every gate is exactly 0.5.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from .._arguments import number_in_range

from ._validation import check_channels, check_feature_map

# torch.fx.symbolic_trace records each einops call as one node (its pattern needs real shapes).
torch.fx.wrap("rearrange")

__all__ = ["NAMAttention", "nam_sparsity_penalty"]


def _shares(magnitude: torch.Tensor) -> torch.Tensor:
    """magnitude / Σ magnitude, with all-zero magnitudes giving zeros instead of 0/0."""
    return magnitude / magnitude.sum().clamp_min(torch.finfo(magnitude.dtype).tiny)


torch.fx.wrap("_shares")  # torch.finfo needs the real dtype: one node in a torch.fx graph


class NAMAttention(nn.Module):
    """NAM channel attention: ``y = x * σ(w ⊙ BN(x))`` with ``w = |γ| / Σ|γ|`` (w detached).

    Args:
        channels: C, the channels of the input feature map.

    Learnable parts:
        bn: ``nn.BatchNorm2d(C, affine=True)``, weight γ (C,), bias β (C,): 2C parameters (plus the
            running mean and variance buffers). In train mode BN uses the batch's statistics.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = check_channels(channels, module=type(self).__name__)
        self.bn = nn.BatchNorm2d(channels, affine=True)

    def channel_weights(self) -> torch.Tensor:
        """w = |γ| / Σ|γ|, shape (C,), detached as in the official code."""
        return _shares(self.bn.weight.detach().abs())

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The gate σ(w ⊙ BN(x)), shape (B, C, H, W), values in (0, 1)."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        w = rearrange(self.channel_weights(), "c -> c 1 1")
        return torch.sigmoid(w * self.bn(x))

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"full": self.gate(x)}``, shape (B, C, H, W)."""
        return {"full": self.gate(x)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


def nam_sparsity_penalty(module_or_model: nn.Module, weight: float = 1e-4) -> torch.Tensor:
    """The paper's regulariser p · Σ|γ| over the BatchNorm scale factors of every ``NAMAttention``.

    Add it to the task loss: ``loss = criterion(out, y) + nam_sparsity_penalty(model)``. With no
    NAM module inside, the penalty is a 0-dimensional zero (it adds to a loss on any device).
    """
    weight = number_in_range(weight, name="weight", where="nam_sparsity_penalty", low=0,
                             hint=" (the paper uses 1e-4)")
    sums = [m.bn.weight.abs().sum() for m in module_or_model.modules()
            if isinstance(m, NAMAttention)]
    if not sums:
        return torch.zeros(())
    return weight * torch.stack(sums).sum()
