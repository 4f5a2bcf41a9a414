"""A synthetic detection set, generated in-process: shapes of three classes on textured backgrounds.

Each image is ``size × size`` RGB in [0, 1]. The background is a random mixture of two sinusoidal
gratings, a smooth colour ramp and pixel noise, so a detector cannot find objects by "anything that
is not flat". On it sit 1 to ``max_objects`` non-overlapping objects, each a filled

* ``0 "square"``: an axis-aligned rectangle with sides within 25 % of each other,
* ``1 "disk"``: an ellipse with axes within 25 % of each other,
* ``2 "triangle"``: an isosceles triangle pointing up or down,

in a random colour at least 0.35 away (RGB distance) from the background's mean colour, of width and
height between ``min_size`` and ``max_size`` pixels. Colour says nothing about the class: only shape
does. The box of each object is the exact bounding box of its painted pixels:
``(x1, y1, x2, y2) = (min col, min row, max col + 1, max row + 1)``.

Everything comes from one ``torch.Generator`` seeded with ``seed``: the same arguments give the same
images, bit for bit, on every machine.
"""

from __future__ import annotations

import math

import torch

from .._arguments import positive_int

__all__ = ["CLASSES", "make_dataset"]

CLASSES = ("square", "disk", "triangle")


def _uniform(g: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=g, dtype=torch.float64))


def _grid(size: int, offset: float) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.meshgrid(torch.arange(size, dtype=torch.float64) + offset,
                          torch.arange(size, dtype=torch.float64) + offset, indexing="ij")


def _background(g: torch.Generator, size: int) -> torch.Tensor:
    ys, xs = _grid(size, 0.0)
    base = torch.rand(3, 1, 1, generator=g, dtype=torch.float64) * 0.5 + 0.25
    image = base.expand(3, size, size).clone()
    for _ in range(2):   # two gratings of random frequency, direction, phase and colour
        angle, freq, phase = _uniform(g, 0, math.pi), _uniform(g, 0.15, 0.9), _uniform(g, 0, 2 * math.pi)
        # sin(a x + b y + phase), built from 1-D factors (64 sines instead of 64²)
        ax, by = freq * math.cos(angle) * xs[0], freq * math.sin(angle) * ys[:, 0] + phase
        wave = torch.sin(ax)[None, :] * torch.cos(by)[:, None] + torch.cos(ax)[None, :] * torch.sin(by)[:, None]
        image += (torch.rand(3, 1, 1, generator=g, dtype=torch.float64) - 0.5) * 0.3 * wave
    ramp = (xs * _uniform(g, -1, 1) + ys * _uniform(g, -1, 1)) / size
    image += (torch.rand(3, 1, 1, generator=g, dtype=torch.float64) - 0.5) * 0.3 * ramp
    image += torch.randn(3, size, size, generator=g, dtype=torch.float64) * 0.04
    return image


def _mask(kind: int, g: torch.Generator, centres, x0: float, y0: float, w: float, h: float) -> torch.Tensor:
    """Pixels (centres at integer + 0.5) inside a shape whose bounding rectangle is (x0, y0, w, h)."""
    ys, xs = centres
    u, v = (xs - x0) / w, (ys - y0) / h       # 0..1 inside the bounding rectangle
    if kind == 0:
        return (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    if kind == 1:
        return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    if _uniform(g, 0, 1) < 0.5:
        v = 1 - v                              # pointing down instead of up
    return (v >= 0) & (v <= 1) & ((u - 0.5).abs() <= v / 2)


def _box(mask: torch.Tensor) -> list[float]:
    rows, cols = torch.nonzero(mask.any(1)).flatten(), torch.nonzero(mask.any(0)).flatten()
    return [float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)]


def _overlaps(box: list[float], boxes: list[list[float]], margin: float = 1.0) -> bool:
    return any(box[0] < b[2] + margin and b[0] < box[2] + margin and
               box[1] < b[3] + margin and b[1] < box[3] + margin for b in boxes)


def make_dataset(n_images: int, *, size: int = 64, max_objects: int = 4, min_size: int = 10,
                 max_size: int = 24, seed: int = 0) -> tuple[torch.Tensor, list[dict]]:
    """``(images, targets)``: images (N, 3, size, size) float32 in [0, 1]; ``targets[i]`` holds
    ``"boxes"`` (n_i, 4) float32 as (x1, y1, x2, y2) and ``"labels"`` (n_i,) int64 (module doc)."""
    n_images = positive_int(n_images, name="n_images", where="make_dataset")
    size = positive_int(size, name="size", where="make_dataset", minimum=16)
    max_objects = positive_int(max_objects, name="max_objects", where="make_dataset")
    min_size = positive_int(min_size, name="min_size", where="make_dataset", minimum=4)
    max_size = positive_int(max_size, name="max_size", where="make_dataset")
    if not min_size <= max_size <= size // 2:
        raise ValueError(f"make_dataset: need min_size <= max_size <= size // 2, got min_size={min_size}, "
                         f"max_size={max_size}, size={size}.")
    g = torch.Generator().manual_seed(int(seed))
    centres = _grid(size, 0.5)
    images, targets = [], []
    for _ in range(n_images):
        image = _background(g, size)
        mean_colour = image.mean(dim=(1, 2))
        grain = torch.randn(3, size, size, generator=g, dtype=torch.float64) * 0.03   # objects' texture
        boxes, labels = [], []
        wanted = 1 + int(torch.randint(max_objects, (), generator=g))
        for _attempt in range(20 * wanted):
            if len(boxes) == wanted:
                break
            kind = int(torch.randint(len(CLASSES), (), generator=g))
            w = _uniform(g, min_size, max_size)
            h = min(max(w * _uniform(g, 0.8, 1.25), min_size), max_size)
            x0, y0 = _uniform(g, 0, size - w), _uniform(g, 0, size - h)
            if _overlaps([x0 - 1, y0 - 1, x0 + w + 1, y0 + h + 1], boxes):
                continue                       # the painted box lies inside this rectangle
            mask = _mask(kind, g, centres, x0, y0, w, h)
            if not bool(mask.any()):
                continue
            box = _box(mask)
            while True:
                colour = torch.rand(3, generator=g, dtype=torch.float64)
                if float((colour - mean_colour).norm()) >= 0.35:
                    break
            image = torch.where(mask, colour[:, None, None] + grain, image)
            boxes.append(box)
            labels.append(kind)
        images.append(image.clamp(0, 1).float())
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                        "labels": torch.tensor(labels, dtype=torch.int64)})
    return torch.stack(images), targets
