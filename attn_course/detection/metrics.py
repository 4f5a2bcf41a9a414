"""Detection metrics: IoU, per-class NMS, average precision and mAP, as the capstone defines them.

Boxes are ``(x1, y1, x2, y2)`` in continuous pixel coordinates, with ``x2 >= x1`` and ``y2 >= y1``;
a box covering pixel columns 3..6 is ``x1 = 3, x2 = 7``. Its area is ``(x2 - x1) * (y2 - y1)``
(no "+1": that was the convention of old pixel-index code, and pycocotools does not use it).

* IoU:  ``IoU(a, b) = |a ∩ b| / (|a| + |b| - |a ∩ b|)``, and 0 when the union is empty.
* NMS, per class: visit the boxes by descending score (equal scores: lower index first); keep a box
  unless a kept box *of the same class* overlaps it with ``IoU > threshold`` (an IoU equal to the
  threshold does not suppress, as in torchvision).
* Matching (one image, one class, one IoU threshold ``t``), COCO's greedy rule: detections by
  descending score (ties: input order); each takes the still unmatched ground-truth box with the
  highest IoU (ties: lower index) if that IoU is ``>= t``; it is then a true positive, else a false
  positive.
* AP of one class, COCO's 101-point interpolation: sort all detections of the class (every image)
  by descending score (ties: image order, then input order), and after the first ``n`` of them

      recall_n = TP_n / num_gt,   precision_n = TP_n / n,

  take the precision envelope ``p̂_n = max_{m >= n} precision_m`` and average, over the 101 recall
  levels ``r = 0, 0.01, ..., 1``, the envelope at the first ``n`` with ``recall_n >= r`` (0 where no
  ``n`` reaches ``r``):

      AP = (1/101) Σ_{k=0}^{100} max{ precision_n : recall_n >= k/100 }.

* mAP: the mean of AP over the classes that have ground truth (a class without ground truth is
  skipped, as pycocotools does), then averaged over the IoU thresholds: ``(0.5,)`` gives mAP@0.5,
  :data:`COCO_IOU_THRESHOLDS` (0.50, 0.55, ..., 0.95) COCO's mAP@0.5:0.95.

Recall levels are exactly ``k / 100``; pycocotools builds them with ``np.linspace``, whose 0.07 is
0.07000000000000001, so the two can differ when a recall lands exactly on a multiple of 1/100 (the
test suite compares them on ground-truth counts where that cannot happen).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["COCO_IOU_THRESHOLDS", "box_iou", "nms", "average_precision", "match_detections",
           "mean_average_precision", "evaluate"]

COCO_IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def _check_boxes(boxes, name: str) -> torch.Tensor:
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 4), got {type(boxes).__name__}.")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) with rows (x1, y1, x2, y2), got shape "
                         f"{tuple(boxes.shape)}.")
    if not boxes.is_floating_point():
        boxes = boxes.to(torch.get_default_dtype())
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {boxes[i].tolist()} is inverted: every box needs x2 >= x1 "
                         "and y2 >= y1 (corners as (x1, y1, x2, y2), not (x, y, w, h)).")
    return boxes


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """The (N, M) matrix of IoUs between boxes1 (N, 4) and boxes2 (M, 4), both (x1, y1, x2, y2).

    ``IoU = inter / (area1 + area2 - inter)``, with ``inter`` the area of the intersection (0 for
    disjoint or touching boxes) and IoU = 0 where the union is empty (two empty boxes).
    Raises ValueError for a shape other than (N, 4) or a box with x2 < x1 or y2 < y1.
    """
    a, b = _check_boxes(boxes1, "boxes1"), _check_boxes(boxes2, "boxes2")
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    positive = union > 0
    return torch.where(positive, inter / torch.where(positive, union, torch.ones_like(union)),
                       torch.zeros_like(union))


def _check_threshold(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}.")
    return float(value)


def _check_lengths(**tensors) -> int:
    lengths = {name: len(t) for name, t in tensors.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{n} has {k}" for n, k in lengths.items())
        raise ValueError(f"one entry per detection is needed in each argument, but {shown}.")
    return next(iter(lengths.values()))


def nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
        iou_threshold: float = 0.5) -> torch.Tensor:
    """Per-class non-maximum suppression: the indices kept, by descending score (int64).

    Boxes of different labels never suppress each other; a box is suppressed by a kept box of its
    class with IoU strictly greater than ``iou_threshold``; equal scores: the lower index first.
    """
    boxes = _check_boxes(boxes, "boxes")
    n = _check_lengths(boxes=boxes, scores=scores, labels=labels)
    threshold = _check_threshold(iou_threshold, "iou_threshold")
    order = torch.argsort(scores, descending=True, stable=True)
    overlaps = box_iou(boxes, boxes)
    suppressed = torch.zeros(n, dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= (overlaps[i] > threshold) & (labels == labels[i])
    return torch.tensor(keep, dtype=torch.int64)


def _check_num_gt(num_gt) -> int:
    if isinstance(num_gt, bool) or not isinstance(num_gt, int) or num_gt < 1:
        raise ValueError(f"num_gt must be an int of at least 1 (AP is undefined for a class without "
                         f"ground truth), got {num_gt!r}.")
    return num_gt


def average_precision(scores: torch.Tensor, is_tp: torch.Tensor, num_gt: int) -> float:
    """AP of one class, COCO's 101-point interpolation with the precision envelope (module doc).

    ``scores`` (D,) and ``is_tp`` (D,) describe every detection of the class; ``num_gt`` counts its
    ground-truth boxes. No detections give 0.0.
    """
    num_gt = _check_num_gt(num_gt)
    _check_lengths(scores=scores, is_tp=is_tp)
    hits = int(is_tp.sum())
    if hits > num_gt:
        raise ValueError(f"{hits} true positives but only num_gt={num_gt} ground-truth boxes: each "
                         "ground-truth box can be matched once.")
    if len(scores) == 0:
        return 0.0
    order = torch.argsort(scores, descending=True, stable=True)
    tp = is_tp[order].to(torch.float64)
    cum_tp = torch.cumsum(tp, 0)
    recall = cum_tp / num_gt
    precision = cum_tp / torch.arange(1, len(tp) + 1, dtype=torch.float64)
    envelope = torch.flip(torch.cummax(torch.flip(precision, [0]), 0).values, [0])
    levels = torch.arange(101, dtype=torch.float64) / 100
    first = torch.searchsorted(recall, levels, side="left")
    reached = first < len(recall)
    interpolated = torch.where(reached, envelope[first.clamp(max=len(recall) - 1)],
                               torch.zeros_like(levels))
    return float(interpolated.mean())


def _greedy(overlaps: list[list[float]], order: list[int], threshold: float) -> list[bool]:
    """COCO's greedy matching on a plain IoU table (rows: detections, columns: ground truth)."""
    is_tp = [False] * len(overlaps)
    taken = [False] * (len(overlaps[0]) if overlaps else 0)
    for d in order:
        best, best_iou = -1, -1.0
        for g, value in enumerate(overlaps[d]):
            if not taken[g] and value > best_iou:       # strict: ties keep the lower index
                best, best_iou = g, value
        if best >= 0 and best_iou >= threshold:
            is_tp[d], taken[best] = True, True
    return is_tp


