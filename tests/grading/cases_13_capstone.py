"""Submissions for 13_capstone that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work. CORRECT cases are
written differently from the solution and must keep full marks.

The solution's nms calls the student's box_iou, and mean_average_precision calls box_iou and
average_precision, so a mistake in those also costs the later tests that compare with a definition.
"""

from . import cheats
from .harness import Wrong, _solution_sources

ASSIGNMENT = "13_capstone"

_SOLUTIONS = _solution_sources(ASSIGNMENT)


def _edit(cell: str, *changes) -> str:
    """The solution of ``cell`` with each (old, new) replacement made exactly once."""
    source = _SOLUTIONS[cell]
    for old, new in changes:
        assert source.count(old) == 1, f"{cell}: {old!r} occurs {source.count(old)} times"
        source = source.replace(old, new)
    return source


def _iou(*changes):
    return {"box_iou": _edit("box_iou", *changes)}


def _nms(*changes):
    return {"nms": _edit("nms", *changes)}


def _ap(*changes):
    return {"average_precision": _edit("average_precision", *changes)}


def _map(*changes):
    return {"mean_average_precision": _edit("mean_average_precision", *changes)}


_AREAS = ("area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])",
          "area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])")
_IOU_ALL = {"test_iou", "test_nms", "test_map"}
_AP_ALL = {"test_ap", "test_map"}

