"""Time every registered attention module at a detector-like shape and print a markdown table.

    python benchmarks/bench_modules.py                      # 8×256×40×40 float32, default device
    python benchmarks/bench_modules.py --quick              # small shape, short runs, eager only
    python benchmarks/bench_modules.py --device cuda --dtype bfloat16 --keys se,eca,cbam

For each module: its parameters; the median time of the forward (under no_grad) and of forward +
backward, eager and under ``torch.compile``; the memory-traffic lower bound of each (the bytes the
module must at least move, divided by the device's measured copy bandwidth) and measured / bound.
See benchmarks/README.md for the model behind the bound.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import platform
import sys
from pathlib import Path

import torch

from attn_course.registry import attention_spec, available_attention, create_attention
from attn_course.timing import (copy_bandwidth, default_device, format_table, module_call,
                                 time_module)

DEFAULT_SHAPE = (8, 256, 40, 40)
QUICK_SHAPE = (2, 128, 20, 20)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
          "float64": torch.float64}


def parse_shape(text: str) -> tuple[int, int, int, int]:
    """``"8x256x40x40"`` or ``"8,256,40,40"`` → ``(8, 256, 40, 40)``."""
    parts = text.replace(",", "x").lower().split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 4 or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a shape B×C×H×W such as 8x256x40x40, got {text!r}")
    return shape


def parse_keys(text: str) -> list[str]:
    """Comma-separated registry keys, each checked against the registry."""
    keys = [k.strip() for k in text.split(",") if k.strip()]
    try:
        return [attention_spec(k).key for k in keys]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3        # mallopt parameters, glibc's malloc.h


def keep_freed_memory() -> bool:
    """Stop glibc's malloc from giving freed blocks back to the system between calls.

    By default glibc serves blocks of a few MB and more with fresh pages from the system and
    returns them on free (mmap, or trimming the heap's top). The next allocation then page-faults
    every page back in, zeroed: for 8×256×40×40 float32 tensors, about 3 ms per tensor. Whether a
    module pays this depends on the order and sizes in which it and the code timed before it
    allocated, so the same module measured ±40 % from run to run and from one key to the next.
    With the thresholds raised (blocks up to 32 MB come from the heap, which is never trimmed
    below 1 GB) every module runs on warm memory, as it would inside a network that allocates the
    same sizes every step. Returns False where the C library is not glibc (nothing is changed).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, 32 * 2**20) and mallopt(M_TRIM_THRESHOLD, 2**30))


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """--shape, --device, --dtype, --threads and --system-malloc, shared with compare_seed.py."""
    parser.add_argument("--shape", type=parse_shape, default=None,
                        help=f"B×C×H×W input (default {'x'.join(map(str, DEFAULT_SHAPE))}, "
                             f"{'x'.join(map(str, QUICK_SHAPE))} with --quick)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best present)")
    parser.add_argument("--dtype", choices=DTYPES, default="float32")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's choice); 1 steadies a busy CPU")
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc's malloc thresholds alone (by default freed memory is "
                             "kept, so page faults do not decide the CPU times)")


def build_arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_input_arguments(parser)
    parser.add_argument("--keys", type=parse_keys, default=None,
                        help="comma-separated registry keys (default all: "
                             f"{','.join(available_attention())})")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="also time torch.compile'd modules (default on, off with --quick)")
    parser.add_argument("--compile-mode", default=None,
                        choices=["default", "reduce-overhead", "max-autotune",
                                 "max-autotune-no-cudagraphs"],
                        help="torch.compile's mode (default: torch's default); reduce-overhead "
                             "replays CUDA graphs, which removes the launch cost of small inputs")
    parser.add_argument("--forward-only", action="store_true",
                        help="time the forward alone (the fwd+bwd columns show —); halves compile time")
    parser.add_argument("--quick", action="store_true",
                        help="small default shape, short timings, no compile unless --compile")
    parser.add_argument("--min-run-time", type=float, default=None,
                        help="seconds of timed runs per measurement (default 0.5, 0.1 with --quick)")
    parser.add_argument("--results", action="store_true",
                        help="also append the table, with its commit, device, PyTorch version and "
                             "date, to benchmarks/RESULTS.md")
    return parser


def one_line(error: BaseException) -> str:
    """``TypeError: first line of the message``, short enough for a table cell."""
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    return f"{type(error).__name__}: {message}"[:120].replace("|", "/")


def traffic_bytes(x: torch.Tensor, parameters: int) -> tuple[int, int]:
    """The least bytes a module must move: (forward, forward + backward).

    Forward: read x, write y (same size) and read the parameters once.
    Backward: read the incoming gradient and x, write the gradient of x; read the parameters and
    write their gradients.
    """
    item = x.element_size()
    forward = (2 * x.numel() + parameters) * item
    backward = (3 * x.numel() + 2 * parameters) * item
    return forward, forward + backward


