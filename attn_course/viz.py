"""Pictures of photos, feature maps and attention gates, for the notebooks.

Every function returns a matplotlib ``Figure`` and shows nothing itself: a notebook displays the
figure when the call is the last line of a cell (or through ``display(fig)``); a script saves it
with ``fig.savefig(path)``. The figure is closed in pyplot before it is returned, so Jupyter
shows it once, not twice, and many calls do not pile up open figures. Everything works under
the non-interactive Agg backend.

Tensors may live on any device and have any floating dtype (bfloat16 included): they are
detached and copied to the CPU as float32 before plotting. NumPy arrays are accepted too.
"""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from ._arguments import number_in_range, positive_int

__all__ = [
    "show_image",
    "show_feature_maps",
    "show_channel_gate",
    "show_spatial_gate",
    "show_attention_overlay",
    "show_attention_maps",
]

_PANEL_INCHES = 2.6
_GATE_CMAP = "inferno"


def _as_cpu_float(value, what: str) -> torch.Tensor:
    """A detached float32 CPU tensor from a tensor or an array."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what}: expected a torch.Tensor or numpy array, "
                        f"got {type(value).__name__}.")
    return value.detach().to(device="cpu", dtype=torch.float32)


def _squeeze_leading(t: torch.Tensor, dims: int) -> torch.Tensor:
    """Drop leading size-1 dimensions until ``t`` has ``dims`` dimensions (if it can)."""
    while t.dim() > dims and t.shape[0] == 1:
        t = t[0]
    return t


def _image_hwc(image, what: str = "image") -> torch.Tensor:
    """An RGB (3, H, W) / (1, 3, H, W) or grey (H, W) / (1, H, W) image as (H, W, 3) or (H, W)."""
    t = _squeeze_leading(_as_cpu_float(image, what), 3)
    if t.dim() == 3 and t.shape[0] == 3:
        return t.permute(1, 2, 0).clamp(0, 1)
    t = _squeeze_leading(t, 2)
    if t.dim() == 2:
        return t
    raise ValueError(f"{what}: expected an RGB image (3, H, W) or (1, 3, H, W), or a grey one "
                     f"(H, W), got shape {tuple(t.shape)}.")


def _spatial_map(gate, what: str) -> torch.Tensor:
    """A spatial map (H, W), (1, H, W) or (1, 1, H, W) as (H, W)."""
    t = _squeeze_leading(_as_cpu_float(gate, what), 2)
    if t.dim() != 2:
        raise ValueError(
            f"{what}: expected a spatial map (H, W) or (1, 1, H, W), got shape {tuple(t.shape)}. "
            "For a map with several channels or samples, pick one first, e.g. gate[0].mean(0)."
        )
    return t


def _closed(fig: Figure) -> Figure:
    """Take ``fig`` out of pyplot's list of open figures, so Jupyter shows only the returned one."""
    plt.close(fig)
    return fig


def _grid(n: int, columns: int | None = None) -> tuple[Figure, list]:
    """A figure with exactly ``n`` panels on a near-square grid (spare cells removed)."""
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False, layout="constrained",
                             figsize=(_PANEL_INCHES * columns, _PANEL_INCHES * rows))
    flat = list(axes.flat)
    for spare in flat[n:]:
        fig.delaxes(spare)
    for ax in flat[:n]:
        ax.set_axis_off()
    return fig, flat[:n]


def show_image(img, title: str | None = None) -> Figure:
    """Show an image: RGB (3, H, W) with values in [0, 1] (clipped), or grey (H, W)."""
    picture = _image_hwc(img)
    fig, (ax,) = _grid(1)
    ax.imshow(picture.numpy(), cmap="gray" if picture.dim() == 2 else None)
    if title:
        ax.set_title(title)
    return _closed(fig)


def show_feature_maps(fmap, n: int = 16, titles: Sequence[str] | None = None,
                      sample: int = 0) -> Figure:
    """A grid of the first ``n`` channels of one sample of a (B, C, H, W) or (C, H, W) map.

    Each channel has its own colour scale (its minimum dark, its maximum bright), so weak channels
    stay visible. ``titles`` names the channels, e.g. ``attn_course.data.feature_names(C)``.
    """
    t = _as_cpu_float(fmap, "show_feature_maps")
    if t.dim() == 4:
        if not 0 <= sample < t.shape[0]:
            raise ValueError(f"show_feature_maps: sample must be in 0..{t.shape[0] - 1}, "
                             f"got {sample}.")
        t = t[sample]
    if t.dim() != 3:
        raise ValueError(f"show_feature_maps: expected a feature map (B, C, H, W) or (C, H, W), "
                         f"got shape {tuple(t.shape)}.")
    n = positive_int(n, name="n", where="show_feature_maps")
    n = min(n, t.shape[0])
    if titles is not None and len(titles) < n:
        raise ValueError(f"show_feature_maps: {n} channels shown but only {len(titles)} titles "
                         "given.")
    fig, axes = _grid(n)
    for c, ax in enumerate(axes):
        ax.imshow(t[c].numpy(), cmap="viridis")
        ax.set_title(titles[c] if titles is not None else f"channel {c}", fontsize=8, wrap=True)
    return _closed(fig)


