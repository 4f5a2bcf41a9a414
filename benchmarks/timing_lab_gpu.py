"""Measure, on a GPU, what notebook 12 (the GPU timing lab) shows from stored results, and write
the results file it reads, with where and when the numbers were made.

    python benchmarks/timing_lab_gpu.py                     # CUDA; writes solutions/12_gpu_timing/gpu_results.json
    python benchmarks/timing_lab_gpu.py --out /tmp/r.json   # somewhere else
    python benchmarks/timing_lab_gpu.py --device cpu --quick --out /tmp/r.json   # a smoke test, not results

Tables written (the notebook's section 4 reads them; see attn_course.timelab.load_results):

* ``modules``: every registered module, paper defaults, training mode, float32, at two shapes
  (8×256×40×40 and 32×256×80×80): parameters; median forward (no_grad) and forward + backward wall
  clock, eager; the forward under ``torch.compile`` for the element-wise family (every module with
  ``--compile-all``); the GPU time of the forward's kernels from ``torch.profiler``, eager and
  compiled; peak memory of forward + backward; the memory-traffic bound (2N + P)·4 bytes over the
  measured copy bandwidth; the FLOPs of matrix products and convolutions
  (``attn_course.timelab.forward_flops``).
* ``compiled_ratios``: compiled forward / bound, by wall clock and by kernel time, per shape.
* ``lessons``: section 1 on the GPU: a matmul's time when the clock is read without and with
  synchronising; the first calls of a fresh convolution (cuDNN autotuning on); SE and CBAM with
  ``channels_last`` and bfloat16.

The provenance records the device, PyTorch version, UTC date, commit (``-dirty`` when the work tree
differs) and command. The file is rewritten after every module, so a run cut short keeps what it
measured. The timings reuse ``bench_modules.py`` (same timer, byte model and profiler).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from attn_course import timelab
from attn_course.registry import available_attention
from attn_course.timing import copy_bandwidth, default_device, time_fn, time_module

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_modules import build, kernel_seconds, keep_freed_memory, one_line, traffic_bytes  # noqa: E402
from results import _commit, _device_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "solutions" / "12_gpu_timing" / "gpu_results.json"
SHAPES = ((8, 256, 40, 40), (32, 256, 80, 80))
QUICK_SHAPES = ((2, 128, 8, 8), (2, 128, 16, 16))
ELEMENTWISE = ("se", "eca", "channel", "spatial", "cbam", "simam", "nam", "shuffle")


def ms(seconds):
    return None if seconds is None else round(seconds * 1e3, 6)


def shape_text(shape) -> str:
    return "x".join(map(str, shape))


def peak_flops(device: torch.device, n: int) -> float:
    """FLOP/s of an n×n float32 matmul, TF32 off (the plain float32 peak)."""
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        a = torch.randn(n, n, device=device)
        return 2 * n**3 / time_fn(torch.mm, a, a, min_run_time=0.2).median_s
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def module_row(key, shape, device, bandwidth, *, compile_too, min_run_time) -> dict:
    x = torch.randn(shape, device=device)
    row = {"key": key, "shape": shape_text(shape), "note": ""}
    try:
        module = build(key, shape[1], device, torch.float32)
        params = sum(p.numel() for p in module.parameters())
        forward = time_module(module, x, min_run_time=min_run_time)
        training = time_module(module, x, backward=True, min_run_time=min_run_time)
        row.update(params=params, fwd_ms=ms(forward.median_s), fwd_bwd_ms=ms(training.median_s),
                   kernels_fwd_ms=ms(kernel_seconds(module, x, backward=False)),
                   peak_memory_mb=None if training.peak_memory_bytes is None
                   else round(training.peak_memory_bytes / 2**20, 1),
                   flops_fwd=timelab.forward_flops(module, x))
    except Exception as error:                                  # report, keep going
        row["note"] = f"eager failed: {one_line(error)}"
        return row
    bound_forward, bound_training = (b / bandwidth for b in traffic_bytes(x, params))
    row.update(bound_fwd_ms=ms(bound_forward), bound_fwd_bwd_ms=ms(bound_training),
               fwd_ms_compiled=None, kernels_fwd_ms_compiled=None)
    if compile_too:
        torch._dynamo.reset()
        try:
            compiled = torch.compile(build(key, shape[1], device, torch.float32))
            row["fwd_ms_compiled"] = ms(time_module(compiled, x, min_run_time=min_run_time).median_s)
            row["kernels_fwd_ms_compiled"] = ms(kernel_seconds(compiled, x, backward=False))
        except Exception as error:
            row["note"] = f"compile failed: {one_line(error)}"
    return row


def ratio_rows(rows) -> list[dict]:
    out = []
    for row in rows:
        if row.get("fwd_ms_compiled") is None or not row.get("bound_fwd_ms"):
            continue
        kernels = row.get("kernels_fwd_ms_compiled")
        out.append({"key": row["key"], "shape": row["shape"],
                    "wall_clock_ratio": round(row["fwd_ms_compiled"] / row["bound_fwd_ms"], 3),
                    "kernels_ratio": None if kernels is None else round(kernels / row["bound_fwd_ms"], 3)})
    return out


def lessons(device: torch.device, shape, min_run_time: float) -> list[dict]:
    """Section 1 of the notebook, measured on this device."""
    found = []
    sync = timelab.device_for(device).synchronize
    n = 4096 if device.type == "cuda" else 256
    a = torch.randn(n, n, device=device)
    torch.mm(a, a)
    sync()
    start = time.perf_counter()
    torch.mm(a, a)
    returned = time.perf_counter() - start
    sync()
    finished = time.perf_counter() - start
    found.append({"lesson": f"{n}x{n} matmul, clock read without synchronize", "ms": ms(returned)})
    found.append({"lesson": f"{n}x{n} matmul, clock read after synchronize", "ms": ms(finished)})
    torch.backends.cudnn.benchmark = True
    conv = torch.nn.Conv2d(shape[1], shape[1], 3, padding=1).to(device)
    x = torch.randn(shape, device=device)
    with torch.no_grad():
        for call in range(4):
            sync()
            start = time.perf_counter()
            conv(x)
            sync()
            found.append({"lesson": f"fresh 3x3 conv on {shape_text(shape)}, call {call} (cudnn.benchmark on)",
                          "ms": ms(time.perf_counter() - start)})
    torch.backends.cudnn.benchmark = False
    for key in ("se", "cbam"):
        for layout, dtype in (("contiguous", torch.float32), ("channels_last", torch.float32),
                              ("contiguous", torch.bfloat16)):
            x = torch.randn(shape, device=device, dtype=dtype)
            if layout == "channels_last":
                x = x.contiguous(memory_format=torch.channels_last)
            module = build(key, shape[1], device, dtype)
            found.append({"lesson": f"{key} forward, {layout}, {str(dtype).replace('torch.', '')}, {shape_text(shape)}",
                          "ms": ms(time_module(module, x, min_run_time=min_run_time).median_s)})
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results file (JSON) to write")
    parser.add_argument("--device", default=None, help="cuda (default when present), mps or cpu")
    parser.add_argument("--quick", action="store_true", help="small shapes, short runs: a smoke test")
    parser.add_argument("--compile-all", action="store_true", help="compile every module, not only the element-wise family")
    parser.add_argument("--no-compile", action="store_true", help="no torch.compile at all")
    parser.add_argument("--min-run-time", type=float, default=None, help="seconds of timed calls per measurement")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else default_device()
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    kept = keep_freed_memory()
    shapes = QUICK_SHAPES if args.quick else SHAPES
    min_run_time = args.min_run_time or (0.01 if args.quick else 0.2)
    bandwidth = copy_bandwidth(device, nbytes=(32 if args.quick else 256) * 2**20)
    peak = peak_flops(device, 512 if args.quick else 8192)
    command = "python " + " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).as_posix(), *(argv or sys.argv[1:])])
    data = {
        "provenance": {
            "device": _device_name(device) + (f", {torch.cuda.get_device_properties(device).total_memory / 2**30:.0f} GiB"
                                              if device.type == "cuda" else ""),
            "torch": torch.__version__,
            "source": f"benchmarks/timing_lab_gpu.py, {_device_name(device)} session",
            "transcribed": False,
            "how": f"measured by `{command}`" + ("; glibc malloc keeps freed memory" if kept else ""),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": _commit(),
            "dtype": "float32",
            "modules_mode": "training mode (BatchNorm uses batch statistics)",
            "copy_bandwidth_bytes_per_s": [round(bandwidth)],
            "peak_flops_fp32": round(peak),
            "peak_flops_note": "measured: an n x n float32 matmul with TF32 off",
            "flops_fwd": "computed: attn_course.timelab.forward_flops (matrix products and convolutions) at each row's shape",
        },
        "tables": {
            "modules": {"what": "every module, wall clock median per call; forward under no_grad, forward + backward; "
                                "compiled forward; kernels_* from torch.profiler (GPU only); bound = (2N + P)*4 bytes "
                                "/ copy bandwidth", "rows": []},
            "compiled_ratios": {"what": "compiled forward / memory-traffic bound: wall clock and GPU kernels", "rows": []},
            "lessons": {"what": "section 1 of the notebook measured on this device", "rows": []},
        },
    }

    def write():
        data["tables"]["compiled_ratios"]["rows"] = ratio_rows(data["tables"]["modules"]["rows"])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    print(f"{data['provenance']['device']}, torch {torch.__version__}, copy bandwidth {bandwidth / 1e9:.3g} GB/s, "
          f"float32 peak {peak / 1e12:.3g} TFLOP/s", flush=True)
    data["tables"]["lessons"]["rows"] = lessons(device, shapes[0], min_run_time)
    write()
    for shape in shapes:
        for key in available_attention():
            compile_too = not args.no_compile and (args.compile_all or key in ELEMENTWISE) and not args.quick
            row = module_row(key, shape, device, bandwidth, compile_too=compile_too, min_run_time=min_run_time)
            data["tables"]["modules"]["rows"].append(row)
            write()
            print(f"{shape_text(shape)} {key}: fwd {row.get('fwd_ms')} ms, compiled {row.get('fwd_ms_compiled')} ms, "
                  f"bound {row.get('bound_fwd_ms')} ms {row['note']}", file=sys.stderr, flush=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