def match_detections(det_boxes: torch.Tensor, det_scores: torch.Tensor, gt_boxes: torch.Tensor,
                     iou_threshold: float) -> torch.Tensor:
    """COCO's greedy matching in one image for one class: a (D,) bool tensor, True = true positive."""
    _check_lengths(det_boxes=det_boxes, det_scores=det_scores)
    overlaps = box_iou(det_boxes, gt_boxes).tolist()
    order = torch.argsort(det_scores, descending=True, stable=True).tolist()
    return torch.tensor(_greedy(overlaps, order, float(iou_threshold)), dtype=torch.bool)


def _check_images(detections, ground_truths) -> None:
    if not isinstance(detections, Sequence) or not isinstance(ground_truths, Sequence):
        raise TypeError("detections and ground_truths must be lists with one dict per image.")
    if len(detections) != len(ground_truths):
        raise ValueError(f"detections cover {len(detections)} images but ground_truths "
                         f"{len(ground_truths)}: give one entry per image in both.")


def mean_average_precision(detections: Sequence[dict], ground_truths: Sequence[dict],
                           iou_thresholds=(0.5,)) -> float:
    """mAP over the classes with ground truth, averaged over ``iou_thresholds`` (module doc).

    ``detections[i]``: ``{"boxes": (D, 4), "scores": (D,), "labels": (D,)}`` for image ``i``;
    ``ground_truths[i]``: ``{"boxes": (G, 4), "labels": (G,)}``.
    """
    _check_images(detections, ground_truths)
    thresholds = [_check_threshold(t, "each IoU threshold") for t in iou_thresholds]
    if not thresholds:
        raise ValueError("iou_thresholds is empty: give at least one, e.g. (0.5,).")
    classes = sorted({int(c) for gt in ground_truths for c in gt["labels"].tolist()})
    if not classes:
        raise ValueError(f"none of the {len(ground_truths)} images has a ground-truth box: mAP is "
                         "undefined without ground truth.")
    # Per class and image: the IoU table and the score order, shared by every threshold.
    tables = {c: [] for c in classes}
    for det, gt in zip(detections, ground_truths):
        for c in classes:
            d, g = det["labels"] == c, gt["labels"] == c
            scores = det["scores"][d]
            tables[c].append((scores, box_iou(det["boxes"][d], gt["boxes"][g]).tolist(),
                              torch.argsort(scores, descending=True, stable=True).tolist(), int(g.sum())))
    per_threshold = []
    for t in thresholds:
        aps = []
        for c in classes:
            scores = torch.cat([entry[0] for entry in tables[c]])
            hits = torch.tensor([hit for _, overlaps, order, _ in tables[c]
                                 for hit in _greedy(overlaps, order, t)], dtype=torch.bool)
            aps.append(average_precision(scores, hits, sum(entry[3] for entry in tables[c])))
        per_threshold.append(sum(aps) / len(aps))
    return sum(per_threshold) / len(per_threshold)


def evaluate(detections: Sequence[dict], ground_truths: Sequence[dict]) -> dict[str, float]:
    """``{"map50": mAP@0.5, "map": mAP@0.5:0.95}``."""
    return {"map50": mean_average_precision(detections, ground_truths, (0.5,)),
            "map": mean_average_precision(detections, ground_truths, COCO_IOU_THRESHOLDS)}
