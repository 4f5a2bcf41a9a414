"""Simulated devices and clocks for the GPU timing lab (notebook 12), and the same interface on
real hardware.

A timer written against the small interface below runs unchanged on three kinds of device:

* :class:`FakeDevice`, a simulated asynchronous accelerator with a simulated clock. Its work is
  *queued*: calling one of its kernels costs the host only ``launch_s``, and the work finishes
  later, in device time. A timer that reads the clock without synchronising measures the launches.
  The first calls of a kernel can be made slow (``cold=``: lazy initialisation, autotuning), the
  durations can follow a pattern (``pattern=``: no single call is typical), and some calls can
  stall (``hiccup_every=``, ``hiccup_s=``: another process, a page fault). Everything is
  deterministic, so a grader knows the right answer exactly.
* :func:`device_for` ``(torch.device("cuda"))``: the real GPU, through ``time.perf_counter``,
  ``torch.cuda.synchronize`` and CUDA events.
* :func:`device_for` ``(torch.device("cpu"))``: the CPU, where work runs when it is called
  (synchronising does nothing) and an event is the host clock read at ``record()``.

The interface (what a timer may use):

====================  ==========================================================================
``device.clock()``    host time in seconds (``time.perf_counter`` on real devices)
``device.synchronize()``  wait until every queued piece of work has finished
``device.Event()``    an event with ``record()``, ``synchronize()``, ``query()`` and
                      ``start.elapsed_time(end)`` in **milliseconds**, as ``torch.cuda.Event``
``device.name``       a short description
====================  ==========================================================================

A kernel of the fake device:

    >>> dev = FakeDevice(launch_s=1e-5)
    >>> k = dev.kernel(1e-3)              # 1 ms of device work per call
    >>> t0 = dev.clock(); k(); t1 = dev.clock()
    >>> round((t1 - t0) * 1e6)            # the host only paid the launch: 10 µs
    10
    >>> dev.synchronize(); round((dev.clock() - t0) * 1e6)   # wait for the work: 1 ms + 10 µs
    1010

This module holds no answer to the lab's exercises (timers, byte counts, diagnoses): only the
machinery they are tested on, and :func:`load_results` for the stored GPU measurements.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["FakeDevice", "FakeEvent", "RealDevice", "HostEvent", "device_for", "CountFlops",
           "forward_flops", "load_results"]


def _positive(value, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__} {value!r}.")
    if value < 0 or (value == 0 and not allow_zero):
        rule = "at least 0" if allow_zero else "positive"
        raise ValueError(f"{name} must be {rule}, got {name}={value!r}.")
    return float(value)


class FakeDevice:
    """A simulated asynchronous accelerator with its own clock.

    Time model (all in simulated seconds). The host's clock ``host`` and the device's queue end
    ``queue_end`` start at 0. Calling a kernel of nominal duration ``d``, for its ``i``-th time
    (``i = 0, 1, ...``):

    * the host pays the launch: ``host += launch_s``;
    * the work starts when both the host has launched it and earlier work is done,
      ``start = max(host, queue_end)``, and lasts
      ``d · cold[i] · pattern[i mod len(pattern)] + (hiccup_s if (i + 1) mod hiccup_every == 0)``
      where ``cold[i]`` is 1 beyond the tuple's end; then ``queue_end = start + duration``.

    ``synchronize()`` sets ``host = max(host, queue_end)``. So without synchronising, the clock
    advances by ``launch_s`` per call, however long the work.

    Args:
        launch_s: host time to launch one call (default 10 µs).
        cold: duration multipliers of each kernel's first calls, e.g. ``(50, 3)``: the first call
            50 times as long, the second 3 times (lazy initialisation, autotuning).
        pattern: duration multipliers repeating over the calls, e.g. ``(0.5, 1.5)``: no single
            call takes the typical time, a block of an even number of calls does.
        hiccup_every: every ``hiccup_every``-th call of a kernel stalls (0: never).
        hiccup_s: how long a stall adds, in seconds.
        name: what ``name`` and ``repr`` show.

    >>> dev = FakeDevice(cold=(100,))
    >>> k = dev.kernel(1e-3)
    >>> start = dev.Event(); end = dev.Event()
    >>> start.record(); k(); k(); end.record(); end.synchronize()
    >>> round(start.elapsed_time(end), 3)   # ms: 100 ms + 1 ms of work, + one 10 µs launch
    101.01
    >>> k.calls
    2
    """

    def __init__(self, *, launch_s: float = 1e-5, cold: Sequence[float] = (),
                 pattern: Sequence[float] = (1.0,), hiccup_every: int = 0, hiccup_s: float = 0.0,
                 name: str = "fake GPU (simulated)"):
        self.launch_s = _positive(launch_s, "launch_s", allow_zero=True)
        self.cold = tuple(_positive(c, "cold") for c in cold)
        self.pattern = tuple(_positive(p, "pattern") for p in pattern)
        if not self.pattern:
            raise ValueError("pattern needs at least one multiplier, got an empty sequence.")
        if isinstance(hiccup_every, bool) or not isinstance(hiccup_every, int) or hiccup_every < 0:
            raise ValueError(f"hiccup_every must be an int >= 0 (0: no stalls), got {hiccup_every!r}.")
        self.hiccup_every = hiccup_every
        self.hiccup_s = _positive(hiccup_s, "hiccup_s", allow_zero=True)
        self.name = name
        self._host = 0.0
        self._queue_end = 0.0

    def __repr__(self) -> str:
        return f"FakeDevice({self.name!r}, launch {self.launch_s * 1e6:g} µs)"

    # ----------------------------------------------------------------------------- interface
    def clock(self) -> float:
        """The host's clock, in seconds (the simulated ``time.perf_counter``)."""
        return self._host

    def synchronize(self) -> None:
        """Wait (in simulated time) until every queued piece of work has finished."""
        self._host = max(self._host, self._queue_end)

    def Event(self, enable_timing: bool = True) -> "FakeEvent":  # noqa: N802 (torch.cuda.Event)
        """A new :class:`FakeEvent` on this device's queue."""
        return FakeEvent(self)

    def kernel(self, seconds: float) -> Callable[[], None]:
        """A function of no arguments that queues ``seconds`` of work per call (see the class).

        The returned function counts its calls in ``.calls``.
        """
        return _FakeKernel(self, _positive(seconds, "seconds"))

    def host_work(self, seconds: float) -> None:
        """Spend ``seconds`` on the host (Python work between calls, say)."""
        self._host += _positive(seconds, "seconds", allow_zero=True)

    # ----------------------------------------------------------------------------- internals
    def _launch(self, duration: float) -> None:
        self._host += self.launch_s
        start = max(self._host, self._queue_end)
        self._queue_end = start + duration


