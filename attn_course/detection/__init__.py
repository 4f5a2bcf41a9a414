"""The capstone's detection toolkit: a synthetic detection set, a small detector with the course's
attention plug points, its training, the reference detection metrics (IoU, NMS, AP, mAP) and the
experiment behind the results table (``benchmarks/detection_sweep.py``).

    >>> from attn_course.detection import make_dataset, TinyDetector, train_detector, detect, evaluate
    >>> images, targets = make_dataset(8, seed=0)
    >>> model = TinyDetector("cbam")            # or None for the plain baseline, impl="mine" for yours
"""

from .data import CLASSES, make_dataset
from .experiment import SWEEP, load_results, model_cost, summarise, train_and_evaluate, verdict
from .metrics import (COCO_IOU_THRESHOLDS, average_precision, box_iou, evaluate, match_detections,
                      mean_average_precision, nms)
from .model import MODULE_OPTIONS, STRIDE, TinyDetector, decode
from .train import (autograding, detect, detection_loss, make_targets, progress_bar, train_detector,
                    trivial_baseline)

__all__ = ["CLASSES", "COCO_IOU_THRESHOLDS", "MODULE_OPTIONS", "STRIDE", "SWEEP", "TinyDetector",
           "autograding", "average_precision", "box_iou", "decode", "detect", "detection_loss",
           "evaluate", "load_results", "make_dataset", "make_targets", "match_detections",
           "mean_average_precision", "model_cost", "nms", "progress_bar", "summarise",
           "train_and_evaluate", "train_detector", "trivial_baseline", "verdict"]
