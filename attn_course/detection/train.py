"""Training and inference for :class:`~attn_course.detection.model.TinyDetector`.

Targets on the S/4 × S/4 grid, per ground-truth box with centre ``(c_x, c_y)`` and size ``(w, h)``
(CenterNet): the cell ``(i, j) = (⌊c_y/4⌋, ⌊c_x/4⌋)`` is the object's centre, and

* heatmap of its class: ``Y = exp(-((x - j)² + (y - i)²) / 2σ²)``, ``σ = max(0.5, min(w, h) / 24)``
  (kept as the maximum where objects' Gaussians meet), exactly 1 at the centre cell;
* size at the centre cell: ``log(w/4), log(h/4)``; offset: ``c_x/4 - j, c_y/4 - i``.

Loss = focal loss on the heatmap (Lin et al.'s, in CenterNet's form with α = 2, β = 4, divided by
the number of objects) + 0.1·L1(size) + L1(offset) at the centre cells. Training uses AdamW with a
linearly decaying learning rate and random horizontal flips; every random source is seeded.
"""

from __future__ import annotations

import math
import sys
import time

import torch
import torch.nn.functional as F

from .._arguments import positive_int
from ..timing import autograding  # True while nbgrader runs the notebook: skip the training
from .model import STRIDE, TinyDetector, decode

__all__ = ["autograding", "make_targets", "detection_loss", "train_detector", "detect",
           "trivial_baseline", "progress_bar"]


def make_targets(targets: list[dict], num_classes: int, grid: int) -> dict[str, torch.Tensor]:
    """Dense training targets for a batch (module doc): heatmap (B, K, g, g), size and offset
    (B, 2, g, g), and ``mask`` (B, g, g), True at the objects' centre cells."""
    B = len(targets)
    heat = torch.zeros(B, num_classes, grid, grid)
    size = torch.zeros(B, 2, grid, grid)
    offset = torch.zeros(B, 2, grid, grid)
    mask = torch.zeros(B, grid, grid, dtype=torch.bool)
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32),
                            torch.arange(grid, dtype=torch.float32), indexing="ij")
    for b, target in enumerate(targets):
        for box, label in zip(target["boxes"].tolist(), target["labels"].tolist()):
            w, h = box[2] - box[0], box[3] - box[1]
            cx, cy = (box[0] + box[2]) / 2 / STRIDE, (box[1] + box[3]) / 2 / STRIDE
            j, i = min(int(cx), grid - 1), min(int(cy), grid - 1)
            sigma = max(0.5, min(w, h) / 24)
            bump = torch.exp(-((xs - j) ** 2 + (ys - i) ** 2) / (2 * sigma ** 2))
            heat[b, label] = torch.maximum(heat[b, label], bump)
            size[b, :, i, j] = torch.tensor([math.log(w / STRIDE), math.log(h / STRIDE)])
            offset[b, :, i, j] = torch.tensor([cx - j, cy - i])
            mask[b, i, j] = True
    return {"heatmap": heat, "size": size, "offset": offset, "mask": mask}


def detection_loss(outputs: dict, wanted: dict) -> torch.Tensor:
    """Focal loss on the heatmap + 0.1·L1(size) + L1(offset) at the centres (module doc)."""
    p = torch.sigmoid(outputs["heatmap"]).clamp(1e-4, 1 - 1e-4)
    y = wanted["heatmap"]
    centre = y.eq(1).float()
    positive = -((1 - p) ** 2 * torch.log(p) * centre).sum()
    negative = -((1 - y) ** 4 * p ** 2 * torch.log(1 - p) * (1 - centre)).sum()
    count = max(1.0, float(centre.sum()))
    m = wanted["mask"][:, None].expand_as(wanted["size"])
    size = F.l1_loss(outputs["size"][m], wanted["size"][m], reduction="sum") / count
    offset = F.l1_loss(outputs["offset"][m], wanted["offset"][m], reduction="sum") / count
    return (positive + negative) / count + 0.1 * size + offset


def _flip(images: torch.Tensor, targets: list[dict], flip: torch.Tensor):
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    W = images.shape[-1]
    flipped = []
    for target, f in zip(targets, flip.tolist()):
        boxes = target["boxes"]
        if f:
            boxes = torch.stack([W - boxes[:, 2], boxes[:, 1], W - boxes[:, 0], boxes[:, 3]], 1)
        flipped.append({"boxes": boxes, "labels": target["labels"]})
    return images, flipped


