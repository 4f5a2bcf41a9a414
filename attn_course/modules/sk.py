"""Selective Kernel (SK) convolution.

Li, Wang, Hu, Yang, "Selective Kernel Networks", CVPR 2019 (arXiv 1903.06586).

For x of shape (B, C, H, W) and M branches (M = 2 in the paper):

    U_i = ReLU(BN_i(Conv_i(x)))              split: branch i is a grouped 3×3 conv with dilation i + 1
    U   = Σ_i U_i                            fuse
    s   = GAP(U)                                                           (B, C)
    z   = ReLU(BN(W s)),  W ∈ R^{d × C},  d = max(C / r, L)                (B, d)
    a_i = exp(A_i z) / Σ_j exp(A_j z),  A_i ∈ R^{C × d}                    (B, C), softmax across i
    V   = Σ_i a_i ⊙ U_i                      select, a_i broadcast over the positions

with r = 16 and L = 32. The paper's second branch is a "5×5" kernel that it builds, as here, as a
3×3 kernel with dilation 2 (same receptive field, fewer weights).

SK *replaces* the grouped 3×3 convolution of a ResNeXt bottleneck (its BN and ReLU live inside each
branch), so it takes that convolution's ``stride``: with stride 2 the output is (B, C, H', W') with
H' = ⌊(H − 1)/2⌋ + 1. It is the one module of the course whose output size can differ from its
input's.

The layers W and A_i have no bias: the paper's equations have none (W is followed by BN anyway),
and timm's ``skresnext50_32x4d`` has none either. With these choices a ResNeXt-50 32x4d whose
grouped 3×3 conv, its BN and its ReLU are replaced by this module has 27,479,784 parameters, timm's
count and the paper's "≈ 27.5 M".
"""

from __future__ import annotations

import torch
from einops import reduce
from torch import nn

# torch.fx.symbolic_trace records each einops call as one node (its pattern needs real shapes).
torch.fx.wrap("reduce")

from ._pooling import spatial_mean
from ._validation import (
    check_channels,
    check_divisible,
    check_feature_map,
    check_positive_int,
    reduced_channels,
)

__all__ = ["SKAttention"]


def _check_groups_fit(channels: int, groups: int, *, module: str) -> None:
    """Raise ``ValueError`` unless the grouped branch convolutions can split C into ``groups``."""
    try:
        check_divisible(channels, groups, module=module,
                        why=f"the branch convolutions use groups={groups}")
    except ValueError as error:
        nearest = max(g for g in range(1, groups + 1) if channels % g == 0)
        raise ValueError(f"{error} For channels={channels}, groups={nearest} would work.") from None


def _branch(channels: int, dilation: int, *, groups: int, stride: int) -> nn.Sequential:
    """Grouped 3×3 conv with the given dilation (padding = dilation keeps the size at stride 1)."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, kernel_size=3, stride=stride, padding=dilation, dilation=dilation,
                  groups=groups, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    )


class SKAttention(nn.Module):
    """Selective Kernel convolution: M dilated 3×3 branches mixed by a softmax across branches.

    Args:
        channels: C, input and output channels; C must be divisible by ``groups``.
        branches: M, the number of branches; branch i has dilation i + 1 (i = 0 … M − 1).
        reduction: r, the fuse layer's width is ``d = max(C // r, min_hidden)``.
        min_hidden: L, the smallest fuse width (32 in the paper).
        groups: groups of every branch convolution (32, the cardinality of ResNeXt-50 32x4d).
        stride: stride of every branch convolution (2 where SK replaces a down-sampling conv).

    Learnable parts, with d the fuse width:
        branches: ``nn.ModuleList`` of M ``nn.Sequential(conv, bn, relu)``;
            ``branches[i][0]``: ``nn.Conv2d(C, C, 3, stride, padding=i+1, dilation=i+1,
            groups=groups, bias=False)``, weight (C, C // groups, 3, 3);
            ``branches[i][1]``: ``nn.BatchNorm2d(C)``, weight (C,), bias (C,)
        fc:       ``nn.Conv2d(C, d, 1, bias=False)``, weight (d, C, 1, 1)
        fc_bn:    ``nn.BatchNorm2d(d)``, weight (d,), bias (d,)
        select:   ``nn.ModuleList`` of M ``nn.Conv2d(d, C, 1, bias=False)``, weight (C, d, 1, 1)

    Training mode needs more than one value per channel for the BatchNorm after ``fc`` (its input
    is (B, d, 1, 1)): train with batches of 2 or more, or call ``.eval()`` for a batch of one.
    """

    def __init__(self, channels: int, *, branches: int = 2, reduction: int = 16, min_hidden: int = 32,
                 groups: int = 32, stride: int = 1):
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels(channels, module=name)
        self.num_branches = check_positive_int(branches, name="branches", module=name)
        self.groups = check_positive_int(groups, name="groups", module=name)
        self.stride = check_positive_int(stride, name="stride", module=name)
        check_positive_int(min_hidden, name="min_hidden", module=name)
        _check_groups_fit(channels, groups, module=name)
        hidden = reduced_channels(channels, reduction, module=name, minimum=min_hidden)
        self.reduction = reduction
        self.branches = nn.ModuleList(
            _branch(channels, i + 1, groups=groups, stride=stride) for i in range(branches)
        )
        self.fc = nn.Conv2d(channels, hidden, kernel_size=1, bias=False)
        self.fc_bn = nn.BatchNorm2d(hidden)
        self.select = nn.ModuleList(
            nn.Conv2d(hidden, channels, kernel_size=1, bias=False) for _ in range(branches)
        )

    def selection_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The softmax weights a_i, shape (B, M, C, 1, 1); they sum to 1 across the M branches."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        return self._select(self._split(x))

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each branch's selection weights, ``{"dilation1": a_1, "dilation2": a_2, ...}``, each
        (B, C, 1, 1): branch i is the 3×3 convolution with dilation i; they sum to 1."""
        weights = self.selection_weights(x)
        return {f"dilation{i + 1}": weights[:, i] for i in range(weights.shape[1])}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.channels, module=type(self).__name__)
        split = self._split(x)
        return reduce(self._select(split) * split, "b m c h w -> b c h w", "sum")

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """Branch outputs U_i stacked on a branch axis: (B, M, C, H', W')."""
        return torch.stack([branch(x) for branch in self.branches], dim=1)

    def _select(self, split: torch.Tensor) -> torch.Tensor:
        """Fuse the branches and turn the descriptor into per-branch weights: (B, M, C, 1, 1)."""
        if self.training and not isinstance(split, torch.fx.Proxy) and split.shape[0] == 1:
            raise ValueError(
                f"{type(self).__name__}: a batch of 1 in training mode: fc_bn normalises the pooled "
                "(B, d, 1, 1) descriptors over the batch, as in the paper, and one sample has no "
                "spread to normalise. Train with batches of 2 or more, or call .eval() to use the "
                "running statistics (e.g. for inference on one image).")
        fused = reduce(split, "b m c h w -> b c h w", "sum")
        s = spatial_mean(fused)
        z = torch.relu(self.fc_bn(self.fc(s)))
        logits = torch.stack([select(z) for select in self.select], dim=1)
        return torch.softmax(logits, dim=1)

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, branches={self.num_branches}, reduction={self.reduction}, "
                f"groups={self.groups}, stride={self.stride}")
