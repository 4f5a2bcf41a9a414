"""Second-order channel attention (SOCA).

Dai, Cai, Zhang, Xia, Zhang, "Second-order Attention Network for Single Image Super-Resolution"
(SAN), CVPR 2019.

For a feature map x of shape (B, C, H, W), with X = x reshaped to (B, C, M), M = H·W:

    Σ = X Ī Xᵀ,  Ī = (1/M)(I − (1/M) 11ᵀ)       covariance of the channels,         (B, C, C)
    S = Σ^{1/2} ≈ √tr(Σ) · NS_N(Σ / tr(Σ))      Newton–Schulz square root, N steps,  (B, C, C)
    z_c = (1/C) Σ_i S_ic                        mean over the rows,                  (B, C)
    g = σ(W_up · ReLU(W_down · z + b_down) + b_up)                                   (B, C)
    y = x ⊙ g                                   g broadcast over H, W

with W_down ∈ R^{C/r × C}, W_up ∈ R^{C × C/r}, r = 16 and N = 5 in SAN. SAN places the module in
the residual groups of a super-resolution network; this course uses it as a channel gate in a
detection backbone. The matrix steps and their hand-derived backward passes live in ``_sqrtm.py``.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from einops import rearrange, reduce
from torch import nn

from ._sqrtm import CovariancePooling, NewtonSchulzSqrt, covariance, newton_schulz_sqrt
from ._validation import check_channels, check_feature_map, check_positive_int, reduced_channels

# torch.fx.symbolic_trace records each einops call as one node (its pattern needs real shapes).
torch.fx.wrap("rearrange")
torch.fx.wrap("reduce")

__all__ = ["SOCA", "CovariancePooling", "NewtonSchulzSqrt", "covariance", "newton_schulz_sqrt"]


def _second_order_descriptor(x: torch.Tensor, iterations: int, use_custom_autograd: bool):
    """Row mean of the Newton–Schulz square root of x's covariance, (B, C, 1, 1), in x's dtype.

    The matrix work runs in at least float32 and outside autocast (half precision loses the
    square root).
    """
    matrix_dtype = torch.promote_types(x.dtype, torch.float32)
    autocast_off = (torch.autocast(device_type=x.device.type, enabled=False)
                    if torch.amp.is_autocast_available(x.device.type) else nullcontext())
    with autocast_off:
        samples = rearrange(x.to(matrix_dtype), "b c h w -> b c (h w)")
        if use_custom_autograd:
            root = NewtonSchulzSqrt.apply(CovariancePooling.apply(samples), iterations)
        else:
            root = newton_schulz_sqrt(covariance(samples), iterations)
        z = reduce(root, "b i c -> b c 1 1", "mean")
    return z.to(x.dtype)


# dtype, device and autocast are known only at run time: one node in a torch.fx graph.
torch.fx.wrap("_second_order_descriptor")


class SOCA(nn.Module):
    """Second-order channel attention: ``y = x * σ(W_up ReLU(W_down z + b_down) + b_up)``,
    z the row mean of the (approximate) square root of the channel covariance.

    Args:
        channels: C, the channels of the input feature map.
        reduction: r, the bottleneck ratio; the hidden width is ``C // r`` (SAN: 16; the course's
            source blog uses 8).
        iterations: N, the Newton–Schulz steps (SAN: 5). Five steps are *not* an exact square root:
            on the covariance of random features ‖S² − Σ‖/‖Σ‖ grows with C and with the number
            of positions M (measured: about 0.01–0.03 at C = 12, 0.05–0.18 at C = 32 and
            0.05–0.41 at C = 64 for M = 16 … 4096), and ~10⁻⁷ needs 10 or more steps, more for
            rank-deficient Σ (M < C). SAN trains with the 5-step map, so this is the module's
            definition, not an error to fix.
        use_custom_autograd: differentiate the two matrix steps with the hand-written backward of
            ``CovariancePooling`` and ``NewtonSchulzSqrt`` (default), or with plain autograd through
            the same operations (``False``); both give the same values and gradients to rounding.

    Learnable parts:
        conv_down: ``nn.Conv2d(C, C // r, 1)``, weight (C//r, C, 1, 1), bias (C//r,)
        conv_up: ``nn.Conv2d(C // r, C, 1)``, weight (C, C//r, 1, 1), bias (C,)

    Numerics:
        * The covariance and the square root run in float32 at least, and with autocast switched
          off: a bfloat16 or float16 input is promoted to float32 for the matrix part (half-precision
          rounding would swamp the Newton–Schulz iteration), and the descriptor z is cast back to
          the input dtype before the two convolutions. float64 stays float64.
        * A 1×1 map has a zero covariance (trace 0). The square root divides by 1 instead of the
          zero trace there, so S = 0, z = 0 and the gate is σ(W_up ReLU(b_down) + b_up), with finite
          gradients; no eps touches a non-zero trace.

    Differences from SAN's official code (the paper's equations are the same):
        * SAN's code builds Ī as an M × M matrix; centring X gives the same Σ without it.
        * SAN's code crops a map taller or wider than 1000 pixels to its central 1000-pixel window
          before pooling; this module always pools the whole map.
        * SAN's code averages S over dim 1 (over the rows, one value per column) for the paper's
          global covariance pooling; S is symmetric up to rounding, so either axis gives the same
          z. This module follows the code.
    """

    def __init__(self, channels: int, *, reduction: int = 16, iterations: int = 5,
                 use_custom_autograd: bool = True):
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels(channels, module=name)
        hidden = reduced_channels(channels, reduction, module=name)
        self.reduction = reduction
        self.iterations = check_positive_int(iterations, name="iterations", module=name)
        self.use_custom_autograd = bool(use_custom_autograd)
        self.conv_down = nn.Conv2d(channels, hidden, kernel_size=1)
        self.conv_up = nn.Conv2d(hidden, channels, kernel_size=1)

    def descriptor(self, x: torch.Tensor) -> torch.Tensor:
        """z, the row mean of the square-root covariance, shape (B, C, 1, 1), in x's dtype."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        return _second_order_descriptor(x, self.iterations, self.use_custom_autograd)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The channel gate g, shape (B, C, 1, 1), values in (0, 1)."""
        return torch.sigmoid(self.conv_up(torch.relu(self.conv_down(self.descriptor(x)))))

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"channel": self.gate(x)}``, shape (B, C, 1, 1)."""
        return {"channel": self.gate(x)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, reduction={self.reduction}, "
                f"iterations={self.iterations}, use_custom_autograd={self.use_custom_autograd}")