def show_channel_gate(gate, names: Sequence[str] | None = None, top: int | None = None,
                      title: str | None = None) -> Figure:
    """A bar plot of a channel gate of shape (C,), (1, C) or (1, C, 1, 1): one bar per channel.

    With ``top=k`` only the k largest gates are drawn, largest first; ``names`` labels the bars;
    ``title`` says what the gate is (which module, which weights, which image). The gate axis
    spans [0, 1], the range of a sigmoid gate, so plots of different gates compare at a glance.
    """
    t = _as_cpu_float(gate, "show_channel_gate")
    if t.dim() == 4 and t.shape[2:] == (1, 1):
        t = t.flatten(1)                                   # (B, C, 1, 1) -> (B, C)
    values = _squeeze_leading(t, 1)
    if values.dim() != 1:
        raise ValueError("show_channel_gate: expected a channel gate (C,), (1, C) or "
                         f"(1, C, 1, 1), got shape {tuple(t.shape)}.")
    channels = values.shape[0]
    if names is not None and len(names) != channels:
        raise ValueError(f"show_channel_gate: {channels} channels but {len(names)} names.")
    order = torch.arange(channels)
    if top is not None:
        top = positive_int(top, name="top", where="show_channel_gate")
        order = torch.argsort(values, descending=True, stable=True)[:top]
    labels = [names[i] if names is not None else str(i) for i in order.tolist()]
    heights = values[order].numpy()
    caption = "channel" if top is None else f"top {len(labels)} channels"
    if names is not None:                      # long names read best as horizontal bars
        height = min(1.0 + 0.2 * len(labels), 14.0)
        fig, ax = plt.subplots(layout="constrained", figsize=(7.0, height))
        ax.barh(range(len(labels)), heights, color="tab:orange")
        ax.set_yticks(range(len(labels)), labels, fontsize=9)
        ax.invert_yaxis()                      # the first (or largest) channel on top
        ax.set_xlabel("gate value", fontsize=10)
        ax.set_ylabel(caption, fontsize=10)
        ax.set_xlim(0, max(1.0, float(values.max())))
        if title:
            ax.set_title(title, fontsize=11)
        return _closed(fig)
    width = min(max(4.0, 0.25 * len(labels) + 2), 14.0)
    fig, ax = plt.subplots(layout="constrained", figsize=(width, 3.2))
    ax.bar(range(len(labels)), heights, color="tab:orange")
    ax.set_ylabel("gate value", fontsize=10)
    ax.set_xlabel(caption, fontsize=10)
    ax.set_ylim(0, max(1.0, float(values.max())))
    if top is not None or len(labels) <= 32:
        ax.set_xticks(range(len(labels)), labels, fontsize=9)
    if title:
        ax.set_title(title, fontsize=11)
    return _closed(fig)


def _overlay(ax, picture: torch.Tensor | None, gate: torch.Tensor, alpha: float):
    """Draw ``gate`` on ``ax``, upsampled (bilinear) onto ``picture`` when there is one."""
    if picture is None:
        return ax.imshow(gate.numpy(), cmap=_GATE_CMAP)
    size = picture.shape[:2]
    if tuple(gate.shape) != tuple(size):
        gate = F.interpolate(gate[None, None], size=size, mode="bilinear",
                             align_corners=False)[0, 0]
    ax.imshow(picture.numpy(), cmap="gray" if picture.dim() == 2 else None)
    return ax.imshow(gate.numpy(), cmap=_GATE_CMAP, alpha=alpha)


def _check_alpha(alpha) -> float:
    return number_in_range(alpha, name="alpha", low=0, high=1)


def show_spatial_gate(gate, image=None, alpha: float = 0.5, title: str | None = None) -> Figure:
    """A spatial gate (H, W) or (1, 1, H, W), over the photo when ``image`` is given.

    The gate is upsampled (bilinear) to the image's size and drawn with transparency ``alpha``;
    the colour bar reads its values.
    """
    values = _spatial_map(gate, "show_spatial_gate")
    picture = None if image is None else _image_hwc(image, "show_spatial_gate image")
    fig, (ax,) = _grid(1)
    drawn = _overlay(ax, picture, values, _check_alpha(alpha))
    fig.colorbar(drawn, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title)
    return _closed(fig)