def progress_bar(total: int, description: str = ""):
    """tqdm's bar if tqdm is installed, else a plain text bar on stderr; use as a context manager
    with ``.update(n)``."""
    try:
        from tqdm.auto import tqdm
        return tqdm(total=total, desc=description, leave=False)
    except ImportError:
        return _TextBar(total, description)


class _TextBar:
    def __init__(self, total: int, description: str):
        self.total, self.done, self.description, self.start = total, 0, description, time.time()

    def update(self, n: int = 1) -> None:
        self.done += n
        filled = int(30 * self.done / max(1, self.total))
        if filled == getattr(self, "_filled", None) and self.done < self.total:
            return                                     # redraw only when the bar grows (30 times)
        self._filled = filled
        sys.stderr.write(f"\r{self.description} [{'#' * filled}{'.' * (30 - filled)}] "
                         f"{self.done}/{self.total} {time.time() - self.start:.0f}s")
        sys.stderr.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        sys.stderr.write("\n")


def train_detector(model: TinyDetector, images: torch.Tensor, targets: list[dict], *, steps: int,
                   batch_size: int = 32, lr: float = 3e-3, seed: int = 0,
                   progress: bool = False) -> list[float]:
    """Train ``model`` in place for ``steps`` steps; returns the loss of every step (module doc)."""
    steps = positive_int(steps, name="steps", where="train_detector")
    batch_size = positive_int(batch_size, name="batch_size", where="train_detector")
    if len(images) != len(targets):
        raise ValueError(f"train_detector: {len(images)} images but {len(targets)} targets.")
    g = torch.Generator().manual_seed(int(seed))
    grid = images.shape[-1] // STRIDE
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 1 - s / steps)
    model.train()
    losses = []
    bar = progress_bar(steps, "training") if progress else None
    for _ in range(steps):
        pick = torch.randint(len(images), (batch_size,), generator=g)
        flip = torch.rand(batch_size, generator=g) < 0.5
        batch, batch_targets = _flip(images[pick], [targets[i] for i in pick.tolist()], flip)
        loss = detection_loss(model(batch), make_targets(batch_targets, model.num_classes, grid))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.__exit__(None, None, None) if isinstance(bar, _TextBar) else bar.close()
    model.eval()
    return losses


@torch.no_grad()
def detect(model: TinyDetector, images: torch.Tensor, *, top_k: int = 20,
           batch_size: int = 64) -> list[dict]:
    """The model's detections on ``images`` (eval mode), one dict per image (see ``decode``)."""
    model.eval()
    found = []
    for start in range(0, len(images), batch_size):
        found += decode(model(images[start:start + batch_size]), top_k=top_k)
    return found


def trivial_baseline(train_targets: list[dict], n_images: int, *, size: int = 64,
                     num_classes: int = 3, grid: int = 4) -> list[dict]:
    """Detections that ignore the image: for every class, its mean training box size placed at the
    centres of a ``grid × grid`` lattice, scored by the class's frequency in training. A detector
    must beat this to have learnt anything about where the objects are."""
    boxes = torch.cat([t["boxes"] for t in train_targets])
    labels = torch.cat([t["labels"] for t in train_targets])
    centres = (torch.arange(grid, dtype=torch.float32) + 0.5) * size / grid
    cy, cx = torch.meshgrid(centres, centres, indexing="ij")
    cx, cy = cx.flatten(), cy.flatten()
    all_boxes, all_scores, all_labels = [], [], []
    for c in range(num_classes):
        chosen = boxes[labels == c]
        if len(chosen) == 0:
            continue
        w = float((chosen[:, 2] - chosen[:, 0]).mean())
        h = float((chosen[:, 3] - chosen[:, 1]).mean())
        all_boxes.append(torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1))
        all_scores.append(torch.full((len(cx),), len(chosen) / len(labels)))
        all_labels.append(torch.full((len(cx),), c, dtype=torch.int64))
    one = {"boxes": torch.cat(all_boxes), "scores": torch.cat(all_scores), "labels": torch.cat(all_labels)}
    return [{k: v.clone() for k, v in one.items()} for _ in range(n_images)]
