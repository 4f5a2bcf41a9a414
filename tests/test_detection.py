"""attn_course.detection: the metrics against loop definitions, edge cases and pycocotools; the data
set; the detector (every attention key plugs in, and training beats a trivial baseline); the sweep's
summary rules and its stored results."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import torch

from attn_course import available_attention
from attn_course.detection.data import _box
from attn_course.detection import (COCO_IOU_THRESHOLDS, TinyDetector, average_precision, box_iou,
                                   detect, evaluate, load_results, make_dataset, match_detections,
                                   mean_average_precision, nms, summarise, train_detector,
                                   trivial_baseline, verdict)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "solutions" / "13_capstone" / "detection_results.json"


# ------------------------------------------------------------------------------- loop definitions
def iou_loop(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def nms_loop(boxes, scores, labels, t):
    b, s, l = boxes.tolist(), scores.tolist(), labels.tolist()
    kept = []
    for i in sorted(range(len(s)), key=lambda i: -s[i]):
        if all(l[j] != l[i] or not iou_loop(b[i], b[j]) > t for j in kept):
            kept.append(i)
    return kept


def ap_loop(scores, hits, num_gt):
    s, h = scores.tolist(), hits.tolist()
    precision, recall, tp = [], [], 0
    for n, i in enumerate(sorted(range(len(s)), key=lambda i: -s[i]), start=1):
        tp += h[i]
        precision.append(tp / n)
        recall.append(tp / num_gt)
    return sum(max([p for p, r in zip(precision, recall) if r >= k / 100], default=0.0)
               for k in range(101)) / 101


def random_boxes(n, g):
    corner = torch.rand(n, 2, generator=g, dtype=torch.float64) * 20
    return torch.cat([corner, corner + torch.rand(n, 2, generator=g, dtype=torch.float64) * 10 + 1], 1)


# -------------------------------------------------------------------------------------------- IoU
def test_box_iou_equals_the_loop_definition_and_keeps_gradients():
    g = torch.Generator().manual_seed(0)
    a, b = random_boxes(5, g), random_boxes(3, g)
    got = box_iou(a, b)
    want = torch.tensor([[iou_loop(x, y) for y in b.tolist()] for x in a.tolist()], dtype=torch.float64)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    a.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: box_iou(t, b), (a,))


def test_box_iou_edge_cases():
    boxes = torch.tensor([[0.0, 0, 1, 1], [1, 0, 2, 1], [2, 2, 2, 2], [0, 0, 2, 2]])
    iou = box_iou(boxes, boxes)
    assert iou[0, 1] == 0 and iou[2, 2] == 0 and iou[0, 3] == 0.25 and iou[0, 0] == 1
    assert not torch.isnan(iou).any()
    assert box_iou(torch.zeros(0, 4), boxes).shape == (0, 4)
    assert box_iou(boxes.half(), boxes.half()).dtype == torch.float16


@pytest.mark.parametrize("bad, words", [(torch.zeros(4), "(N, 4)"), (torch.zeros(2, 3), "(2, 3)"),
                                        (torch.tensor([[2.0, 0, 1, 1]]), "x2 >= x1")])
def test_box_iou_rejects_bad_boxes(bad, words):
    with pytest.raises(ValueError, match=__import__("re").escape(words)):
        box_iou(bad, torch.zeros(1, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        box_iou([[0, 0, 1, 1]], torch.zeros(1, 4))


# -------------------------------------------------------------------------------------------- NMS
def test_nms_equals_the_loop_definition_with_ties_and_classes():
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        n = 1 + seed
        corner = torch.randint(0, 10, (n, 2), generator=g).double()
        boxes = torch.cat([corner, corner + torch.randint(1, 6, (n, 2), generator=g).double()], 1)
        scores = torch.floor(torch.rand(n, generator=g) * 3) / 3
        labels = torch.randint(0, 1 + seed % 3, (n,), generator=g)
        for t in (0.0, 1 / 3, 0.5, 1.0):
            kept = nms(boxes, scores, labels, t)
            assert kept.dtype == torch.int64 and kept.tolist() == nms_loop(boxes, scores, labels, t)


def test_nms_rules():
    half = torch.tensor([[0.0, 0, 3, 1], [1, 0, 4, 1]])               # IoU exactly 0.5
    assert nms(half, torch.tensor([0.9, 0.8]), torch.tensor([0, 0]), 0.5).tolist() == [0, 1]
    assert nms(half, torch.tensor([0.5, 0.5]), torch.tensor([0, 0]), 0.4).tolist() == [0]
    assert nms(half, torch.tensor([0.5, 0.5]), torch.tensor([0, 1]), 0.4).tolist() == [0, 1]
    assert nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64)).shape == (0,)
    with pytest.raises(ValueError, match="boxes has 2, scores has 1"):
        nms(half, torch.tensor([0.5]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="1.5"):
        nms(half, torch.tensor([0.5, 0.4]), torch.tensor([0, 0]), 1.5)


# --------------------------------------------------------------------------------------------- AP
def test_average_precision_equals_the_loop_definition():
    for seed in range(30):
        g = torch.Generator().manual_seed(seed)
        d = 1 + seed
        scores = torch.floor(torch.rand(d, generator=g) * (2 + seed % 5)) / 5      # ties
        hits = torch.rand(d, generator=g) < 0.6
        num_gt = int(hits.sum()) + seed % 4 or 1
        hits = hits if int(hits.sum()) <= num_gt else torch.zeros_like(hits)
        assert average_precision(scores, hits, num_gt) == pytest.approx(ap_loop(scores, hits, num_gt), abs=1e-12)


def test_average_precision_edge_cases():
    assert average_precision(torch.zeros(0), torch.zeros(0, dtype=torch.bool), 3) == 0.0
    assert average_precision(torch.tensor([0.9, 0.8, 0.7]), torch.tensor([False, True, True]), 3) == \
        pytest.approx(67 * (2 / 3) / 101)                               # the envelope lifts r <= 2/3
    assert average_precision(torch.tensor([0.5, 0.5]), torch.tensor([False, True]), 1) == pytest.approx(0.5)
    for bad in (0, -1, True, 2.0):
        with pytest.raises(ValueError, match="num_gt"):
            average_precision(torch.tensor([0.5]), torch.tensor([True]), bad)
    with pytest.raises(ValueError, match="2 true positives"):
        average_precision(torch.tensor([0.5, 0.4]), torch.tensor([True, True]), 1)


def test_matching_is_greedy_by_score_and_never_matches_twice():
    gt = torch.tensor([[0.0, 0, 4, 5]])
    dets = torch.tensor([[1.0, 0, 4, 5], [0, 0, 2, 5]])                  # IoU 0.75 and 0.5
    assert match_detections(dets, torch.tensor([0.9, 0.95]), gt, 0.5).tolist() == [False, True]
    assert match_detections(dets, torch.tensor([0.9, 0.95]), gt, 0.75).tolist() == [True, False]
    assert match_detections(dets, torch.tensor([0.9, 0.95]), torch.zeros(0, 4), 0.5).tolist() == [False, False]


def test_map_skips_classes_without_ground_truth_and_rejects_bad_input():
    dets = [{"boxes": torch.tensor([[0.0, 0, 5, 5], [9, 9, 12, 12]]), "scores": torch.tensor([0.3, 0.99]),
             "labels": torch.tensor([0, 4])}]
    gts = [{"boxes": torch.tensor([[0.0, 0, 5, 5]]), "labels": torch.tensor([0])}]
    assert mean_average_precision(dets, gts) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="2 images but ground_truths 1"):
        mean_average_precision(dets * 2, gts)
    with pytest.raises(ValueError, match="undefined without ground truth"):
        mean_average_precision(dets, [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}])


# ----------------------------------------------------------------------------- against pycocotools
def _coco_scene(seed):
    """Random images whose ground-truth counts per class (13, 7, 17) are prime to 100, so no recall
    lands exactly on a level k/100, where np.linspace and k/100 can differ by one ulp."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.tensor([0] * 13 + [1] * 7 + [2] * 17)[torch.randperm(37, generator=g)]
    image_of = torch.randint(0, 10, (37,), generator=g)
    dets, gts = [], []
    for i in range(10):
        lab = labels[image_of == i]
        boxes = random_boxes(len(lab), g) * 2
        found = boxes + torch.randn(len(lab), 4, generator=g, dtype=torch.float64) * 1.5
        found = torch.cat([torch.minimum(found[:, :2], found[:, 2:]), torch.maximum(found[:, :2], found[:, 2:])], 1)
        extra = random_boxes(4, g) * 2
        d_labels = torch.cat([lab, torch.randint(0, 3, (4,), generator=g)])
        d_labels[:len(lab)] = torch.where(torch.rand(len(lab), generator=g) < 0.2, (lab + 1) % 3, lab)
        dets.append({"boxes": torch.cat([found, extra]), "labels": d_labels,
                     "scores": torch.rand(len(d_labels), generator=g, dtype=torch.float64)})
        gts.append({"boxes": boxes, "labels": lab})
    return dets, gts


