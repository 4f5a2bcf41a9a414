"""Honest timings on whatever device is present: CUDA, Apple's MPS, or the CPU.

Naive timing lies on a GPU: kernels run asynchronously, so ``time.time()`` around a call measures
how long it took to *queue* the work, and the first calls pay for memory allocation and kernel
selection. Everything here makes a few warm-up calls, then times blocks of calls with the device
synchronised at each block's edges, and reports the median and the interquartile range (IQR) of the
per-call time over the blocks instead of a single number.

    >>> from attn_course.timing import time_module
    >>> t = time_module(module, x, backward=True)        # doctest: +SKIP
    >>> print(t)                                         # doctest: +SKIP
    1.23 ms (IQR 0.05 ms, median of 40, cuda:0)

On a machine without a GPU every function still works and says, in ``Timing.note``, that the
times are CPU times. Notebooks shrink their problem sizes there with :func:`pick_size`.
"""

from __future__ import annotations

import os
import statistics
import timeit
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch
from torch import nn

from ._arguments import number_in_range, positive_int

__all__ = [
    "Timing",
    "default_device",
    "time_fn",
    "time_module",
    "module_call",
    "copy_bandwidth",
    "memory_traffic_bound_s",
    "small_sizes",
    "pick_size",
    "compare",
    "format_table",
]

NBGRADER_ENV = "NBGRADER_EXECUTION"
MIN_BLOCKS = 5     # time_fn times at least this many blocks unless one call outlasts the budget


@dataclass
class Timing:
    """The result of one timing.

    Attributes:
        median_s: median time of one call, in seconds.
        iqr_s: interquartile range of the per-call times, in seconds (a robust spread).
        runs: how many timed blocks the median is taken over (each block repeats the call
            enough times to be long compared with the clock's resolution).
        device: the device the work ran on, e.g. ``"cuda:0"`` or ``"cpu"``.
        peak_memory_bytes: the most bytes allocated on the CUDA device while timing, counting
            tensors already there (inputs, weights); ``None`` off CUDA.
        note: how to read the numbers, e.g. that they are CPU times because no GPU was found.
    """

    median_s: float
    iqr_s: float
    runs: int
    device: str
    peak_memory_bytes: int | None = None
    note: str = ""

    @property
    def median_ms(self) -> float:
        return self.median_s * 1e3

    @property
    def iqr_ms(self) -> float:
        return self.iqr_s * 1e3

    def __str__(self) -> str:
        scale, unit = _time_unit(self.median_s)
        return (f"{self.median_s * scale:.3g} {unit} (IQR {self.iqr_s * scale:.3g} {unit}, "
                f"median of {self.runs}, {self.device})")


def _time_unit(seconds: float) -> tuple[float, str]:
    """A scale factor and unit that put ``seconds`` between 1 and 1000."""
    for scale, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "µs")):
        if seconds * scale >= 1:
            return scale, unit
    return 1e9, "ns"


def _gpu_available() -> bool:
    return torch.cuda.is_available() or torch.backends.mps.is_available()


def default_device() -> torch.device:
    """``cuda`` if a CUDA GPU is present, else ``mps`` (Apple GPU) if present, else ``cpu``."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _resolve(device: torch.device) -> torch.device:
    """``cuda`` → ``cuda:<current index>``, so the report names the card."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def _devices_in(value: Any) -> Iterable[torch.device]:
    """The devices of the tensors and modules in ``value`` (looking one container level deep)."""
    if isinstance(value, (list, tuple, dict)):
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, (torch.Tensor, nn.Module)):
                yield from _devices_in(item)
    elif isinstance(value, torch.Tensor):
        yield value.device
    elif isinstance(value, nn.Module):
        for tensor in [*value.parameters(), *value.buffers()][:1]:
            yield tensor.device
    elif isinstance(getattr(value, "__self__", None), (torch.Tensor, nn.Module)):
        yield from _devices_in(value.__self__)        # a bound method: x.copy_, model.forward


def _infer_device(fn: Callable, args: tuple, kwargs: dict) -> tuple[torch.device, str]:
    """The device the call runs on, and a note when it had to be assumed.

    The first non-CPU device among the tensor (or module) arguments wins, since that is the one
    to synchronise. A closure such as ``lambda: model(x)`` shows no tensors: then the default
    device is assumed and the note says so.
    """
    found = list(_devices_in(fn)) + list(_devices_in(args)) + list(_devices_in(kwargs))
    accelerated = [d for d in found if d.type != "cpu"]
    if accelerated:
        return accelerated[0], ""
    if found:
        return torch.device("cpu"), ""
    device = default_device()
    if device.type == "cpu":
        return device, ""
    return device, (f"no tensor arguments: assumed the work runs on {device}; "
                    f"pass device= to say where")


def _cpu_note(device: torch.device) -> str:
    if device.type != "cpu":
        return ""
    if _gpu_available():
        return "CPU: the inputs are on the CPU although a GPU is present; times are CPU times"
    return "CPU only: no GPU found; times are CPU times"


