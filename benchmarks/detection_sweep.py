"""Train the capstone's detector with every attention module over several seeds; write the results.

    python benchmarks/detection_sweep.py                       # the full sweep (about 10-15 min, 2 cores)
    python benchmarks/detection_sweep.py --keys se cbam --seeds 2 --steps 20 --out /tmp/quick.json

For the baseline (no attention) and each of the 13 registry keys: parameters, forward FLOPs and
latency of one 64 × 64 image on this machine, and mAP@0.5 / mAP@0.5:0.95 on a fixed held-out set as
mean ± sample standard deviation over training seeds, with a verdict against the baseline
(``better`` / ``worse`` only outside the summed seed spread, else ``tie``; see
``attn_course.detection.experiment``). The file records the machine, torch, the date and the git
commit; the capstone notebook (solutions/13_capstone) loads and plots it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from attn_course import available_attention  # noqa: E402
from attn_course.detection import (SWEEP, evaluate, model_cost, progress_bar, summarise,  # noqa: E402
                                   train_and_evaluate, trivial_baseline, verdict)
from attn_course.detection.experiment import sweep_data  # noqa: E402

DEFAULT_OUT = ROOT / "solutions" / "13_capstone" / "detection_results.json"
_DATA = {}


def _run(job):
    """One (key, seed) training run in a worker process with one thread."""
    key, seed, settings = job
    torch.set_num_threads(1)
    if "data" not in _DATA:
        _DATA["data"] = sweep_data(settings)
    start = time.time()
    result = train_and_evaluate(key, seed, _DATA["data"], steps=settings["steps"],
                                batch_size=settings["batch_size"], lr=settings["lr"])
    return key, seed, {"map50": result["map50"], "map": result["map"], "train_s": time.time() - start}


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", nargs="*", default=None, help="registry keys (default: all 13)")
    parser.add_argument("--seeds", type=int, default=len(SWEEP["seeds"]))
    parser.add_argument("--steps", type=int, default=SWEEP["steps"])
    parser.add_argument("--workers", type=int, default=2, help="training processes, one thread each")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds must be at least 2: a spread needs two runs")
    keys = [None] + (args.keys if args.keys is not None else available_attention())
    settings = {**SWEEP, "steps": args.steps, "seeds": tuple(range(args.seeds))}
    started = time.time()
    runs: dict = {}
    jobs = [(key, seed, settings) for seed in settings["seeds"] for key in keys]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        futures = [pool.submit(_run, job) for job in jobs]
        bar = progress_bar(len(jobs), "training runs")
        for future in as_completed(futures):
            key, seed, result = future.result()
            runs.setdefault(key or "baseline", {})[seed] = result
            bar.update(1)
        bar.close() if hasattr(bar, "close") else bar.__exit__(None, None, None)
    torch.set_num_threads(1)
    data = sweep_data(settings)
    trivial = evaluate(trivial_baseline(data[1], len(data[3]), size=settings["size"]), data[3])
    rows = []
    for key in keys:
        name = key or "baseline"
        per_seed = [runs[name][s] for s in settings["seeds"]]
        row = {"key": name, **model_cost(key, size=settings["size"]),
               "map50": summarise([r["map50"] for r in per_seed]),
               "map": summarise([r["map"] for r in per_seed]),
               "per_seed": per_seed}
        rows.append(row)
    base = rows[0]
    for row in rows:
        row["verdict_map50"] = verdict(row["map50"], base["map50"])
        row["verdict_map"] = verdict(row["map"], base["map"])
    output = {
        "provenance": {"machine": _machine(), "torch": torch.__version__, "python": platform.python_version(),
                       "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                       "commit": _commit(), "threads_per_run": 1, "wall_seconds": round(time.time() - started, 1),
                       "latency": "median forward time of one 1x3x64x64 image, one thread, torch.no_grad",
                       "flops": "torch.utils.flop_counter (convolutions and matrix products, 2 per multiply-add)",
                       "spread": "sample standard deviation over training seeds; verdict 'tie' unless the "
                                 "means differ by more than the sum of the two standard deviations"},
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "trivial_baseline": trivial,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {time.time() - started:.0f} s")
    print(f"{'module':12s} {'params':>8s} {'MFLOPs':>8s} {'ms':>6s}  {'mAP@0.5':>14s}  {'mAP@.5:.95':>14s}  verdict")
    for row in rows:
        print(f"{row['key']:12s} {row['params']:8d} {row['flops'] / 1e6:8.1f} {row['latency_ms']:6.2f}  "
              f"{row['map50']['mean']:.3f} ± {row['map50']['std']:.3f}  {row['map']['mean']:.3f} ± "
              f"{row['map']['std']:.3f}  {row['verdict_map50']}/{row['verdict_map']}")
    print(f"trivial baseline: mAP@0.5 {trivial['map50']:.4f}, mAP@0.5:0.95 {trivial['map']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