def _pycocotools_map(dets, gts):
    coco_module = pytest.importorskip("pycocotools.coco")
    from pycocotools.cocoeval import COCOeval

    def xywh(b):
        return [b[0], b[1], b[2] - b[0], b[3] - b[1]]

    annotations = [{"id": k, "image_id": i + 1, "category_id": c + 1, "bbox": xywh(b), "iscrowd": 0,
                    "area": (b[2] - b[0]) * (b[3] - b[1])}
                   for k, (i, b, c) in enumerate(((i, b, c) for i, gt in enumerate(gts)
                                                  for b, c in zip(gt["boxes"].tolist(), gt["labels"].tolist())), 1)]
    results = [{"image_id": i + 1, "category_id": c + 1, "bbox": xywh(b), "score": s}
               for i, det in enumerate(dets)
               for b, s, c in zip(det["boxes"].tolist(), det["scores"].tolist(), det["labels"].tolist())]
    with contextlib.redirect_stdout(io.StringIO()):
        truth = coco_module.COCO()
        truth.dataset = {"images": [{"id": i + 1} for i in range(len(gts))], "annotations": annotations,
                         "categories": [{"id": c} for c in (1, 2, 3)]}
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats[1], evaluation.stats[0]          # AP@0.5, AP@0.5:0.95 (maxDets 100)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_agrees_with_pycocotools(seed):
    dets, gts = _coco_scene(seed)
    at_50, at_coco = _pycocotools_map(dets, gts)
    ours = evaluate(dets, gts)
    assert 0.05 < ours["map"] < ours["map50"] < 1
    assert ours["map50"] == pytest.approx(at_50, abs=1e-12)
    assert ours["map"] == pytest.approx(at_coco, abs=1e-12)
    assert mean_average_precision(dets, gts, COCO_IOU_THRESHOLDS) == ours["map"]