def _synchronising_timer(device: torch.device) -> Callable[[], float]:
    """A clock that first waits for the device's queued work (a plain clock on the CPU)."""
    if device.type == "cuda":
        def cuda_clock() -> float:
            torch.cuda.synchronize(device)
            return timeit.default_timer()
        return cuda_clock
    if device.type == "mps":
        def mps_clock() -> float:
            torch.mps.synchronize()
            return timeit.default_timer()
        return mps_clock
    return timeit.default_timer


def _check_positive(value, name: str, *, integer: bool = False, allow_zero: bool = False):
    if integer:
        return positive_int(value, name=name, minimum=0 if allow_zero else 1)
    return number_in_range(value, name=name, low=0, low_open=not allow_zero)


def time_fn(fn: Callable, *args, min_run_time: float = 0.2, warmup: int = 3,
            device: torch.device | str | None = None, **kwargs) -> Timing:
    """Time ``fn(*args, **kwargs)``: ``warmup`` untimed calls, then timed blocks.

    One more synchronised call estimates the cost of a call; each block then repeats the call
    enough times to last about a tenth of ``min_run_time`` (at least once), with the device
    synchronised at the block's edges, so the synchronisation's own cost is spread over many
    calls. Blocks are timed until ``min_run_time`` seconds have passed and at least
    ``MIN_BLOCKS`` blocks ran; a call so slow that ``MIN_BLOCKS`` of them would take more than twice
    ``min_run_time`` is timed only until ``min_run_time`` has passed. The median and IQR are over the
    blocks' per-call times.

    The device is read from the tensor (or module) arguments; ``device=`` overrides it and is
    *not* passed on to ``fn`` (wrap a function that itself takes ``device`` in a lambda). Give
    ``device=`` for closures such as ``lambda: model(x)``, whose tensors cannot be seen.
    On CUDA the peak memory allocated during the timed blocks is read too.

    ``min_run_time``, ``warmup`` and ``device`` are taken by this function; every other keyword
    goes to ``fn``.
    """
    if not callable(fn):
        raise TypeError(f"time_fn needs a callable to time, got {type(fn).__name__}.")
    _check_positive(min_run_time, "min_run_time")
    _check_positive(warmup, "warmup", integer=True, allow_zero=True)
    if device is None:
        where, note = _infer_device(fn, args, kwargs)
    else:
        where, note = torch.device(device), ""
    where = _resolve(where)
    note = note or _cpu_note(where)
    clock = _synchronising_timer(where)

    def block(calls: int) -> float:
        """Seconds per call, over ``calls`` calls between two synchronisations."""
        start = clock()
        for _ in range(calls):
            fn(*args, **kwargs)
        return (clock() - start) / calls

    for _ in range(warmup):
        fn(*args, **kwargs)
    clock()                                   # let the warm-up finish before the clock starts

    on_cuda = where.type == "cuda"
    if on_cuda:
        torch.cuda.reset_peak_memory_stats(where)
    one_call = block(1)
    calls = max(1, int(min_run_time / 10 / max(one_call, 1e-9)))
    min_blocks = MIN_BLOCKS if one_call * MIN_BLOCKS <= 2 * min_run_time else 1
    per_call, spent = [], 0.0
    while spent < min_run_time or len(per_call) < min_blocks:
        per_call.append(block(calls))
        spent += per_call[-1] * calls
    peak = int(torch.cuda.max_memory_allocated(where)) if on_cuda else None
    if len(per_call) > 1:
        quartiles = statistics.quantiles(per_call, n=4)
        iqr = quartiles[2] - quartiles[0]
    else:
        iqr = 0.0
    return Timing(
        median_s=float(statistics.median(per_call)),
        iqr_s=float(iqr),
        runs=len(per_call),
        device=str(where),
        peak_memory_bytes=peak,
        note=note,
    )


def _check_module_input(module, x) -> None:
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected an nn.Module to time, got {type(module).__name__}.")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected the input x to be a torch.Tensor, got {type(x).__name__}.")


def time_module(module: nn.Module, x: torch.Tensor, *, backward: bool = False,
                min_run_time: float = 0.2) -> Timing:
    """Time ``module(x)``, or with ``backward=True`` a full training step's forward + backward.

    The module is moved (in place, as ``nn.Module.to`` does) to ``x``'s device, and to its dtype
    when ``x`` is floating point.

    * ``backward=False``: the forward alone, under ``torch.no_grad()`` (inference).
    * ``backward=True``: zero the gradients, run ``module(x).sum().backward()`` with ``x``
      requiring grad; the module's ``.grad`` fields are left populated by the last run.
    """
    return time_fn(module_call(module, x, backward=backward), min_run_time=min_run_time,
                   device=x.device)


