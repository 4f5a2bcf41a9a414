"""S2-MLPv2 spatial-shift attention.

Yu, Li, Cai, Sun, Li, "S2-MLPv2: Improved Spatial-Shift MLP Architecture for Vision",
arXiv 2108.01072 (2021). The spatial shift comes from S2-MLP (Yu et al., WACV 2022, arXiv 2106.07477).

For x of shape (B, C, H, W), every pixel's channel vector goes through

    [x1, x2, x3] = MLP1(x)                   Linear C → 3C, split into three C-channel parts
    x1 ← shift1(x1),  x2 ← shift2(x2),  x3 kept
    a        = Σ_k Σ_{h,w} x_k                                              (B, C)
    â        = W2 · GELU(W1 · a),  W1 ∈ R^{C × C}, W2 ∈ R^{3C × C}, no bias   (B, 3C) = (B, 3, C)
    ā_k      = exp(â_k) / Σ_j exp(â_j)       softmax across the three parts, per channel
    y        = MLP2(Σ_k ā_k ⊙ x_k)           Linear C → C

The 3C outputs of MLP1 and of W2 are read as (part, channel), part outermost: part k is channels
k·C … (k+1)·C − 1.

The shifts move four channel quarters one step each, out of place; the row or column a shift vacates
keeps its own values (S2-MLP's code clones the tensor, then shifts):

    quarter       1          2          3          4
    shift1       +1 on W    −1 on W    +1 on H    −1 on H
    shift2       +1 on H    −1 on H    +1 on W    −1 on W

"+1 on W" means ``y[..., w] = x[..., w − 1]`` for w ≥ 1 and ``y[..., 0] = x[..., 0]``. The papers'
pseudocode writes the shifts as in-place assignments between overlapping slices of one tensor; in
PyTorch that can read values it has already overwritten and smear one row or column along the map,
so the shifts here are built from slices and ``torch.cat``. The pseudocode also cuts the quarters
at C/4, C/2, 3C/4, which only exist for C divisible by 4; here ``torch.tensor_split`` cuts four
near-equal chunks for any C (the first C mod 4 chunks get one channel more), which is the paper's
cut whenever C is divisible by 4. The pseudocode names its spatial axes (w, h); this module uses
PyTorch's (H, W) order with the directions in the table above.
"""

from __future__ import annotations

import torch
from einops import rearrange, reduce
from torch import nn

from ._validation import check_channels, check_feature_map

# torch.fx.symbolic_trace records each einops call as one node (its pattern needs real shapes).
torch.fx.wrap("rearrange")
torch.fx.wrap("reduce")

__all__ = ["S2Attention", "spatial_shift_1", "spatial_shift_2"]

_H, _W = 2, 3   # spatial axes of a (B, C, H, W) tensor


def _shift(t: torch.Tensor, axis: int, step: int) -> torch.Tensor:
    """Move ``t`` one position along ``axis`` (step +1 or −1), out of place; the vacated border
    row or column keeps its original values. A size-1 axis is returned unchanged."""
    size = t.shape[axis]
    if step > 0:   # y[i] = t[i − 1] for i ≥ 1, y[0] = t[0]
        return torch.cat([t.narrow(axis, 0, 1), t.narrow(axis, 0, size - 1)], dim=axis)
    # y[i] = t[i + 1] for i ≤ size − 2, y[size − 1] = t[size − 1]
    return torch.cat([t.narrow(axis, 1, size - 1), t.narrow(axis, size - 1, 1)], dim=axis)


def _shift_quarters(x: torch.Tensor, moves: list[tuple[int, int]]) -> torch.Tensor:
    quarters = torch.tensor_split(x, 4, dim=1)
    return torch.cat([_shift(q, axis, step) for q, (axis, step) in zip(quarters, moves)], dim=1)


def spatial_shift_1(x: torch.Tensor) -> torch.Tensor:
    """S2-MLPv2's first shift of a (B, C, H, W) map: quarters move +W, −W, +H, −H."""
    return _shift_quarters(x, [(_W, +1), (_W, -1), (_H, +1), (_H, -1)])


def spatial_shift_2(x: torch.Tensor) -> torch.Tensor:
    """S2-MLPv2's second shift of a (B, C, H, W) map: quarters move +H, −H, +W, −W."""
    return _shift_quarters(x, [(_H, +1), (_H, -1), (_W, +1), (_W, -1)])


# Each shift splits C into quarters of data-dependent sizes: one node in a torch.fx graph.
torch.fx.wrap("spatial_shift_1")
torch.fx.wrap("spatial_shift_2")


class S2Attention(nn.Module):
    """S2-MLPv2's spatial-shift block with split attention over the three shifted parts.

    Args:
        channels: C, the channels of the input feature map; any positive count works, and the
            split attention is as wide as C.

    Learnable parts (``nn.Linear`` over each pixel's channel vector):
        mlp1:     ``nn.Linear(C, 3C)``, weight (3C, C), bias (3C,)
        attn_fc1: ``nn.Linear(C, C, bias=False)``, weight (C, C)
        attn_fc2: ``nn.Linear(C, 3C, bias=False)``, weight (3C, C)
        mlp2:     ``nn.Linear(C, C)``, weight (C, C), bias (C,)

    In total 8C² + 4C parameters.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = check_channels(channels, module=type(self).__name__)
        self.mlp1 = nn.Linear(channels, 3 * channels)
        self.attn_fc1 = nn.Linear(channels, channels, bias=False)
        self.attn_fc2 = nn.Linear(channels, 3 * channels, bias=False)
        self.mlp2 = nn.Linear(channels, channels)

    def split_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The softmax weights ā, shape (B, 3, C); they sum to 1 across the three parts."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        return self._split_attention(self._parts(x))

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The split weights as ``{"shift1": ā_1, "shift2": ā_2, "unshifted": ā_3}``, each
        (B, C, 1, 1): the weight of the part shifted by ``spatial_shift_1``, by
        ``spatial_shift_2``, and of the unshifted part; they sum to 1."""
        weights = rearrange(self.split_weights(x), "b k c -> k b c 1 1")
        return {"shift1": weights[0], "shift2": weights[1], "unshifted": weights[2]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.channels, module=type(self).__name__)
        parts = self._parts(x)
        weights = rearrange(self._split_attention(parts), "b k c -> b k c 1 1")
        mixed = reduce(weights * parts, "b k c h w -> b h w c", "sum")
        return rearrange(self.mlp2(mixed), "b h w c -> b c h w")

    def _parts(self, x: torch.Tensor) -> torch.Tensor:
        """MLP1, split into three parts, shift the first two: (B, 3, C, H, W)."""
        expanded = self.mlp1(rearrange(x, "b c h w -> b h w c"))
        split = rearrange(expanded, "b h w (k c) -> k b c h w", k=3)
        x1, x2, x3 = split[0], split[1], split[2]
        return torch.stack([spatial_shift_1(x1), spatial_shift_2(x2), x3], dim=1)

    def _split_attention(self, parts: torch.Tensor) -> torch.Tensor:
        a = reduce(parts, "b k c h w -> b c", "sum")
        a_hat = self.attn_fc2(nn.functional.gelu(self.attn_fc1(a)))
        return torch.softmax(rearrange(a_hat, "b (k c) -> b k c", k=3), dim=1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"