def show_attention_overlay(image, maps: dict, alpha: float = 0.5) -> Figure:
    """The photo, then each spatial map of ``maps`` over it, side by side: 1 + len(maps) panels.

    Each map has its own colour scale; its range is printed under its name.
    """
    picture = _image_hwc(image, "show_attention_overlay image")
    if not isinstance(maps, dict) or not maps:
        raise ValueError("show_attention_overlay: maps must be a non-empty dict "
                         f"{{name: (H, W) map}}, got {type(maps).__name__} {maps!r:.60}.")
    alpha = _check_alpha(alpha)
    fig, axes = _grid(1 + len(maps), columns=1 + len(maps))
    axes[0].imshow(picture.numpy(), cmap="gray" if picture.dim() == 2 else None)
    axes[0].set_title("image")
    for ax, (name, gate) in zip(axes[1:], maps.items()):
        values = _spatial_map(gate, f"show_attention_overlay map {name!r}")
        _overlay(ax, picture, values, alpha)
        ax.set_title(f"{name}\n[{values.min():.3g}, {values.max():.3g}]", fontsize=9)
    return _closed(fig)


def _cross_map(weights: torch.Tensor, axis: str, query: tuple[int, int]) -> torch.Tensor:
    """One query pixel's weights over its column (axis "column": (H, W, H)) or its row
    ("row": (H, W, W)), scattered into an (H, W) map that is 0 off the cross."""
    height, width = weights.shape[:2]
    h, w = query
    picture = torch.zeros(height, width)
    if axis == "column":
        picture[:, w] = weights[h, w]
    else:
        picture[h, :] = weights[h, w]
    return picture


def _map_panel(ax, name: str, value: torch.Tensor, picture, alpha: float, query) -> None:
    """Draw one entry of ``attention_maps(x)`` (sample 0) on ``ax``, by its shape."""
    if value.dim() == 4 and name in ("column", "row") and value.shape[-1] in value.shape[1:3]:
        H, W = value.shape[1:3]
        q = query or (H // 2, W // 2)
        if not (0 <= q[0] < H and 0 <= q[1] < W):
            raise ValueError(f"show_attention_maps: query must be a pixel (h, w) of the "
                             f"{H}×{W} map, got {query!r}.")
        _overlay(ax, picture, _cross_map(value[0], name, q), alpha)
        ax.set_title(f"{name} of pixel {tuple(q)}", fontsize=9)
        return
    if value.dim() != 4:
        raise ValueError(f"show_attention_maps: map {name!r} has shape {tuple(value.shape)}; "
                         "expected (B, C, 1, 1), (B, 1, H, W) or (B, C, H, W).")
    sample = value[0]
    if sample.shape[1:] == (1, 1):            # a channel gate: its values as a sorted profile
        values = sample.flatten()
        ax.set_axis_on()
        ax.bar(range(values.numel()), torch.sort(values, descending=True).values.numpy(),
               color="tab:orange", width=1.0)
        ax.set_ylim(0, max(1.0, float(values.max())))
        ax.set_xticks([])
        ax.set_title(f"{name} (C = {values.numel()}, sorted)\n"
                     f"[{values.min():.3g}, {values.max():.3g}]", fontsize=9)
        return
    spatial = sample.mean(0)                  # (1, H, W) or (C, H, W): mean over the channels
    _overlay(ax, picture, spatial, alpha)
    how = "" if sample.shape[0] == 1 else ", mean over C"
    ax.set_title(f"{name}{how}\n[{spatial.min():.3g}, {spatial.max():.3g}]", fontsize=9)


def show_attention_maps(maps: dict, image=None, alpha: float = 0.5, query=None) -> Figure:
    """Every map of a module's ``attention_maps(x)``, one panel each, for the first sample.

    A channel gate (B, C, 1, 1) is drawn as its values sorted from largest to smallest; a spatial
    gate (B, 1, H, W) and a full gate (B, C, H, W) (averaged over C) over ``image`` when it is
    given; criss-cross's per-query ``column`` and ``row`` weights as the cross of pixel ``query``
    (the centre unless given) over the image.
    """
    if not isinstance(maps, dict) or not maps:
        raise ValueError("show_attention_maps: maps must be a non-empty dict {name: tensor}, as "
                         f"attention_maps(x) returns, got {type(maps).__name__}.")
    picture = None if image is None else _image_hwc(image, "show_attention_maps image")
    alpha = _check_alpha(alpha)
    fig, axes = _grid(len(maps), columns=min(len(maps), 4))
    for ax, (name, value) in zip(axes, maps.items()):
        _map_panel(ax, str(name), _as_cpu_float(value, f"show_attention_maps map {name!r}"),
                   picture, alpha, query)
    return _closed(fig)
