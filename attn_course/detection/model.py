"""A compact CenterNet-style detector whose backbone has the course's attention plug points.

Backbone (input 3 × S × S; the output stride is 4)::

    stem    3×3 conv, stride 2, 16 channels, BN, ReLU                 S/2
    block1  Bottleneck(16 → 32, width 8,  stride 2)                    S/4
    block2  Bottleneck(32 → 64, width 16)                              S/4
    block3  Bottleneck(64 → 64, width 16)                              S/4

The bottlenecks are the course's ResNet bottleneck (:class:`attn_course.models.Bottleneck`), so
``attention="se"`` puts the module where its paper does: after ``bn3`` (SE, ECA, CBAM ...; the
module sees 32 or 64 channels), after ``conv2`` (SimAM; 8 or 16 channels), or in place of the 3×3
convolution (SK). Modules are built through the registry (``attention_class(key, impl=...)``, the
class :func:`attn_course.create_attention` builds), so ``impl="mine"`` uses the classes a student
saved with ``attn_course.mine.save``.

Head (CenterNet, Zhou et al., "Objects as Points", 2019): a shared 3×3 conv, then per cell (i, j)
of the S/4 × S/4 grid

* ``heatmap`` (K channels): ``σ(logit)`` = the score that an object of class k is centred there,
* ``size`` (2): the box's width and height in input pixels, ``w = 4·exp(s_w)`` (so always > 0),
* ``offset`` (2): the centre's sub-cell position, ``c_x = 4·(j + o_x)``.

Decoding: a cell is a peak if it equals the maximum of its 3×3 neighbourhood (CenterNet's
max-pool "NMS"); the ``top_k`` best peaks become boxes ``(c_x ∓ w/2, c_y ∓ h/2)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models.plug import resolve_attention
from ..models.resnet import Bottleneck

__all__ = ["STRIDE", "MODULE_OPTIONS", "TinyDetector", "decode"]

STRIDE = 4
# Options that make a module fit this small backbone (paper defaults otherwise). ShuffleAttention's
# 64 groups need 128 channels; 8 groups fit the 32 and 64 channels here.
MODULE_OPTIONS = {"shuffle": {"groups": 8}}


class TinyDetector(nn.Module):
    """CenterNet-style detector; ``attention`` is None (baseline) or a registry key (module doc).

    ``forward(images)`` returns ``{"heatmap": (B, K, S/4, S/4) logits, "size": (B, 2, ...),
    "offset": (B, 2, ...)}``; :func:`decode` turns that into detections.
    """

    def __init__(self, attention: str | None = None, *, num_classes: int = 3, impl: str = "reference",
                 head_channels: int = 32):
        super().__init__()
        options = MODULE_OPTIONS.get(attention, {}) if isinstance(attention, str) else {}
        plug = resolve_attention(attention, None, dict(options), impl=impl) if attention else None
        self.attention_key, self.num_classes = attention, num_classes
        self.stem = nn.Sequential(nn.Conv2d(3, 32, STRIDE, stride=STRIDE, bias=False),
                                  nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.block1 = Bottleneck(32, 8, attention=plug)
        self.block2 = Bottleneck(32, 16, attention=plug)
        self.block3 = Bottleneck(64, 16, attention=plug)
        self.neck = nn.Sequential(nn.Conv2d(64, head_channels, 1), nn.ReLU(inplace=True))
        self.heatmap = nn.Conv2d(head_channels, num_classes, 1)
        self.size = nn.Conv2d(head_channels, 2, 1)
        self.offset = nn.Conv2d(head_channels, 2, 1)
        nn.init.constant_(self.heatmap.bias, -2.19)     # σ(-2.19) ≈ 0.1: CenterNet's prior
        nn.init.constant_(self.size.bias, 1.0)          # 4·e ≈ 11 px: a plausible first guess

    def blocks(self) -> list[Bottleneck]:
        return [self.block1, self.block2, self.block3]

    def features(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"TinyDetector expects images of shape (B, 3, H, W), got {tuple(images.shape)}.")
        if images.shape[-1] % STRIDE or images.shape[-2] % STRIDE:
            raise ValueError(f"TinyDetector needs H and W divisible by {STRIDE}, got "
                             f"{tuple(images.shape[-2:])}.")
        return self.block3(self.block2(self.block1(self.stem(images))))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.neck(self.features(images))
        return {"heatmap": self.heatmap(x), "size": self.size(x), "offset": self.offset(x)}


@torch.no_grad()
def decode(outputs: dict[str, torch.Tensor], top_k: int = 20) -> list[dict[str, torch.Tensor]]:
    """Detections per image: ``{"boxes": (k, 4), "scores": (k,), "labels": (k,)}`` (module doc)."""
    heat = torch.sigmoid(outputs["heatmap"])
    B, K, H, W = heat.shape
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
    scores, flat = peaks.reshape(B, -1).topk(min(top_k, K * H * W), dim=1)
    labels, cell = flat // (H * W), flat % (H * W)
    rows, cols = cell // W, cell % W
    results = []
    for b in range(B):
        size = STRIDE * outputs["size"][b].reshape(2, -1)[:, cell[b]].exp()
        offset = outputs["offset"][b].reshape(2, -1)[:, cell[b]]
        cx, cy = STRIDE * (cols[b] + offset[0]), STRIDE * (rows[b] + offset[1])
        boxes = torch.stack([cx - size[0] / 2, cy - size[1] / 2, cx + size[0] / 2, cy + size[1] / 2], 1)
        results.append({"boxes": boxes, "scores": scores[b], "labels": labels[b]})
    return results
