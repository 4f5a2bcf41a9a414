"""Criss-Cross Attention (CCA).

Huang et al., "CCNet: Criss-Cross Attention for Semantic Segmentation", ICCV 2019 (arXiv 1811.11721).

For x of shape (B, C, H, W), 1×1 convolutions give queries Q and keys K with C' = C / r channels
(r = 8) and values V with C channels. Pixel u = (h, w) attends to its criss-cross path: the H pixels
of its column and the W pixels of its row, H + W − 1 distinct positions, as the pixel itself lies on
both. The paper counts it once: the column branch masks the pixel itself with −∞, and ONE softmax runs
over all H + W scores.

    d_col[h, w, k] = Σ_c Q[c, h, w] K[c, k, w]      k = 1..H, with d_col[h, w, h] = −∞
    d_row[h, w, l] = Σ_c Q[c, h, w] K[c, h, l]      l = 1..W
    A[h, w, :]     = softmax([d_col[h, w, :], d_row[h, w, :]])              H + W weights
    y[c, h, w]     = γ · (Σ_k A[h, w, k] V[c, k, w] + Σ_l A[h, w, H + l] V[c, h, l]) + x[c, h, w]

γ is a learnable scalar initialised to 0, so the module is the identity at initialisation.

Paper and official code agree on the equations. The official pure-PyTorch version builds its −∞
diagonal as a float32 tensor with a hard-coded ``.cuda()``; here the mask is boolean, created on the
input's device, and filled into scores of the input's dtype, so CPU, float64, float16 and bfloat16
inputs all work.

Cost: every pixel compares with H + W − 1 others, O(HW(H + W)·C') for the scores, against the
O((HW)²·C') of a non-local block that compares every pair of pixels. One pass reaches only the
pixel's row and column; applying the module twice with shared weights (recurrent CCA, RCCA, R = 2)
lets information from every pixel reach every other pixel.

Nothing here depends on the batch size: the convolutions are sized by the channels only.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_channels, check_feature_map, check_positive_int, reduced_channels

__all__ = ["CrissCrossAttention"]


class CrissCrossAttention(nn.Module):
    """CCNet's criss-cross attention, optionally applied ``recurrence`` times with shared weights.

    Args:
        channels: C, the channels of the input feature map (the batch size plays no part here).
        reduction: r, queries and keys have C // r channels (at least 1 is required).
        recurrence: R, how many times the module is applied with the same weights (RCCA uses 2).

    Learnable parts, with C' = C // r:
        query: ``nn.Conv2d(C, C', 1)``, weight (C', C, 1, 1), bias (C',)
        key:   ``nn.Conv2d(C, C', 1)``, weight (C', C, 1, 1), bias (C',)
        value: ``nn.Conv2d(C, C, 1)``, weight (C, C, 1, 1), bias (C,)
        gamma: (1,), init 0
    """

    def __init__(self, channels: int, *, reduction: int = 8, recurrence: int = 1):
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels(channels, module=name)
        inner = reduced_channels(channels, reduction, module=name)
        self.reduction = reduction
        self.recurrence = check_positive_int(recurrence, name="recurrence", module=name)
        self.query = nn.Conv2d(channels, inner, kernel_size=1)
        self.key = nn.Conv2d(channels, inner, kernel_size=1)
        self.value = nn.Conv2d(channels, channels, kernel_size=1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def affinities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax weights A of one pass over x, shape (B, H, W, H + W).

        ``A[b, h, w, :H]`` weighs the column pixels (h', w), ``A[b, h, w, H:]`` the row pixels
        (h, w'); ``A[b, h, w, h]`` is exactly 0 because the pixel itself is counted in the row part.
        With ``recurrence > 1`` these are the weights of the first pass.
        """
        check_feature_map(x, self.channels, module=type(self).__name__)
        return self._attention(self.query(x), self.key(x))

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The first pass's weights, ``{"column", "row", "received"}``.

        ``column`` (B, H, W, H) and ``row`` (B, H, W, W) are indexed by the query pixel first:
        ``column[b, h, w]`` weighs the pixels (h', w) of its column, ``row[b, h, w]`` those (h, w')
        of its row (together they sum to 1). ``received`` (B, 1, H, W), which broadcasts against x,
        is the total weight each pixel receives from all the queries whose cross it lies on.
        """
        weights = self.affinities(x)
        height = x.shape[2]
        column, row = weights[..., :height], weights[..., height:]
        received = torch.einsum("bhwk->bkw", column) + torch.einsum("bhwl->bhl", row)
        return {"column": column, "row": row, "received": received.unsqueeze(1)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.channels, module=type(self).__name__)
        weight, bias = self._fused_projection()
        for _ in range(self.recurrence):
            x = self._single_pass(x, weight, bias)
        return x

    def _fused_projection(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Query, key and γ·value as one (2C' + C, C) matrix and one bias.

        The aggregation is linear in V, so γ · Σ A V = Σ A (γ V), and γ V is the value convolution
        with weight and bias scaled by γ: scaling the small matrix saves a pass over a (B, C, H, W)
        tensor forward and backward, and one matrix product reads x once instead of three times.
        Gradients reach ``query``, ``key``, ``value`` and ``gamma`` through the concatenation.
        """
        weight = torch.cat([self.query.weight, self.key.weight, self.value.weight * self.gamma])
        bias = torch.cat([self.query.bias, self.key.bias, self.value.bias * self.gamma])
        return weight.flatten(1), bias

    def _single_pass(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        inner = self.query.out_channels
        # All three 1×1 convolutions as one batched matrix product: (2C' + C, C) @ (C, HW) + bias.
        projected = torch.baddbmm(bias[None, :, None], weight.expand(batch, -1, -1), x.flatten(2))
        query, key, value = projected.view(batch, -1, height, width).split([inner, inner, channels], 1)
        weights = self._attention(query, key)
        col_weights, row_weights = weights.split([height, width], dim=-1)
        # Σ_k A[h, w, k] V[c, k, w] is, for each (b, w), the product (C × H) @ (H × H); the row
        # part, for each (b, h), is (C × W) @ (W × W). Written as two bmm on explicit layouts (one
        # copy of V each), which is faster on CPU than the general einsum path.
        value_by_column = value.permute(0, 3, 1, 2).reshape(batch * width, channels, height)
        value_by_row = value.permute(0, 2, 1, 3).reshape(batch * height, channels, width)
        col_weights = col_weights.permute(0, 2, 3, 1).reshape(batch * width, height, height)  # (b w, k, h)
        row_weights = row_weights.permute(0, 1, 3, 2).reshape(batch * height, width, width)  # (b h, l, w)
        from_column = torch.bmm(value_by_column, col_weights).view(batch, width, channels, height)
        from_row = torch.bmm(value_by_row, row_weights).view(batch, height, channels, width)
        # The two parts first, then x: one rounding at x's magnitude in low precision.
        return x + (from_column.permute(0, 2, 3, 1) + from_row.permute(0, 2, 1, 3))

    @staticmethod
    def _attention(query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        height = query.shape[2]
        col_scores = torch.einsum("bchw,bckw->bhwk", query, key)
        row_scores = torch.einsum("bchw,bchl->bhwl", query, key)
        itself = torch.eye(height, dtype=torch.bool, device=query.device).unsqueeze(1)  # (h, 1, k)
        col_scores = col_scores.masked_fill(itself, float("-inf"))
        return torch.softmax(torch.cat([col_scores, row_scores], dim=-1), dim=-1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, recurrence={self.recurrence}"