class _FakeKernel:
    """One kernel of a :class:`FakeDevice`; see :meth:`FakeDevice.kernel`."""

    def __init__(self, device: FakeDevice, seconds: float):
        self._device = device
        self._seconds = seconds
        self.calls = 0

    def __repr__(self) -> str:
        return f"<kernel of {self._device.name}>"

    def __call__(self) -> None:
        dev, i = self._device, self.calls
        duration = self._seconds * (dev.cold[i] if i < len(dev.cold) else 1.0)
        duration *= dev.pattern[i % len(dev.pattern)]
        if dev.hiccup_every and (i + 1) % dev.hiccup_every == 0:
            duration += dev.hiccup_s
        self.calls += 1
        dev._launch(duration)


class FakeEvent:
    """A point in a :class:`FakeDevice`'s queue, used like ``torch.cuda.Event(enable_timing=True)``.

    ``record()`` marks the moment the work queued so far will have finished (now, when the device
    is idle). The event has *completed* once the host's clock has reached that moment, i.e. after a
    ``synchronize()`` of the event or of the device. ``start.elapsed_time(end)`` is the time between
    the two marks in milliseconds, and raises ``RuntimeError`` if either event was not recorded or
    has not completed, as CUDA does.
    """

    def __init__(self, device: FakeDevice):
        self._device = device
        self._time: float | None = None

    def record(self) -> None:
        self._time = max(self._device._host, self._device._queue_end)

    def query(self) -> bool:
        """True when the event was recorded and the work before it has finished."""
        return self._time is not None and self._device._host >= self._time

    def synchronize(self) -> None:
        """Wait until the work queued before :meth:`record` has finished."""
        if self._time is not None:
            self._device._host = max(self._device._host, self._time)

    def elapsed_time(self, end: "FakeEvent") -> float:
        """Milliseconds from this event to ``end``; both recorded and completed."""
        for event, which in ((self, "start"), (end, "end")):
            if event._time is None:
                raise RuntimeError(f"elapsed_time: the {which} event was never recorded; call "
                                   f"{which}.record() first.")
            if not event.query():
                raise RuntimeError(f"elapsed_time: the {which} event has not completed (the work "
                                   "before it is still queued); call end.synchronize() or "
                                   "device.synchronize() before reading the time.")
        return (end._time - self._time) * 1e3


class HostEvent:
    """An event on a device without a queue (the CPU): ``record()`` reads ``time.perf_counter``.

    >>> a, b = HostEvent(), HostEvent()
    >>> a.record(); b.record(); a.elapsed_time(b) >= 0
    True
    """

    def __init__(self):
        self._time: float | None = None

    def record(self) -> None:
        self._time = time.perf_counter()

    def query(self) -> bool:
        return self._time is not None

    def synchronize(self) -> None:
        return None

    def elapsed_time(self, end: "HostEvent") -> float:
        if self._time is None or end._time is None:
            raise RuntimeError("elapsed_time: both events must be recorded first.")
        return (end._time - self._time) * 1e3


