"""Shuffle Attention (SA).

Zhang & Yang, "SA-Net: Shuffle Attention for Deep Convolutional Neural Networks", ICASSP 2021
(arXiv 2102.00240).

The C channels of x (B, C, H, W) are split into G groups of C/G channels, and every group into two
halves of c = C/(2G) channels, x_k1 (channel branch) and x_k2 (spatial branch). With w1, b1, w2, b2
of shape (c,) shared by all groups:

    x_k1' = x_k1 ⊙ σ(w1 · GAP(x_k1) + b1)                 channel gate, one value per channel
    x_k2' = x_k2 ⊙ σ(w2 · GN(x_k2) + b2)                  spatial gate, one value per position

GN is a GroupNorm with one group per channel (an InstanceNorm with its own affine scale and shift).
The halves are concatenated back into their groups, and the result is channel-shuffled with 2 groups
so that information crosses between the channel and the spatial halves in the next layer:

    y = channel_shuffle(concat_k [x_k1', x_k2'], 2)

Parameters: w1, b1, w2, b2 and GN's affine scale and shift, c each: 6·C/(2G) per module. That gives
+708 parameters in a ResNet-50 with G = 64, which is what the official code builds; the paper's
abstract speaks of "300 parameters", which its own code does not give.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ._pooling import spatial_mean
from ._validation import check_channels, check_divisible, check_feature_map, check_positive_int

# torch.fx.symbolic_trace records each einops call as one node (its pattern needs real shapes).
torch.fx.wrap("rearrange")

__all__ = ["ShuffleAttention", "channel_shuffle"]


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet's channel shuffle).

    Channel ``g * n + j`` of the input (group g of ``groups``, index j inside its group of n) moves
    to channel ``j * groups + g``; with 2 groups, [a0 a1 a2 b0 b1 b2] becomes [a0 b0 a1 b1 a2 b2].
    """
    return rearrange(x, "b (g n) h w -> b (n g) h w", g=groups)


def _normalise_each_channel(x: torch.Tensor, eps: float) -> torch.Tensor:
    """(x − μ)/√(σ² + ε) per sample and channel (GroupNorm with one group per channel, no affine).

    A 1×1 map gives 0 (x − μ is 0 there; ``group_norm`` refuses a single value).
    """
    if x.shape[2] * x.shape[3] > 1:
        return F.group_norm(x, x.shape[1], eps=eps)
    return torch.zeros_like(x)


torch.fx.wrap("_normalise_each_channel")  # its branch on H·W is one node in a torch.fx graph


