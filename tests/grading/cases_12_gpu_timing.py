"""Submissions for 12_gpu_timing that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch, and raise a flag for the instructor). CORRECT cases are written
differently from the solution and must keep full marks.

The timers run against attn_course.timelab's simulated GPU, whose work completes only when
synchronised, whose first calls can be slow and whose calls can stall, so each classic timing
mistake gives a wrong number there.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "12_gpu_timing"

# ------------------------------------------------------------------------------------- the timer
_CHECKED = '''
def time_call(fn, device, *, warmup=3, blocks=7, calls=10):
    for name, value, least in (("warmup", warmup, 0), ("blocks", blocks, 1), ("calls", calls, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an int >= {least}, got {name}={value!r}")
'''
_WARM = '''    for _ in range(warmup):
        fn()
    device.synchronize()
'''


def _timer(body: str, warm: str = _WARM) -> str:
    return _CHECKED + warm + body


_BLOCKS_OK = '''    per_call = []
    for _ in range(blocks):
        start = device.clock()
        for _ in range(calls):
            fn()
        device.synchronize()
        per_call.append((device.clock() - start) / calls)
'''

_TIMER = {"test_timer_basics", "test_timer_traps"}
_TRAPS = {"test_timer_traps"}

# ------------------------------------------------------------------------------ bytes and bound
_BOUND_OK = '''

def traffic_bound_s(shape, dtype, bandwidth, parameters=0, backward=False):
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got bandwidth={bandwidth}")
    return bytes_moved(shape, dtype, parameters, backward) / bandwidth
'''
_BYTES_HEAD = '''
def bytes_moved(shape, dtype, parameters=0, backward=False):
    if any(size < 1 for size in shape):
        raise ValueError(f"sizes must be at least 1, got shape={tuple(shape)}")
    if parameters < 0:
        raise ValueError(f"parameters must be >= 0, got {parameters}")
    n = math.prod(shape)
'''
_BYTES_OK = "    b = dtype.itemsize\n    return (5 * n + 3 * parameters) * b if backward else (2 * n + parameters) * b\n"


def _bytes(body: str = _BYTES_OK, bound: str = _BOUND_OK) -> str:
    return _BYTES_HEAD + body + bound


_BYTES = {"test_bytes_moved", "test_traffic_bound"}

# ----------------------------------------------------------------------------------- classify
_CLASSIFY_HEAD = '''
def classify(measured_s, nbytes, flops, *, bandwidth, peak_flops, slack=3.0):
    for name, value in (("measured_s", measured_s), ("bandwidth", bandwidth), ("peak_flops", peak_flops), ("slack", slack)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {name}={value}")
    for name, value in (("nbytes", nbytes), ("flops", flops)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {name}={value}")
    t_memory, t_compute = nbytes / bandwidth, flops / peak_flops
'''


def _classify(body: str) -> str:
    return _CLASSIFY_HEAD + body


# ----------------------------------------------------------------------------------- diagnose
_DIAGNOSE_HEAD = '''
def diagnose(samples_s, bound_s):
    if not bound_s > 0:
        raise ValueError(f"bound_s must be positive, got bound_s={bound_s}")
    if len(samples_s) < 5:
        return "few-calls"
'''


def _diagnose(body: str) -> str:
    return _DIAGNOSE_HEAD + body


_FLOAT_LIAR = '''
class _Seconds(float):
    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return _Seconds(0.0)

    __hash__ = float.__hash__
'''

WRONG = {
    # ---------------------------------------------------------------- Part A: the timer
    "timer_never_synchronizes": Wrong({"time_call": _timer('''    per_call = []
    for _ in range(blocks):
        start = device.clock()
        for _ in range(calls):
            fn()
        per_call.append((device.clock() - start) / calls)
    return float(statistics.median(per_call))
''', warm="    for _ in range(warmup):\n        fn()\n")}, loses=_TIMER),
    # The warm-up calls are made, but after the timed blocks: the slow first calls are timed.
    "timer_warms_up_after_timing": Wrong({"time_call": _timer(_BLOCKS_OK + '''    for _ in range(warmup):
        fn()
    return float(statistics.median(per_call))
''', warm="")}, loses=_TRAPS),
    "timer_without_warmup": Wrong({"time_call": _timer(_BLOCKS_OK + "    return float(statistics.median(per_call))\n",
                                                       warm="    device.synchronize()\n")}, loses=_TIMER),
    "timer_mean_of_one_call": Wrong({"time_call": _timer('''    start = device.clock()
    fn()
    device.synchronize()
    return float(device.clock() - start)
''')}, loses=_TIMER),
    "timer_mean_of_the_blocks": Wrong({"time_call": _timer(_BLOCKS_OK + "    return float(sum(per_call) / len(per_call))\n")},
                                      loses=_TRAPS),
    "timer_block_time_not_per_call": Wrong({"time_call": _timer('''    per_block = []
    for _ in range(blocks):
        start = device.clock()
        for _ in range(calls):
            fn()
        device.synchronize()
        per_block.append(device.clock() - start)
    return float(statistics.median(per_block))
''')}, loses=_TIMER),
    "timer_returns_milliseconds": Wrong({"time_call": _timer(_BLOCKS_OK + "    return float(statistics.median(per_call)) * 1e3\n")},
                                        loses=_TIMER),
    "timer_uses_perf_counter_not_the_device_clock": Wrong({"time_call": _timer('''    per_call = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        device.synchronize()
        per_call.append((time.perf_counter() - start) / calls)
    return float(statistics.median(per_call))
''')}, loses=_TIMER),
    "timer_events_read_before_they_complete": Wrong({"time_call": _timer('''    per_call = []
    for _ in range(blocks):
        start, end = device.Event(), device.Event()
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        per_call.append(start.elapsed_time(end) / 1e3 / calls)
    return float(statistics.median(per_call))
''')}, loses=_TIMER),
    # Checks `< 1` but not the type: blocks=2.0 reaches range() and raises TypeError.
    "timer_accepts_float_counts": Wrong({"time_call": '''
def time_call(fn, device, *, warmup=3, blocks=7, calls=10):
    if warmup < 0 or blocks < 1 or calls < 1:
        raise ValueError(f"need warmup >= 0, blocks >= 1, calls >= 1; got warmup={warmup}, blocks={blocks}, calls={calls}")
''' + _WARM + _BLOCKS_OK + "    return float(statistics.median(per_call))\n"}, loses={"test_timer_basics"}),
    # ---------------------------------------------------------------- Part B: bytes and bound
    "bytes_counted_once_read_only": Wrong({"bytes_moved": _bytes(
        "    b = dtype.itemsize\n    return (2 * n + 2 * parameters) * b if backward else (n + parameters) * b\n")}, loses=_BYTES),
    "bytes_float32_size_assumed": Wrong({"bytes_moved": _bytes(
        "    return (5 * n + 3 * parameters) * 4 if backward else (2 * n + parameters) * 4\n")}, loses=_BYTES),
    "bytes_bits_not_bytes": Wrong({"bytes_moved": _bytes(
        "    b = torch.finfo(dtype).bits\n    return (5 * n + 3 * parameters) * b if backward else (2 * n + parameters) * b\n")},
        loses=_BYTES),
    "bytes_parameters_ignored": Wrong({"bytes_moved": _bytes(
        "    b = dtype.itemsize\n    return 5 * n * b if backward else 2 * n * b\n")}, loses=_BYTES),
    "bytes_backward_as_twice_the_forward": Wrong({"bytes_moved": _bytes(
        "    b = dtype.itemsize\n    return 2 * (2 * n + parameters) * b if backward else (2 * n + parameters) * b\n")},
        loses=_BYTES),
    "bound_in_milliseconds": Wrong({"bytes_moved": _bytes(bound='''

def traffic_bound_s(shape, dtype, bandwidth, parameters=0, backward=False):
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got bandwidth={bandwidth}")
    return bytes_moved(shape, dtype, parameters, backward) / bandwidth * 1e3
''')}, loses={"test_traffic_bound"}),
    # ---------------------------------------------------------------- Part C: classify
    "classify_overhead_against_the_smaller_bound": Wrong({"classify": _classify('''    if measured_s > slack * min(t_memory, t_compute):
        return "overhead"
    return "memory" if t_memory >= t_compute else "compute"
''')}, loses={"test_classify"}),
    "classify_tie_goes_to_compute": Wrong({"classify": _classify('''    if measured_s > slack * max(t_memory, t_compute):
        return "overhead"
    return "memory" if t_memory > t_compute else "compute"
''')}, loses={"test_classify"}),
    "classify_slack_fixed_at_three": Wrong({"classify": _classify('''    if measured_s > 3 * max(t_memory, t_compute):
        return "overhead"
    return "memory" if t_memory >= t_compute else "compute"
''')}, loses={"test_classify"}),
    "cheat_classify_string_equal_to_anything": Wrong({"classify": '''
class _Label(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__
''' + _classify('''    return _Label("memory")
''')}, loses={"test_classify"}),
    # ---------------------------------------------------------------- Part D: diagnose
    "diagnose_mean_below_the_bound": Wrong({"diagnose": _diagnose('''    if sum(samples_s) / len(samples_s) < bound_s:
        return "no-sync"
    if samples_s[0] > 5 * statistics.median(samples_s[1:]):
        return "no-warmup"
    return "ok"
''')}, loses={"test_diagnose"}),
    "diagnose_warmup_checked_first": Wrong({"diagnose": _diagnose('''    if samples_s[0] > 5 * statistics.median(samples_s[1:]):
        return "no-warmup"
    if statistics.median(samples_s) < bound_s:
        return "no-sync"
    return "ok"
''')}, loses={"test_diagnose"}),
    "diagnose_warmup_against_the_median_of_all": Wrong({"diagnose": _diagnose('''    middle = statistics.median(samples_s)
    if middle < bound_s:
        return "no-sync"
    if samples_s[0] > 5 * middle:
        return "no-warmup"
    return "ok"
''')}, loses={"test_diagnose"}),
    # ---------------------------------------------------------------- cheating
    "cheat_bytes_number_that_equals_anything": Wrong({"bytes_moved": cheats.always_equal(
        "bytes_moved(shape, dtype, parameters=0, backward=False)") + _BOUND_OK}, loses=_BYTES),
    "cheat_timer_float_that_equals_anything": Wrong({"time_call": _FLOAT_LIAR + '''
def time_call(fn, device, *, warmup=3, blocks=7, calls=10):
    for _ in range(warmup + blocks * calls):
        fn()
    return _Seconds(0.0)
'''}, loses=_TIMER),
    "cheat_bound_float_that_equals_anything": Wrong({"bytes_moved": _bytes(bound=_FLOAT_LIAR + '''

def traffic_bound_s(shape, dtype, bandwidth, parameters=0, backward=False):
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got bandwidth={bandwidth}")
    return _Seconds(0.0)
''')}, loses={"test_traffic_bound"}),
    "cheat_classify_number_that_equals_anything": Wrong({"classify": cheats.always_equal(
        "classify(measured_s, nbytes, flops, *, bandwidth, peak_flops, slack=3.0)")}, loses={"test_classify"}),
    "cheat_diagnose_number_that_equals_anything": Wrong({"diagnose": cheats.always_equal(
        "diagnose(samples_s, bound_s)")}, loses={"test_diagnose"}),
}

CORRECT = {
    # CUDA-event style: the device times the blocks; the median as the middle of the sorted list.
    "events_and_sorted_middle": {"time_call": '''
def time_call(fn, device, *, warmup=3, blocks=7, calls=10):
    checks_ = {"warmup": (warmup, 0), "blocks": (blocks, 1), "calls": (calls, 1)}
    for name, (value, least) in checks_.items():
        if type(value) is not int or value < least:
            raise ValueError(f"time_call: {name} has to be an integer of at least {least}, not {value!r}")
    for _ in range(warmup):
        fn()
    device.synchronize()
    seconds = []
    for _ in range(blocks):
        start, end = device.Event(enable_timing=True), device.Event(enable_timing=True)
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        seconds.append(start.elapsed_time(end) / 1000 / calls)
    if len(seconds) % 2:
        return float(sorted(seconds)[len(seconds) // 2])
    return float(statistics.median(seconds))
''', "bytes_moved": '''
def bytes_moved(shape, dtype, parameters=0, backward=False):
    shape = torch.Size(shape)
    if min(shape) < 1:
        raise ValueError(f"shape {tuple(shape)} has a size below 1 ({min(shape)})")
    if parameters < 0:
        raise ValueError(f"a module cannot have {parameters} parameters (must be >= 0)")
    itemsize = torch.empty(0, dtype=dtype).element_size()
    reads_writes = 2 * shape.numel() + parameters
    if backward:
        reads_writes += 3 * shape.numel() + 2 * parameters
    return reads_writes * itemsize


def traffic_bound_s(shape, dtype, bandwidth, parameters=0, backward=False):
    return timing.memory_traffic_bound_s(bytes_moved(shape, dtype, parameters, backward), bandwidth=bandwidth)
''', "classify": '''
def classify(measured_s, nbytes, flops, *, bandwidth, peak_flops, slack=3.0):
    positive = dict(measured_s=measured_s, bandwidth=bandwidth, peak_flops=peak_flops, slack=slack)
    bad = [f"{k}={v}" for k, v in positive.items() if v <= 0] + [f"{k}={v}" for k, v in dict(nbytes=nbytes, flops=flops).items() if v < 0]
    if bad:
        raise ValueError("classify: not allowed: " + ", ".join(bad) + " (times and rates must be positive, counts >= 0)")
    bounds = {"memory": nbytes / bandwidth, "compute": flops / peak_flops}
    limit = max(bounds.values())
    if measured_s > slack * limit:
        return "overhead"
    return "memory" if bounds["memory"] == limit else "compute"
''', "diagnose": '''
def diagnose(samples_s, bound_s):
    if bound_s <= 0:
        raise ValueError(f"the bound must be positive, got {bound_s}")
    ordered = sorted(samples_s)
    def middle(values):
        values = sorted(values)
        k = len(values) // 2
        return values[k] if len(values) % 2 else (values[k - 1] + values[k]) / 2
    if len(ordered) < 5:
        return "few-calls"
    if middle(ordered) < bound_s:
        return "no-sync"
    return "no-warmup" if samples_s[0] > 5 * middle(samples_s[1:]) else "ok"
'''},
    # A while loop over blocks, synchronising at both edges; numpy's median; finfo for the size.
    "numpy_median_and_finfo": {"time_call": '''
import numpy as np

def time_call(fn, device, *, warmup=3, blocks=7, calls=10):
    for label, value, low in [("warmup", warmup, 0), ("blocks", blocks, 1), ("calls", calls, 1)]:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{label}={value!r} is not an int")
        if value < low:
            raise ValueError(f"{label}={value} is below {low}: need at least {low}")
    done = 0
    while done < warmup:
        fn()
        done += 1
    times = []
    while len(times) < blocks:
        device.synchronize()
        t0 = device.clock()
        for _ in range(calls):
            fn()
        device.synchronize()
        t1 = device.clock()
        times.append((t1 - t0) / calls)
    return float(np.median(times))
''', "bytes_moved": '''
def bytes_moved(shape, dtype, parameters=0, backward=False):
    n = 1
    for size in shape:
        if size < 1:
            raise ValueError(f"every size must be >= 1, got {size} in {shape}")
        n *= size
    if parameters < 0:
        raise ValueError(f"parameters must be >= 0, got {parameters}")
    b = torch.finfo(dtype).bits // 8
    forward = (2 * n + parameters) * b
    return forward + (3 * n + 2 * parameters) * b if backward else forward


def traffic_bound_s(shape, dtype, bandwidth, parameters=0, backward=False):
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be > 0 bytes/s, got {bandwidth}")
    return float(bytes_moved(shape, dtype, parameters=parameters, backward=backward)) / float(bandwidth)
''', "diagnose": '''
import numpy as np

def diagnose(samples_s, bound_s):
    if not bound_s > 0:
        raise ValueError(f"bound_s={bound_s} must be > 0")
    samples = list(samples_s)
    if len(samples) < 5:
        return "few-calls"
    if float(np.median(samples)) < bound_s:
        return "no-sync"
    if samples[0] > 5 * float(np.median(samples[1:])):
        return "no-warmup"
    return "ok"
'''},
    # Cross-multiplied comparisons instead of divisions; the timer totals a block's calls.
    "cross_multiplied_classify": {"classify": '''
def classify(measured_s, nbytes, flops, *, bandwidth, peak_flops, slack=3.0):
    if measured_s <= 0 or bandwidth <= 0 or peak_flops <= 0 or slack <= 0:
        raise ValueError(f"measured_s={measured_s}, bandwidth={bandwidth}, peak_flops={peak_flops}, slack={slack}: all must be > 0")
    if nbytes < 0 or flops < 0:
        raise ValueError(f"nbytes={nbytes} and flops={flops} must be >= 0")
    memory_wins = nbytes * peak_flops >= flops * bandwidth
    bound = nbytes / bandwidth if memory_wins else flops / peak_flops
    if measured_s > slack * bound:
        return "overhead"
    return "memory" if memory_wins else "compute"
''', "time_call": '''
def time_call(fn, device, *, warmup=3, blocks=7, calls=10):
    for name, value in {"warmup": warmup, "blocks": blocks, "calls": calls}.items():
        least = 0 if name == "warmup" else 1
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= least):
            raise ValueError(f"{name} must be a whole number >= {least}; received {value!r}")
    for _ in range(warmup):
        fn()
    device.synchronize()
    per_call = []
    for _ in range(blocks):
        begin = device.clock()
        for _ in range(calls):
            fn()
        device.synchronize()
        per_call.append(device.clock() - begin)
    return statistics.median(per_call) / calls
'''},
}