class RealDevice:
    """The timer interface on a real ``torch.device``: see :func:`device_for`."""

    def __init__(self, device: torch.device):
        self.device = device

    @property
    def name(self) -> str:
        """The device in words; on a CPU with the thread count in force now, not at creation."""
        if self.device.type == "cuda":
            return f"{self.device} ({torch.cuda.get_device_name(self.device)})"
        if self.device.type == "mps":
            return "mps (Apple GPU)"
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'s' if threads != 1 else ''})"

    def __repr__(self) -> str:
        return f"RealDevice({self.name!r})"

    @staticmethod
    def clock() -> float:
        return time.perf_counter()

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.device.type == "mps":
            torch.mps.synchronize()

    def Event(self, enable_timing: bool = True):  # noqa: N802 (torch.cuda.Event)
        if self.device.type == "cuda":
            return torch.cuda.Event(enable_timing=True)
        if self.device.type == "mps":
            return torch.mps.event.Event(enable_timing=True)
        return HostEvent()


def device_for(device: torch.device | str | None = None) -> RealDevice:
    """The timer interface (``clock``, ``synchronize``, ``Event``, ``name``) of a real device.

    ``None`` means :func:`attn_course.timing.default_device` (CUDA, else MPS, else the CPU).

    >>> dev = device_for("cpu")
    >>> dev.synchronize()                 # nothing is queued on a CPU
    >>> dev.name.startswith("cpu")
    True
    """
    if device is None:
        from .timing import default_device
        device = default_device()
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return RealDevice(device)


class CountFlops(TorchFunctionMode):
    """Counts the FLOPs of the matrix products and convolutions run inside it, 2 per multiply-add.

    It watches every torch function called inside ``with CountFlops() as counter:`` and adds

    * ``conv1d``, ``conv2d``, ``linear`` with weight ``(C_out, C_in / groups, *k)``:
      ``2 · out.numel() · (C_in / groups) · prod(k)``;
    * ``mm``, ``bmm``, ``matmul``, ``@`` of ``(.., m, k)`` and ``(.., k, n)``: ``2 · out.numel() · k``
      (and ``addmm``, ``baddbmm``: the same for their two factors);
    * ``einsum`` of two operands: 2 × the product of the sizes of all its indices.

    Element-wise arithmetic (activations, gates, normalisation: a few FLOPs per element) is not
    counted. ``torch.utils.flop_counter.FlopCounterMode`` counts the same operations one level lower
    (aten), but loading it takes seconds; this one costs nothing to start.

    >>> with CountFlops() as counter:
    ...     _ = torch.nn.Linear(3, 4)(torch.ones(2, 3))
    >>> counter.flops                    # 2 rows x 4 outputs x 3 multiply-adds x 2
    48
    """

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        if name in ("conv1d", "conv2d", "linear"):
            self.flops += 2 * out.numel() * math.prod(args[1].shape[1:])
        elif name in ("mm", "bmm", "matmul", "__matmul__"):
            self.flops += 2 * out.numel() * args[0].shape[-1]
        elif name in ("addmm", "baddbmm"):
            self.flops += 2 * out.numel() * args[1].shape[-1]
        elif name == "einsum" and len(args) == 3 and isinstance(args[0], str) and "..." not in args[0]:
            inputs = args[0].replace(" ", "").split("->")[0].split(",")
            sizes = {letter: size for term, operand in zip(inputs, args[1:])
                     for letter, size in zip(term, operand.shape)}
            self.flops += 2 * math.prod(sizes.values())
        return out


def forward_flops(module: Callable, x: torch.Tensor) -> int:
    """FLOPs of the matrix products and convolutions in one forward pass ``module(x)``, without
    gradients (see :class:`CountFlops`).

    >>> forward_flops(torch.nn.Conv2d(4, 8, 3, padding=1), torch.ones(1, 4, 5, 5))   # 200 outputs · 36 · 2
    14400
    """
    with CountFlops() as counter, torch.no_grad():
        module(x)
    return counter.flops


_PROVENANCE_FIELDS = ("device", "torch", "source", "date")


def load_results(path: str | Path) -> dict:
    """Read a stored results file of the timing lab (JSON), checking its provenance.

    The file holds ``provenance`` (at least ``device``, ``torch``, ``source`` and ``date``) and
    ``tables``; a file without them is refused, since numbers without the machine that produced
    them mean nothing. ``benchmarks/timing_lab_gpu.py`` writes such files.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    provenance = data.get("provenance") if isinstance(data, dict) else None
    missing = [f for f in _PROVENANCE_FIELDS if not isinstance(provenance, dict) or f not in provenance]
    if missing or "tables" not in data:
        raise ValueError(f"{path}: a results file needs provenance fields {list(_PROVENANCE_FIELDS)} "
                         f"and 'tables'; missing {missing or ['tables']}.")
    return data
