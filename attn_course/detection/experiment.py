"""The experiment behind the capstone's results table: train a detector per attention module and seed,
measure its cost, and summarise without over-claiming.

* cost: learnable parameters; FLOPs of one forward pass on one ``size × size`` image counted by
  :class:`torch.utils.flop_counter.FlopCounterMode` (convolutions and matrix products, 2 per
  multiply-add; elementwise work such as a sigmoid gate is not counted); latency of that forward
  pass (:func:`attn_course.timing.time_module`, median) on the machine that ran it.
* accuracy: mAP@0.5 and mAP@0.5:0.95 on a held-out set, as mean and sample standard deviation over
  training seeds (the data stay fixed; the seed changes the initial weights and the batches).
* verdict against the baseline: ``better`` / ``worse`` only when the means differ by more than the
  sum of the two standard deviations; anything inside that spread is a ``tie``.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from .data import make_dataset
from .metrics import evaluate
from .model import TinyDetector
from .train import detect, train_detector

__all__ = ["SWEEP", "model_cost", "train_and_evaluate", "summarise", "verdict", "load_results"]

# The sweep's settings (benchmarks/detection_sweep.py); the notebook trains shorter.
SWEEP = {"n_train": 512, "n_val": 256, "data_seed": 0, "val_seed": 1, "steps": 150,
         "batch_size": 32, "lr": 3e-3, "seeds": (0, 1, 2), "size": 64}


def model_cost(key: str | None, *, size: int = 64, latency: bool = True) -> dict:
    """``{"params", "flops", "latency_ms", "latency_iqr_ms"}`` of ``TinyDetector(key)`` (module doc)."""
    from ..timing import time_module

    torch.manual_seed(0)
    model = TinyDetector(key).eval()
    x = torch.rand(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    cost = {"params": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "flops": int(counter.get_total_flops())}
    if latency:
        timing = time_module(model, x, min_run_time=0.3)
        cost.update(latency_ms=timing.median_ms, latency_iqr_ms=timing.iqr_ms)
    return cost


def train_and_evaluate(key: str | None, seed: int, data=None, *, steps: int, batch_size: int = 32,
                       lr: float = 3e-3, impl: str = "reference", progress: bool = False) -> dict:
    """Train ``TinyDetector(key)`` from seed ``seed`` and evaluate it: ``{"map50", "map", "model"}``.

    ``data`` is ``(train_images, train_targets, val_images, val_targets)``.
    """
    train_x, train_t, val_x, val_t = data
    torch.manual_seed(seed)
    model = TinyDetector(key, impl=impl)
    train_detector(model, train_x, train_t, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                   progress=progress)
    return {**evaluate(detect(model, val_x), val_t), "model": model}


def sweep_data(settings: dict = SWEEP):
    """The sweep's fixed training and validation sets."""
    train = make_dataset(settings["n_train"], size=settings["size"], seed=settings["data_seed"])
    val = make_dataset(settings["n_val"], size=settings["size"], seed=settings["val_seed"])
    return (*train, *val)


def summarise(values: list[float]) -> dict:
    """``{"mean", "std", "min", "max", "n"}`` of a list of per-seed values (sample std)."""
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "n": len(values)}


def verdict(row: dict, baseline: dict) -> str:
    """``"better"``, ``"worse"`` or ``"tie"`` for two summaries (module doc)."""
    difference = row["mean"] - baseline["mean"]
    spread = row["std"] + baseline["std"]
    if difference > spread:
        return "better"
    if difference < -spread:
        return "worse"
    return "tie"


def load_results(path) -> dict:
    """Read a results file written by benchmarks/detection_sweep.py, with a clear error if missing."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results file at {path}: run `python benchmarks/detection_sweep.py` "
                                "from the course folder to make one.")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