def _check_groups_fit(channels: int, groups: int, *, module: str) -> None:
    """Raise ``ValueError`` unless C splits into ``groups`` groups of two equal halves."""
    try:
        check_divisible(channels, 2 * groups, module=module,
                        why=f"2·groups = 2·{groups}: every one of the {groups} groups splits into two "
                            "equal halves")
    except ValueError as error:
        if channels % 2:
            hint = "No groups value works for an odd channel count."
        else:
            working = [g for g in range(1, channels // 2 + 1) if (channels // 2) % g == 0]
            nearest = min(working, key=lambda g: (abs(g - groups), g))
            hint = f"For channels={channels}, groups={nearest} would work."
        raise ValueError(f"{error} {hint}") from None


class GroupNormParameters(nn.Module):
    """The parameters of ``nn.GroupNorm(c, c)`` (weight and bias, init 1 and 0, and eps), without
    its forward: ``ShuffleAttention`` applies them inside its fused gate."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        raise RuntimeError("ShuffleAttention's gn holds GroupNorm's parameters; the normalisation "
                           "runs fused inside ShuffleAttention.gate(x), not here.")

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}, fused into ShuffleAttention.gate"


class ShuffleAttention(nn.Module):
    """SA-Net's Shuffle Attention: grouped channel and spatial gates, then a channel shuffle.

    Args:
        channels: C, the channels of the input feature map; C must be divisible by 2·groups.
        groups: G, the number of channel groups (64 in the paper's ResNets).

    Learnable parts, with c = C / (2G) and shared by all G groups:
        cweight: (1, c, 1, 1), init 0, scale of the channel gate's pooled descriptor
        cbias:   (1, c, 1, 1), init 1, shift of the channel gate
        sweight: (1, c, 1, 1), init 0, scale of the spatial gate's normalised map
        sbias:   (1, c, 1, 1), init 1, shift of the spatial gate
        gn:      ``GroupNormParameters(c)``: the affine weight (c,) and bias (c,) and the eps of
                 the paper's ``nn.GroupNorm(c, c)`` (one group per channel), under the same names
                 so official checkpoints load. The normalisation itself runs fused into the gate
                 (see ``_gate_coefficients``), so ``gn`` is not a module that runs: hook
                 ``ShuffleAttention`` itself (or read ``gate(x)``) to see what it computes.

    In total 6·c parameters. At initialisation every gate is σ(1) ≈ 0.731.
    The batch size plays no part in any of these shapes.
    """

    def __init__(self, channels: int, *, groups: int = 64):
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels(channels, module=name)
        self.groups = check_positive_int(groups, name="groups", module=name)
        _check_groups_fit(channels, groups, module=name)
        half = channels // (2 * groups)
        self.cweight = nn.Parameter(torch.zeros(1, half, 1, 1))
        self.cbias = nn.Parameter(torch.ones(1, half, 1, 1))
        self.sweight = nn.Parameter(torch.zeros(1, half, 1, 1))
        self.sbias = nn.Parameter(torch.ones(1, half, 1, 1))
        self.gn = GroupNormParameters(half)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The gate, shape (B, C, H, W), values in (0, 1), in the input's channel order.

        ``forward(x) == channel_shuffle(x * gate(x), 2)``. The channel-branch half of every group
        is constant over H and W; the spatial-branch half varies with position.
        """
        check_feature_map(x, self.channels, module=type(self).__name__)
        normalised = _normalise_each_channel(x, self.gn.eps)
        scale, shift = self._gate_coefficients(spatial_mean(x))
        return torch.sigmoid(torch.addcmul(shift, scale, normalised))

    def _gate_coefficients(self, mean: torch.Tensor):
        """Both gates as one affine map of the normalised x̂ = (x − μ)/√(σ² + ε): σ(a·x̂ + b).

        Channel half:  a = 0,        b = w1·μ + b1        (μ = GAP(x), per sample and channel)
        Spatial half:  a = w2·γ,     b = w2·β + b2        (γ, β, ε: ``gn``'s affine scale, shift, eps)

        which is σ(w2·GN(x) + b2) for the spatial half, GN with one group per channel. One
        normalisation of all channels and one fused gate replace the per-group split, GroupNorm
        call and concatenation: ``torch.compile`` fuses the whole gate into a pass or two over x.
        ``gn`` keeps GroupNorm's parameter names, so official checkpoints load as they are.
        """
        mean_c = rearrange(mean, "b (g two c) 1 1 -> two b g c", g=self.groups, two=2)[0]
        w1, b1, w2, b2 = (rearrange(p, "1 c 1 1 -> c") for p in
                          (self.cweight, self.cbias, self.sweight, self.sbias))
        scale_s = (w2 * self.gn.weight).expand_as(mean_c)
        shift_s = (w2 * self.gn.bias + b2).expand_as(mean_c)
        scale = torch.stack([torch.zeros_like(scale_s), scale_s])
        shift = torch.stack([w1 * mean_c + b1, shift_s])
        pattern = "two b g c -> b (g two c) 1 1"
        return rearrange(scale, pattern), rearrange(shift, pattern)

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"full": self.gate(x)}``, shape (B, C, H, W), in the input's channel order."""
        return {"full": self.gate(x)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x * self.gate(x), 2)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, groups={self.groups}"