def module_call(module: nn.Module, x: torch.Tensor, *, backward: bool = False) -> Callable[[], None]:
    """The call :func:`time_module` times, as a function of no arguments, for other measurements
    (a profiler, say) of exactly the same work.

    Moves the module to ``x``'s device (and floating-point dtype) first, as ``time_module`` says.
    """
    _check_module_input(module, x)
    if x.is_floating_point():
        module.to(device=x.device, dtype=x.dtype)
    else:
        module.to(device=x.device)

    if not backward:
        def forward() -> None:
            with torch.no_grad():
                module(x)
        return forward

    if not x.is_floating_point():
        raise TypeError(f"backward=True needs a floating-point input, got dtype {x.dtype}.")
    leaf = x.detach().requires_grad_(True)

    def forward_backward() -> None:
        module.zero_grad(set_to_none=True)
        leaf.grad = None
        module(leaf).sum().backward()
    return forward_backward


def copy_bandwidth(device: torch.device | str | None = None, nbytes: int = 64 * 2**20,
                   repeats: int = 5) -> float:
    """Achieved memory bandwidth in bytes/s of copying ``nbytes`` within one device.

    A copy reads ``nbytes`` and writes ``nbytes``, so the traffic counted is ``2 * nbytes``. Use
    a buffer much larger than the caches (the default 64 MiB) to measure memory, not cache. The
    result is the best of ``repeats`` measurements: a lower bound on time must use the fastest
    the memory has shown (on a shared machine single measurements vary by ±30 %).
    """
    _check_positive(nbytes, "nbytes", integer=True)
    _check_positive(repeats, "repeats", integer=True)
    where = torch.device(device) if device is not None else default_device()
    # Both buffers are written before timing: untouched pages cost nothing to read on a CPU (they
    # all map to one zero page), which would inflate the bandwidth several times over.
    source = torch.ones(nbytes, dtype=torch.uint8, device=where)
    target = torch.zeros_like(source)
    fastest = min(time_fn(target.copy_, source, min_run_time=0.05).median_s for _ in range(repeats))
    return 2 * nbytes / fastest


def memory_traffic_bound_s(nbytes: int | float, device: torch.device | str | None = None,
                           bandwidth: float | None = None) -> float:
    """The least time moving ``nbytes`` through memory can take: ``nbytes / bandwidth``.

    ``bandwidth`` (bytes/s) defaults to :func:`copy_bandwidth` measured on ``device``. An
    elementwise gate that reads x and writes y moves at least ``2 * x.nbytes``; a module much
    slower than this bound is limited by something other than memory traffic.
    """
    _check_positive(nbytes, "nbytes", allow_zero=True)
    if bandwidth is None:
        bandwidth = copy_bandwidth(device)
    _check_positive(bandwidth, "bandwidth")
    return nbytes / bandwidth


def small_sizes() -> bool:
    """True when timing cells should shrink their sizes.

    That is when no GPU (CUDA or MPS) is present, or when nbgrader runs the notebook (it sets
    the environment variable ``NBGRADER_EXECUTION``), so grading never waits on big timings.
    """
    return NBGRADER_ENV in os.environ or not _gpu_available()


def autograding() -> bool:
    """True while nbgrader runs the notebook (it sets ``NBGRADER_EXECUTION``): a demonstration that
    no graded cell needs can do less work then, e.g. ``steps = 10 if timing.autograding() else 200``."""
    return NBGRADER_ENV in os.environ


def pick_size(gpu, cpu):
    """``cpu`` when :func:`small_sizes` is true, else ``gpu``: ``n = pick_size(4096, 256)``."""
    return cpu if small_sizes() else gpu


def compare(modules: dict[str, nn.Module], x: torch.Tensor, backward: bool = False,
            min_run_time: float = 0.2) -> list[dict]:
    """Time each module on the same input; one row per module for :func:`format_table`.

    Each row holds ``name``, ``parameters`` (learnable parameter count), ``median_ms``,
    ``iqr_ms`` and ``device``.
    """
    if not isinstance(modules, dict):
        raise TypeError(f"compare needs a dict {{name: nn.Module}}, got {type(modules).__name__}.")
    if not modules:
        raise ValueError("compare needs at least one module, got an empty dict.")
    rows = []
    for name, module in modules.items():
        _check_module_input(module, x)
        timing = time_module(module, x, backward=backward, min_run_time=min_run_time)
        rows.append({
            "name": str(name),
            "parameters": sum(p.numel() for p in module.parameters() if p.requires_grad),
            "median_ms": timing.median_ms,
            "iqr_ms": timing.iqr_ms,
            "device": timing.device,
        })
    return rows


def _format_cell(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def format_table(rows: list[dict]) -> str:
    """A markdown table of ``rows`` (dicts with the same keys); the columns follow the first row.

    Integers get thousands separators and floats three significant digits, so the table reads
    well in a notebook (``IPython.display.Markdown(format_table(rows))``) or as plain text.
    """
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ValueError(f"format_table needs a non-empty list of dicts, got {rows!r:.80}.")
    columns = list(rows[0]) if isinstance(rows[0], dict) else []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"format_table: row {i} must be a dict, got {type(row).__name__}.")
        if set(row) != set(columns):
            raise ValueError(f"row {i} has keys {list(row)}, expected the first row's {columns}.")
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_format_cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