WRONG = {
    # Part A: IoU.
    "iou_off_by_one_areas": Wrong(_iou(
        (_AREAS[0], "area1 = (boxes1[:, 2] - boxes1[:, 0] + 1) * (boxes1[:, 3] - boxes1[:, 1] + 1)"),
        (_AREAS[1], "area2 = (boxes2[:, 2] - boxes2[:, 0] + 1) * (boxes2[:, 3] - boxes2[:, 1] + 1)"),
        ("inter = (right - left).clamp(min=0) * (bottom - top).clamp(min=0)",
         "inter = (right - left + 1).clamp(min=0) * (bottom - top + 1).clamp(min=0)")), loses=_IOU_ALL),
    "iou_without_the_union": Wrong(_iou(
        ('union = rearrange(area1, "n -> n 1") + rearrange(area2, "m -> 1 m") - inter',
         'union = rearrange(area1, "n -> n 1") + rearrange(area2, "m -> 1 m")')), loses=_IOU_ALL),
    "iou_overlap_not_clamped": Wrong(_iou(
        ("inter = (right - left).clamp(min=0) * (bottom - top).clamp(min=0)", "inter = (right - left) * (bottom - top)")),
        loses=_IOU_ALL),
    "iou_nan_for_empty_boxes": Wrong(_iou(
        ("safe = torch.where(union > 0, union, torch.ones_like(union))\n    "
         "return torch.where(union > 0, inter / safe, torch.zeros_like(inter))", "return inter / union")),
        loses={"test_iou"}),
    "iou_accepts_inverted_boxes": Wrong(_iou(
        ("        if bool(((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])).any()):\n"
         '            raise ValueError(f"{name} has a box with x2 < x1 or y2 < y1: corners must be (x1, y1, x2, y2)")\n',
         "")), loses={"test_iou"}),
    "iou_shape_error_without_the_shape": Wrong(_iou(
        ('raise ValueError(f"{name} must have shape (N, 4), got {tuple(boxes.shape)}")',
         'raise ValueError(f"{name} must have four columns")')), loses={"test_iou"}),
    # Part B: NMS.
    "nms_across_classes": Wrong(_nms(
        ("alive &= ~((overlaps[i] > iou_threshold) & (labels == labels[i]))", "alive &= ~(overlaps[i] > iou_threshold)")),
        loses={"test_nms"}),
    "nms_suppresses_at_equal_iou": Wrong(_nms(
        ("(overlaps[i] > iou_threshold)", "(overlaps[i] >= iou_threshold)")), loses={"test_nms"}),
    "nms_ties_in_reverse_order": Wrong(_nms(
        ("order = torch.argsort(scores, descending=True, stable=True)", "order = torch.argsort(scores, stable=True).flip(0)")),
        loses={"test_nms"}),
    "nms_suppressed_boxes_still_suppress": Wrong({"nms": '''
def nms(boxes, scores, labels, iou_threshold=0.5):
    if not (len(boxes) == len(scores) == len(labels)):
        raise ValueError(f"boxes, scores and labels must have the same length, got {len(boxes)}, {len(scores)} and {len(labels)}")
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be between 0 and 1, got {iou_threshold}")
    order = torch.argsort(scores, descending=True, stable=True).tolist()
    overlaps = box_iou(boxes, boxes)
    keep = []
    for rank, i in enumerate(order):
        beaten = any(labels[j] == labels[i] and overlaps[i, j] > iou_threshold for j in order[:rank])
        if not beaten:
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)
'''}, loses={"test_nms"}),
    # Part C: AP.
    "ap_without_the_envelope": Wrong(_ap(
        ("total += float(envelope[reached[0, 0]])", "total += float(precision[reached[0, 0]])")), loses=_AP_ALL),
    "ap_recall_divided_by_detections": Wrong(_ap(("recall = tp / num_gt", "recall = tp / len(tp)")), loses=_AP_ALL),
    "ap_voc_area_under_the_envelope": Wrong(_ap(
        ("    total = 0.0\n    for k in range(101):\n        reached = torch.nonzero(recall >= k / 100)\n"
         "        if len(reached) > 0:\n            total += float(envelope[reached[0, 0]])\n    return total / 101",
         "    steps = torch.diff(recall, prepend=torch.zeros(1, dtype=recall.dtype))\n"
         "    return float((steps * envelope).sum())")), loses=_AP_ALL),
    "ap_eleven_points": Wrong(_ap(
        ("    for k in range(101):\n        reached = torch.nonzero(recall >= k / 100)",
         "    for k in range(11):\n        reached = torch.nonzero(recall >= k / 10)"),
        ("return total / 101", "return total / 11")), loses=_AP_ALL),
    "ap_ties_in_reverse_order": Wrong(_ap(
        ("order = torch.argsort(scores, descending=True, stable=True)", "order = torch.argsort(scores, stable=True).flip(0)")),
        loses=_AP_ALL),
    "ap_accepts_any_number": Wrong(_ap(
        ("if isinstance(num_gt, bool) or not isinstance(num_gt, int) or num_gt < 1:", "if num_gt < 1:")),
        loses={"test_ap"}),
    # Part D: matching and mAP.
    "map_averaged_over_images": Wrong({"mean_average_precision": _SOLUTIONS["mean_average_precision"].split(
        "def mean_average_precision")[0] + '''
def _map_of_one_image(det, gt, t):
    aps = []
    for c in sorted({int(c) for c in gt["labels"].tolist()}):
        mine, theirs = det["labels"] == c, gt["labels"] == c
        hits = match_detections(det["boxes"][mine], det["scores"][mine], gt["boxes"][theirs], t)
        aps.append(average_precision(det["scores"][mine], hits, int(theirs.sum())))
    return sum(aps) / len(aps) if aps else None


def mean_average_precision(detections, ground_truths, iou_thresholds=(0.5,)):
    if len(detections) != len(ground_truths):
        raise ValueError(f"detections has {len(detections)} images but ground_truths has {len(ground_truths)}")
    per_threshold = []
    for t in iou_thresholds:
        values = [v for v in (_map_of_one_image(d, g, t) for d, g in zip(detections, ground_truths)) if v is not None]
        if not values:
            raise ValueError("no ground-truth boxes in any image")
        per_threshold.append(sum(values) / len(values))
    return sum(per_threshold) / len(per_threshold)
'''}, loses={"test_map"}),
    "map_classes_without_ground_truth_count_as_zero": Wrong(_map(
        ('classes = sorted({int(c) for gt in ground_truths for c in gt["labels"].tolist()})\n    if not classes:',
         'classes = sorted({int(c) for gt in ground_truths for c in gt["labels"].tolist()}\n'
         '                     | {int(c) for det in detections for c in det["labels"].tolist()})\n'
         '    if not any(len(gt["labels"]) for gt in ground_truths):'),
        ("aps.append(average_precision(torch.cat(scores), torch.cat(hits), num_gt))",
         "aps.append(average_precision(torch.cat(scores), torch.cat(hits), num_gt) if num_gt else 0.0)")),
        loses={"test_map"}),
    "map_a_box_matched_twice": Wrong(_map(("            taken[best] = True\n", "")), loses={"test_map"}),
    "map_iou_must_exceed_the_threshold": Wrong(_map(
        ("if float(candidates[best]) >= iou_threshold:", "if float(candidates[best]) > iou_threshold:")), loses={"test_map"}),
    "map_matching_ignores_the_class": Wrong(_map(
        ('hits.append(match_detections(det["boxes"][mine], det["scores"][mine], gt["boxes"][theirs], t))',
         'hits.append(match_detections(det["boxes"][mine], det["scores"][mine], gt["boxes"], t))')), loses={"test_map"}),
    "map_matches_in_input_order": Wrong(_map(
        ("for d in torch.argsort(det_scores, descending=True, stable=True).tolist():", "for d in range(len(det_boxes)):")),
        loses={"test_map"}),
    "map_voc_best_box_even_if_taken": Wrong(_map(
        ("candidates = torch.where(taken, torch.full_like(overlaps[d], -1.0), overlaps[d])", "candidates = overlaps[d]"),
        ("if float(candidates[best]) >= iou_threshold:", "if float(candidates[best]) >= iou_threshold and not taken[best]:")),
        loses={"test_map"}),
    # Cheating: the course's reference metrics imported, wrapped or reached through a closure.
    "cheat_import_reference_iou": Wrong({"box_iou": "from attn_course.detection import box_iou\n"}, loses=_IOU_ALL),
    "cheat_wrap_reference_map": Wrong({"mean_average_precision": _SOLUTIONS["mean_average_precision"].split(
        "def mean_average_precision")[0] + '''
import attn_course.detection


def mean_average_precision(detections, ground_truths, iou_thresholds=(0.5,)):
    return attn_course.detection.mean_average_precision(detections, ground_truths, iou_thresholds)
'''}, loses={"test_map"}),
    "cheat_reference_ap_through_a_closure": Wrong({"average_precision": '''
def _make():
    reference = __import__("attn_course.detection.metrics", fromlist=["average_precision"]).average_precision

    def average_precision(scores, is_tp, num_gt):
        return reference(scores, is_tp, num_gt)
    return average_precision


average_precision = _make()
'''}, loses=_AP_ALL),
    "cheat_reference_matching": Wrong(_map(
        ("def match_detections(det_boxes, det_scores, gt_boxes, iou_threshold):",
         "from attn_course.detection.metrics import match_detections as _reference_match\n\n\n"
         "def match_detections(det_boxes, det_scores, gt_boxes, iou_threshold):\n"
         "    return _reference_match(det_boxes, det_scores, gt_boxes, iou_threshold)\n\n\n"
         "def _unused(det_boxes, det_scores, gt_boxes, iou_threshold):")), loses={"test_map"}),
    "cheat_tensor_subclass_lies": Wrong({"box_iou": cheats.LIAR_TENSOR + _edit("box_iou", (
        "return torch.where(union > 0, inter / safe, torch.zeros_like(inter))",
        "return (inter / (rearrange(area1, 'n -> n 1') + rearrange(area2, 'm -> 1 m'))).as_subclass(_Liar)"))},
        loses=_IOU_ALL),
    "cheat_number_that_equals_anything": Wrong({"average_precision": cheats.always_equal(
        "average_precision(scores, is_tp, num_gt)")}, loses=_AP_ALL),
}