# -------------------------------------------------------------------------- data, model, training
def test_dataset_is_seeded_and_its_boxes_are_exact():
    images, targets = make_dataset(6, seed=3)
    again, targets_again = make_dataset(6, seed=3)
    assert torch.equal(images, again) and all(torch.equal(a["boxes"], b["boxes"]) for a, b in zip(targets, targets_again))
    assert images.shape == (6, 3, 64, 64) and 0 <= float(images.min()) and float(images.max()) <= 1
    for target in targets:
        boxes = target["boxes"]
        assert 1 <= len(boxes) <= 4 and bool(((boxes[:, 2:] - boxes[:, :2]) >= 8).all())
        assert float(box_iou(boxes, boxes).fill_diagonal_(0).max()) == 0      # objects never overlap
    mask = torch.zeros(10, 10, dtype=torch.bool)
    mask[2:5, 3:7] = True
    mask[4, 2] = True
    assert _box(mask) == [2.0, 2.0, 7.0, 5.0]          # painted columns 2..6, rows 2..4
    with pytest.raises(ValueError, match="min_size"):
        make_dataset(2, min_size=30, max_size=20)


@pytest.mark.parametrize("key", [None, *available_attention()])
def test_every_attention_key_plugs_into_the_detector(key):
    model = TinyDetector(key)
    out = model(torch.rand(2, 3, 32, 48))     # SK normalises over the batch in training mode
    assert out["heatmap"].shape == (2, 3, 8, 12) and out["size"].shape == (2, 2, 8, 12)
    if key is not None:
        assert type(model.block3.attention).__module__.startswith("attn_course.modules")


def test_detector_rejects_bad_images():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        TinyDetector()(torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError, match="divisible by 4"):
        TinyDetector()(torch.rand(1, 3, 18, 16))


def test_training_beats_the_trivial_baseline():
    torch.manual_seed(0)
    train_x, train_t = make_dataset(128, seed=0)
    val_x, val_t = make_dataset(48, seed=1)
    model = TinyDetector()
    losses = train_detector(model, train_x, train_t, steps=60, batch_size=16, seed=0)
    trained = evaluate(detect(model, val_x), val_t)
    trivial = evaluate(trivial_baseline(train_t, len(val_t)), val_t)
    assert losses[-1] < losses[0] / 2
    assert trivial["map50"] < 0.02 and trained["map50"] > trivial["map50"] + 0.05


# ----------------------------------------------------------------------------- the sweep's summary
def test_verdicts_call_differences_inside_the_spread_ties():
    base = summarise([0.50, 0.52, 0.48])
    assert verdict(summarise([0.53, 0.55, 0.51]), base) == "tie"
    assert verdict(summarise([0.60, 0.61, 0.62]), base) == "better"
    assert verdict(summarise([0.40, 0.41, 0.39]), base) == "worse"
    with pytest.raises(FileNotFoundError, match="detection_sweep.py"):
        load_results(ROOT / "no-such-results.json")


def test_stored_sweep_covers_every_module_with_a_spread():
    results = json.loads(RESULTS.read_text())
    keys = [row["key"] for row in results["rows"]]
    assert keys == ["baseline", *available_attention()]
    assert len(results["settings"]["seeds"]) >= 2
    for row in results["rows"]:
        assert row["map50"]["n"] == len(results["settings"]["seeds"]) and row["params"] > 0 and row["flops"] > 0
        assert row["latency_ms"] > 0 and row["verdict_map50"] in ("better", "worse", "tie")
    for field in ("machine", "torch", "date", "commit"):
        assert results["provenance"][field]
    assert results["rows"][0]["map50"]["mean"] > results["trivial_baseline"]["map50"] + 0.1