def build(key: str, channels: int, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """The module for ``key`` with its paper defaults (SK with stride 1), in training mode."""
    return create_attention(key, channels).to(device=device, dtype=dtype).train()


def time_both(module, x, min_run_time: float, backward: bool = True) -> tuple:
    """Median seconds of the forward and of forward + backward (None with ``backward=False``),
    then the GPU kernel seconds of each (None off CUDA)."""
    forward = time_module(module, x, min_run_time=min_run_time).median_s
    forward_kernels = kernel_seconds(module, x, backward=False)
    if not backward:
        return forward, None, forward_kernels, None
    training = time_module(module, x, backward=True, min_run_time=min_run_time).median_s
    return forward, training, forward_kernels, kernel_seconds(module, x, backward=True)


def kernel_seconds(module, x, backward: bool, calls: int = 20) -> float | None:
    """Mean GPU time per call spent in the CUDA kernels (and copies) that the call launches.

    Read from ``torch.profiler``: the sum of the device-side durations of every kernel, so the
    host's cost of launching them (Python, dispatch, guards), which the wall-clock times include,
    is left out. On a fast GPU and a small input the wall clock measures the host; this measures
    the work the bound is about. ``None`` off CUDA.
    """
    if x.device.type != "cuda":
        return None
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    call = module_call(module, x, backward=backward)       # the work time_module times
    try:
        call()
        torch.cuda.synchronize(x.device)
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(calls):
                call()
            torch.cuda.synchronize(x.device)
        device_us = sum(
            getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0)
            for e in prof.key_averages()
            if getattr(e, "device_type", DeviceType.CUDA) == DeviceType.CUDA)   # kernels only
    except Exception as error:          # the profiler is an extra: never lose the row for it
        print(f"kernel time not measured: {one_line(error)}", file=sys.stderr)
        return None
    return device_us / calls / 1e6


def ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.3g}"


def ratio(measured: float | None, bound: float) -> str:
    return "—" if measured is None else f"{measured / bound:.3g}×"


def benchmark_key(key: str, x: torch.Tensor, bandwidth: float, *, compile_too: bool,
                  min_run_time: float, compile_mode: str | None = None,
                  backward: bool = True) -> dict:
    """One table row for ``key``; failures go to the row's note, never stop the run."""
    notes = []
    eager = compiled = (None, None, None, None)
    parameters = None
    try:
        module = build(key, x.shape[1], x.device, x.dtype)
        parameters = sum(p.numel() for p in module.parameters())
        eager = time_both(module, x, min_run_time, backward)
    except Exception as error:                       # report per module, keep going
        notes.append(f"eager failed: {one_line(error)}")
    if compile_too and parameters is not None:
        torch._dynamo.reset()
        try:
            module = torch.compile(build(key, x.shape[1], x.device, x.dtype), mode=compile_mode)
            compiled = time_both(module, x, min_run_time, backward)
        except Exception as error:
            notes.append(f"compile failed: {one_line(error)}")
    bound_forward, bound_training = (b / bandwidth for b in traffic_bytes(x, parameters or 0))
    row = {
        "key": key,
        "class": attention_spec(key).class_name,
        "params": "—" if parameters is None else f"{parameters:,}",
        "fwd ms": ms(eager[0]),
        "fwd+bwd ms": ms(eager[1]),
    }
    if compile_too:
        row.update({"fwd ms (compiled)": ms(compiled[0]), "fwd+bwd ms (compiled)": ms(compiled[1])})
    row.update({
        "bound fwd ms": ms(bound_forward),
        "bound fwd+bwd ms": ms(bound_training),
        "fwd / bound": ratio(eager[0], bound_forward),
        "fwd+bwd / bound": ratio(eager[1], bound_training),
    })
    if compile_too:
        row["compiled fwd / bound"] = ratio(compiled[0], bound_forward)
        row["compiled fwd+bwd / bound"] = ratio(compiled[1], bound_training)
    if x.device.type == "cuda":
        row["kernels fwd / bound"] = ratio(eager[2], bound_forward)
        row["kernels fwd+bwd / bound"] = ratio(eager[3], bound_training)
        if compile_too:
            row["compiled kernels fwd / bound"] = ratio(compiled[2], bound_forward)
            row["compiled kernels fwd+bwd / bound"] = ratio(compiled[3], bound_training)
    row["note"] = "; ".join(notes)
    return row


def describe_run(device: torch.device, dtype_name: str, shape, bandwidth: float,
                 compile_mode: str | None = None, kept_freed_memory: bool = False) -> str:
    n = torch.get_num_threads()
    threads = f", {n} thread{'s' if n != 1 else ''}" if device.type == "cpu" else ""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    return (f"device {device} ({name}{threads}), torch {torch.__version__}, input "
            f"{'×'.join(map(str, shape))} {dtype_name}, copy bandwidth {bandwidth / 1e9:.3g} GB/s"
            + (f", torch.compile mode {compile_mode}" if compile_mode else "")
            + (", glibc malloc keeps freed memory" if kept_freed_memory else ""))


def main(argv: list[str] | None = None) -> int:
    args = build_arguments().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    kept = not args.system_malloc and keep_freed_memory()
    shape = args.shape or (QUICK_SHAPE if args.quick else DEFAULT_SHAPE)
    compile_too = (not args.quick) if args.compile is None else args.compile
    min_run_time = args.min_run_time or (0.1 if args.quick else 0.5)
    device = torch.device(args.device) if args.device else default_device()
    dtype = DTYPES[args.dtype]
    keys = args.keys or available_attention()

    torch.manual_seed(0)
    x = torch.randn(shape, device=device, dtype=dtype)
    bandwidth = copy_bandwidth(device)
    print(describe_run(device, args.dtype, shape, bandwidth, args.compile_mode, kept), flush=True)
    print()
    rows = []
    for key in keys:
        rows.append(benchmark_key(key, x, bandwidth, compile_too=compile_too,
                                  min_run_time=min_run_time, compile_mode=args.compile_mode,
                                  backward=not args.forward_only))
        # one line per module as it finishes, so a run cut short still shows what it measured
        print(" ".join(f"{k}={v}" for k, v in rows[-1].items() if v), file=sys.stderr, flush=True)
    table = format_table(rows)
    print(table)
    if args.results:
        sys.path.insert(0, str(Path(__file__).parent))
        from results import append_section

        header = describe_run(device, args.dtype, shape, bandwidth, args.compile_mode, kept)
        print("appended to", append_section(f"Every module, {args.dtype}, input {'×'.join(map(str, shape))}, on {device.type}", device, header + "\n\n" + table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
