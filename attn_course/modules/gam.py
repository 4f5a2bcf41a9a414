"""Global Attention Mechanism (GAM): a per-pixel channel MLP, then a 7×7 convolutional spatial gate.

Liu, Shao, Hoffmann, "Global Attention Mechanism: Retain Information to Enhance Channel-Spatial
Interactions", arXiv 2112.05561, 2021.

For a feature map x of shape (B, C, H, W), with reduction rate r (4 in the paper):

    channel:  M_c(x) = σ( MLP(x[b, :, h, w]) )        the MLP C → C/r → C (ReLU between) is applied
                                                      to every pixel's channel vector: permute to
                                                      (B, H, W, C), MLP, permute back
              x1 = x ⊙ M_c(x)
    spatial:  M_s(x1) = σ( BN(conv_7×7( ReLU(BN(conv_7×7(x1))) )) ),   convs C → C/r → C
              y = x1 ⊙ M_s(x1)

Both gates have the full shape (B, C, H, W). Unlike CBAM there is no pooling anywhere.

Grouped variant (``grouped=True``): for ResNet-50 the paper uses group convolution with channel
shuffle in the spatial branch to limit parameters, without giving the layout. Here both 7×7
convs use ``groups=r`` and a channel shuffle with r groups sits after the first conv–BN–ReLU, so the
second grouped conv sees channels from every group of the first:

    shuffle: (B, r·m, H, W) → view as (B, r, m, H, W) → swap r and m → (B, m·r, H, W),  m = C/r²

(``rearrange("b (g c) h w -> b (c g) h w", g=r)``). The first conv splits C inputs and C/r outputs
into r groups and the second C/r inputs, so C must be divisible by r². At C = r² each group holds a
single hidden channel and the shuffle is the identity. Some public versions instead shuffle the
final spatial gate (4 groups); this module does not.

Paper vs public code: the paper applies σ to the channel MLP's output; several public copies drop
it and multiply x by the raw MLP output. ``channel_sigmoid=True`` (default) follows the paper;
``False`` reproduces those copies. The public copies also keep PyTorch's default bias in both 7×7
convs; a bias right before a BatchNorm is cancelled by the batch mean, so its gradient is exactly
zero and it never trains. The convs here have no bias: C // r + C fewer parameters per block than
those copies.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from einops import rearrange
from torch import nn

from ._validation import check_channels, check_divisible, check_feature_map, check_positive_int
from ._validation import reduced_channels

# torch.fx.symbolic_trace records each einops call as one node (its pattern needs real shapes).
torch.fx.wrap("rearrange")

__all__ = ["GAMAttention"]


class ChannelShuffle(nn.Module):
    """``rearrange(x, "b (g c) h w -> b (c g) h w", g=groups)``: channel k of group g moves to
    position k·groups + g, so the next grouped convolution mixes the groups."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(x, "b (g c) h w -> b (c g) h w", g=self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class GAMAttention(nn.Module):
    """GAM: ``x1 = x * M_c(x)``, ``y = x1 * M_s(x1)``; per-pixel channel MLP, 7×7 spatial convs.

    Args:
        channels: C, the channels of the input feature map.
        rate: r, the reduction of both branches' hidden width ``C // r`` (4 in the paper, which
            calls it the rate).
        reduction: the same number under the name the other modules use (``SEBlock``, ``CBAM``,
            ``SKAttention``...); give one of ``rate`` and ``reduction``, not both.
        grouped: use ``groups=r`` in both 7×7 convs and a channel shuffle with r groups between
            them (the paper's ResNet-50 variant); needs C divisible by r².
        channel_sigmoid: apply σ to the channel MLP's output (the paper); ``False`` multiplies by
            the raw MLP output, as several public copies do.

    Learnable parts (h = C // r, g = r if grouped else 1):
        channel_mlp.fc1: ``nn.Linear(C, h)``, weight (h, C), bias (h,)
        channel_mlp.fc2: ``nn.Linear(h, C)``, weight (C, h), bias (C,)
        spatial.conv1: ``nn.Conv2d(C, h, 7, padding=3, groups=g, bias=False)``,
            weight (h, C/g, 7, 7)
        spatial.bn1: ``nn.BatchNorm2d(h)``, weight (h,), bias (h,)
        spatial.conv2: ``nn.Conv2d(h, C, 7, padding=3, groups=g, bias=False)``,
            weight (C, h/g, 7, 7)
        spatial.bn2: ``nn.BatchNorm2d(C)``, weight (C,), bias (C,)
    ``spatial`` also holds the parameter-free ``relu`` and, when grouped, ``shuffle``.
    """

    def __init__(self, channels: int, *, rate: int | None = None, grouped: bool = False,
                 channel_sigmoid: bool = True, reduction: int | None = None):
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels(channels, module=name)
        if rate is not None and reduction is not None:
            raise TypeError(f"{name}: rate and reduction are two names for one number; give one, "
                            f"got rate={rate!r} and reduction={reduction!r}.")
        rate = 4 if rate is None and reduction is None else (rate if rate is not None else reduction)
        rate = check_positive_int(rate, name="rate", module=name)
        if grouped:
            check_divisible(channels, rate * rate, module=name,
                            why=f"grouped=True splits C and C // rate into rate={rate} groups, "
                                f"so C must be a multiple of rate² = {rate * rate}")
        hidden = reduced_channels(channels, rate, module=name)
        groups = rate if grouped else 1
        self.rate, self.grouped, self.channel_sigmoid = rate, grouped, channel_sigmoid
        self.reduction = rate

        self.channel_mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(channels, hidden),
            relu=nn.ReLU(),
            fc2=nn.Linear(hidden, channels),
        ))
        shuffle = [("shuffle", ChannelShuffle(rate))] if grouped else []
        self.spatial = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(channels, hidden, 7, padding=3, groups=groups, bias=False)),
            ("bn1", nn.BatchNorm2d(hidden)),
            ("relu", nn.ReLU()),
            *shuffle,
            ("conv2", nn.Conv2d(hidden, channels, 7, padding=3, groups=groups, bias=False)),
            ("bn2", nn.BatchNorm2d(channels)),
        ]))

    def channel_gate(self, x: torch.Tensor) -> torch.Tensor:
        """M_c(x), shape (B, C, H, W): the MLP over each pixel's channel vector (σ if enabled)."""
        check_feature_map(x, self.channels, module=type(self).__name__)
        per_pixel = self.channel_mlp(rearrange(x, "b c h w -> b h w c"))
        g = rearrange(per_pixel, "b h w c -> b c h w")
        return torch.sigmoid(g) if self.channel_sigmoid else g

    def spatial_gate(self, x1: torch.Tensor) -> torch.Tensor:
        """M_s(x1), shape (B, C, H, W), values in (0, 1); x1 is the channel-refined map."""
        check_feature_map(x1, self.channels, module=type(self).__name__)
        return torch.sigmoid(self.spatial(x1))

    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"channel": M_c(x), "spatial": M_s(x ⊙ M_c(x))}``, both (B, C, H, W)."""
        channel = self.channel_gate(x)
        return {"channel": channel, "spatial": self.spatial_gate(x * channel)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = x * self.channel_gate(x)
        return x1 * self.spatial_gate(x1)

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, rate={self.rate}, grouped={self.grouped}, "
                f"channel_sigmoid={self.channel_sigmoid}")