CORRECT = {
    # Pairwise corners with None-indexing and relu; NMS over a shrinking list; AP with a backward
    # running maximum in Python; mAP grouped by class first.
    "relu_and_python_lists": {"box_iou": '''
def box_iou(boxes1, boxes2):
    for which, b in (("boxes1", boxes1), ("boxes2", boxes2)):
        if b.ndim != 2 or b.shape[-1] != 4:
            raise ValueError(f"{which}: expected shape (N, 4), received {list(b.shape)}")
        x1, y1, x2, y2 = b.unbind(dim=1)
        if bool((x2 < x1).any()) or bool((y2 < y1).any()):
            raise ValueError(f"{which}: every box needs x1 <= x2 and y1 <= y2")
    a1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    a2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lo = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])
    hi = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])
    side = F.relu(hi - lo)
    inter = side[..., 0] * side[..., 1]
    union = a1[:, None] + a2[None, :] - inter
    iou = inter / union.clamp(min=torch.finfo(union.dtype).tiny)
    return torch.where(union > 0, iou, torch.zeros_like(iou))
''', "nms": '''
def nms(boxes, scores, labels, iou_threshold=0.5):
    n = boxes.shape[0]
    if scores.shape[0] != n or labels.shape[0] != n:
        raise ValueError(f"lengths differ: {n} boxes, {scores.shape[0]} scores, {labels.shape[0]} labels")
    if iou_threshold < 0 or iou_threshold > 1:
        raise ValueError(f"iou_threshold={iou_threshold} is outside [0, 1]")
    s = scores.tolist()
    waiting = sorted(range(n), key=lambda i: (-s[i], i))
    iou = box_iou(boxes, boxes).tolist()
    lab = labels.tolist()
    kept = []
    while waiting:
        best = waiting.pop(0)
        kept.append(best)
        waiting = [j for j in waiting if lab[j] != lab[best] or not iou[best][j] > iou_threshold]
    return torch.tensor(kept, dtype=torch.long)
''', "average_precision": '''
def average_precision(scores, is_tp, num_gt):
    if type(num_gt) is not int or num_gt <= 0:
        raise ValueError(f"num_gt must be a positive int (at least 1 ground-truth box), got {num_gt!r}")
    if scores.numel() != is_tp.numel():
        raise ValueError(f"got {scores.numel()} scores but {is_tp.numel()} is_tp flags: lengths differ")
    hits = [bool(h) for h in is_tp.tolist()]
    if sum(hits) > num_gt:
        raise ValueError(f"{sum(hits)} true positives exceed num_gt = {num_gt}")
    s = scores.tolist()
    order = sorted(range(len(s)), key=lambda i: -s[i])
    precision, recall, tp = [], [], 0
    for n, i in enumerate(order, start=1):
        tp += hits[i]
        precision.append(tp / n)
        recall.append(tp / num_gt)
    for n in range(len(precision) - 2, -1, -1):
        precision[n] = max(precision[n], precision[n + 1])
    total, n = 0.0, 0
    for k in range(101):
        while n < len(recall) and recall[n] < k / 100:
            n += 1
        if n < len(recall):
            total += precision[n]
    return total / 101
''', "mean_average_precision": '''
def match_detections(det_boxes, det_scores, gt_boxes, iou_threshold):
    iou = box_iou(det_boxes, gt_boxes).tolist()
    s = det_scores.tolist()
    free = set(range(len(gt_boxes)))
    hit = [False] * len(s)
    for d in sorted(range(len(s)), key=lambda i: -s[i]):
        if not free:
            break
        g = max(sorted(free), key=lambda j: iou[d][j])       # max keeps the first of equals
        if iou[d][g] >= iou_threshold:
            hit[d] = True
            free.discard(g)
    return torch.tensor(hit, dtype=torch.bool)


def mean_average_precision(detections, ground_truths, iou_thresholds=(0.5,)):
    if len(detections) != len(ground_truths):
        raise ValueError(f"{len(detections)} detection entries vs {len(ground_truths)} ground-truth entries")
    by_class = {}
    for image, gt in enumerate(ground_truths):
        for c in gt["labels"].tolist():
            by_class.setdefault(c, set()).add(image)
    if not by_class:
        raise ValueError("mAP is undefined: there is no ground truth at all")
    total = 0.0
    for t in iou_thresholds:
        aps = []
        for c in sorted(by_class):
            all_scores, all_hits, count = [], [], 0
            for det, gt in zip(detections, ground_truths):
                d, g = det["labels"] == c, gt["labels"] == c
                count += int(g.sum())
                all_scores.append(det["scores"][d])
                all_hits.append(match_detections(det["boxes"][d], det["scores"][d], gt["boxes"][g], t))
            aps.append(average_precision(torch.cat(all_scores), torch.cat(all_hits), count))
        total += sum(aps) / len(aps)
    return total / len(iou_thresholds)
'''},
    # Separate max/min calls per coordinate and torch.where; AP with searchsorted and cummax;
    # NMS by masking a score-sorted matrix; mAP with the thresholds in the innermost loop.
    "searchsorted_and_masks": {"box_iou": '''
def box_iou(boxes1, boxes2):
    if boxes1.dim() != 2 or boxes1.size(1) != 4:
        raise ValueError(f"boxes1 has shape {tuple(boxes1.shape)}; boxes must be (N, 4)")
    if boxes2.dim() != 2 or boxes2.size(1) != 4:
        raise ValueError(f"boxes2 has shape {tuple(boxes2.shape)}; boxes must be (N, 4)")
    for b in (boxes1, boxes2):
        if (b[:, 2] - b[:, 0]).lt(0).any() or (b[:, 3] - b[:, 1]).lt(0).any():
            raise ValueError("inverted box: x2 is smaller than x1 or y2 is smaller than y1")
    ax1, ay1, ax2, ay2 = [rearrange(v, "n -> n 1") for v in boxes1.unbind(1)]
    bx1, by1, bx2, by2 = [rearrange(v, "m -> 1 m") for v in boxes2.unbind(1)]
    w = torch.clamp(torch.min(ax2, bx2) - torch.max(ax1, bx1), min=0)
    h = torch.clamp(torch.min(ay2, by2) - torch.max(ay1, by1), min=0)
    inter = w * h
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    empty = union == 0
    return torch.where(empty, torch.zeros_like(inter), inter / torch.where(empty, torch.ones_like(union), union))
''', "nms": '''
def nms(boxes, scores, labels, iou_threshold=0.5):
    if len({len(boxes), len(scores), len(labels)}) != 1:
        raise ValueError(f"one score and label per box: got {len(boxes)} boxes, {len(scores)} scores, {len(labels)} labels")
    if not (0.0 <= float(iou_threshold) <= 1.0):
        raise ValueError(f"iou_threshold {iou_threshold} must be in [0, 1]")
    order = torch.sort(scores, descending=True, stable=True).indices
    b, l = boxes[order], labels[order]
    clash = (box_iou(b, b) > iou_threshold) & (l[:, None] == l[None, :])
    kept = torch.zeros(len(order), dtype=torch.bool)
    for i in range(len(order)):
        kept[i] = not bool((clash[i, :i] & kept[:i]).any())
    return order[kept].to(torch.int64)
''', "average_precision": '''
def average_precision(scores, is_tp, num_gt):
    if not isinstance(num_gt, int) or isinstance(num_gt, bool) or not num_gt >= 1:
        raise ValueError(f"num_gt={num_gt!r}: need an int >= 1 ground-truth boxes")
    if len(scores) != len(is_tp):
        raise ValueError(f"{len(scores)} scores and {len(is_tp)} is_tp values differ")
    if is_tp.sum().item() > num_gt:
        raise ValueError(f"{int(is_tp.sum())} true positives > {num_gt} ground truth")
    if scores.numel() == 0:
        return 0.0
    idx = torch.sort(scores, descending=True, stable=True).indices
    tp = is_tp[idx].to(torch.float64).cumsum(0)
    fp = (~is_tp[idx]).to(torch.float64).cumsum(0)
    recall = tp / num_gt
    precision = tp / (tp + fp)
    envelope = precision.flip(0).cummax(0).values.flip(0)
    levels = torch.arange(0, 101, dtype=torch.float64) / 100
    where = torch.searchsorted(recall, levels)
    padded = torch.cat([envelope, torch.zeros(1, dtype=torch.float64)])
    return padded[where].mean().item()
''', "mean_average_precision": '''
def match_detections(det_boxes, det_scores, gt_boxes, iou_threshold):
    matched = torch.zeros(det_boxes.shape[0], dtype=torch.bool)
    if det_boxes.shape[0] * gt_boxes.shape[0] == 0:
        return matched
    iou = box_iou(det_boxes, gt_boxes)
    for d in torch.sort(det_scores, descending=True, stable=True).indices.tolist():
        value, g = iou[d].max(dim=0)
        if float(value) < iou_threshold or float(value) < 0:
            continue
        matched[d] = True
        iou[:, g] = -1.0
    return matched


def mean_average_precision(detections, ground_truths, iou_thresholds=(0.5,)):
    if len(ground_truths) != len(detections):
        raise ValueError(f"got {len(detections)} images of detections and {len(ground_truths)} of ground truth")
    labels = torch.cat([g["labels"] for g in ground_truths]) if ground_truths else torch.zeros(0)
    if labels.numel() == 0:
        raise ValueError("no ground truth in any image, so mAP is undefined")
    per_t = {t: [] for t in iou_thresholds}
    for c in labels.unique().tolist():
        n_gt = int((labels == c).sum())
        for t in iou_thresholds:
            s, h = [], []
            for det, gt in zip(detections, ground_truths):
                keep = det["labels"] == c
                s.append(det["scores"][keep])
                h.append(match_detections(det["boxes"][keep], det["scores"][keep], gt["boxes"][gt["labels"] == c], t))
            per_t[t].append(average_precision(torch.cat(s), torch.cat(h), n_gt))
    return sum(sum(v) / len(v) for v in per_t.values()) / len(per_t)
'''},
    # Only the NMS and AP written a third way: a keep mask updated with a loop over j, and the 101
    # levels read with a (levels × detections) mask.
    "mask_matrix": {"nms": '''
def nms(boxes, scores, labels, iou_threshold=0.5):
    if boxes.shape[0] != scores.shape[0] or boxes.shape[0] != labels.shape[0]:
        raise ValueError(f"boxes ({boxes.shape[0]}), scores ({scores.shape[0]}) and labels ({labels.shape[0]}) must match in length")
    if iou_threshold > 1 or iou_threshold < 0:
        raise ValueError(f"iou_threshold must lie between 0 and 1, not {iou_threshold}")
    n = boxes.shape[0]
    rank = sorted(range(n), key=lambda i: (-float(scores[i]), i))
    ious = box_iou(boxes, boxes)
    suppressed = [False] * n
    out = []
    for a, i in enumerate(rank):
        if suppressed[i]:
            continue
        out.append(i)
        for j in rank[a + 1:]:
            if int(labels[j]) == int(labels[i]) and float(ious[i, j]) > iou_threshold:
                suppressed[j] = True
    return torch.as_tensor(out, dtype=torch.int64).reshape(-1)
''', "average_precision": '''
def average_precision(scores, is_tp, num_gt):
    if isinstance(num_gt, bool) or not isinstance(num_gt, int):
        raise ValueError(f"num_gt must be an int, at least 1; got {num_gt!r}")
    if num_gt < 1:
        raise ValueError(f"num_gt must be at least 1 (AP needs ground truth), got {num_gt}")
    if scores.shape[0] != is_tp.shape[0]:
        raise ValueError(f"scores has {scores.shape[0]} entries and is_tp {is_tp.shape[0]}: they must match")
    if int(is_tp.sum()) > num_gt:
        raise ValueError(f"there are {int(is_tp.sum())} true positives for only {num_gt} ground-truth boxes")
    if scores.shape[0] == 0:
        return 0.0
    order = torch.argsort(-scores.double(), stable=True)
    tp = torch.cumsum(is_tp[order].double(), 0)
    precision = tp / torch.arange(1, tp.numel() + 1, dtype=torch.float64)
    recall = tp / num_gt
    levels = rearrange(torch.arange(101, dtype=torch.float64) / 100, "k -> k 1")
    reach = recall[None, :] >= levels                     # (101, D)
    best = torch.where(reach, precision[None, :], torch.zeros(1, dtype=torch.float64)).amax(dim=1)
    return float(best.sum() / 101)
'''},
}
