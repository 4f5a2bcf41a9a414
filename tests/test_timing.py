"""attn_course.timing: the structure of what it reports, never how fast anything is."""

import time

import pytest
import torch
from torch import nn

from attn_course import timing
from attn_course.timing import (
    Timing, compare, copy_bandwidth, default_device, format_table, memory_traffic_bound_s,
    pick_size, small_sizes, time_fn, time_module,
)

FAST = 0.01   # min_run_time in seconds: enough to exercise the code, too short to mean anything


@pytest.fixture
def no_gpu(monkeypatch):
    """Pretend no GPU is present, so the CPU fallback is tested on any machine."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_default_device_is_a_device():
    assert isinstance(default_device(), torch.device)
    assert default_device().type in {"cuda", "mps", "cpu"}


def test_time_fn_fields_and_types():
    t = time_fn(torch.relu, torch.randn(64), min_run_time=FAST, warmup=1)
    assert isinstance(t, Timing)
    assert isinstance(t.median_s, float) and t.median_s > 0
    assert isinstance(t.iqr_s, float) and t.iqr_s >= 0
    assert isinstance(t.runs, int) and t.runs >= 1
    assert t.device == "cpu"
    assert t.peak_memory_bytes is None
    assert t.median_ms == pytest.approx(t.median_s * 1e3)


def test_time_fn_passes_arguments_and_counts_calls():
    calls = []
    time_fn(lambda a, *, b: calls.append((a, b)), 1, b=2, min_run_time=FAST, warmup=2)
    assert len(calls) > 2 and set(calls) == {(1, 2)}


def test_fast_calls_get_several_blocks_and_a_spread():
    calls = []
    t = time_fn(lambda: calls.append(1), min_run_time=0.02, warmup=0, device="cpu")
    assert t.runs >= timing.MIN_BLOCKS
    assert len(calls) > t.runs                   # blocks repeat the call: many calls per block
    assert 0 <= t.iqr_s < t.median_s * 100


def test_a_slow_call_is_not_repeated_beyond_the_budget():
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.03)
    t = time_fn(slow, min_run_time=0.01, warmup=1, device="cpu")
    # one warm-up, one call to size the blocks, then one block of one call fills the budget
    assert t.runs == 1 and len(calls) == 3 and t.iqr_s == 0
    assert t.median_s >= 0.03


def test_cpu_note_says_cpu(no_gpu):
    t = time_fn(torch.relu, torch.randn(8), min_run_time=FAST)
    assert "CPU" in t.note
    assert t.device == "cpu"
    assert small_sizes()


def test_str_is_readable():
    t = Timing(median_s=1.234e-3, iqr_s=5e-5, runs=40, device="cuda:0")
    assert str(t) == "1.23 ms (IQR 0.05 ms, median of 40, cuda:0)"
    assert "µs" in str(Timing(median_s=2e-6, iqr_s=1e-7, runs=3, device="cpu"))


def test_time_module_forward_leaves_no_grads():
    m = nn.Conv2d(4, 4, 3, padding=1)
    t = time_module(m, torch.randn(1, 4, 6, 6), min_run_time=FAST)
    assert t.device == "cpu" and t.runs >= 1
    assert all(p.grad is None for p in m.parameters())


def test_time_module_backward_populates_grads():
    m = nn.Conv2d(4, 4, 3, padding=1)
    time_module(m, torch.randn(1, 4, 6, 6), backward=True, min_run_time=FAST)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())


def test_time_module_moves_module_to_input_dtype():
    m = nn.Linear(3, 3)
    time_module(m, torch.randn(2, 3, dtype=torch.float64), min_run_time=FAST)
    assert m.weight.dtype == torch.float64


def test_bandwidth_and_traffic_bound():
    bandwidth = copy_bandwidth("cpu", nbytes=2**16)
    assert isinstance(bandwidth, float) and bandwidth > 0
    assert memory_traffic_bound_s(2e9, bandwidth=1e9) == pytest.approx(2.0)
    assert memory_traffic_bound_s(2**16, device="cpu") > 0


def test_small_sizes_honours_nbgrader(monkeypatch):
    monkeypatch.setattr(timing, "_gpu_available", lambda: True)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not small_sizes() and pick_size(1024, 64) == 1024
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert small_sizes() and pick_size(1024, 64) == 64


def test_small_sizes_without_gpu(no_gpu, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert small_sizes() and pick_size("big", "small") == "small"


def test_compare_rows_and_table():
    modules = {"conv": nn.Conv2d(4, 4, 1), "identity": nn.Identity()}
    rows = compare(modules, torch.randn(1, 4, 5, 5), min_run_time=FAST)
    assert [r["name"] for r in rows] == ["conv", "identity"]
    assert list(rows[0]) == ["name", "parameters", "median_ms", "iqr_ms", "device"]
    assert rows[0]["parameters"] == 4 * 4 + 4 and rows[1]["parameters"] == 0
    table = format_table(rows).splitlines()
    assert table[0] == "| name | parameters | median_ms | iqr_ms | device |"
    assert table[1] == "|---|---|---|---|---|"
    assert len(table) == 4 and table[2].startswith("| conv | 20 | ")


def test_format_table_formats_numbers():
    table = format_table([{"module": "se", "parameters": 2_514_944, "ms": 0.123456}])
    assert table.splitlines()[2] == "| se | 2,514,944 | 0.123 |"


def test_errors():
    with pytest.raises(TypeError, match="callable"):
        time_fn(42)
    with pytest.raises(ValueError, match="min_run_time must be a positive number"):
        time_fn(torch.relu, torch.randn(2), min_run_time=0)
    with pytest.raises(TypeError, match="nn.Module"):
        time_module(torch.relu, torch.randn(2))
    with pytest.raises(ValueError, match="empty"):
        compare({}, torch.randn(2))
    with pytest.raises(ValueError, match="row 1 has keys"):
        format_table([{"a": 1}, {"b": 2}])
    with pytest.raises(ValueError, match="nbytes must be a positive integer"):
        copy_bandwidth("cpu", nbytes=0)


# ---------------------------------------------------------------- on a CUDA GPU (skipped without one)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@needs_cuda
def test_cuda_is_the_default_and_sizes_grow(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert default_device().type == "cuda"
    assert not small_sizes() and pick_size("big", "small") == "big"


@needs_cuda
def test_cuda_timing_names_the_card_and_reads_peak_memory():
    x = torch.randn(1024, 1024, device="cuda")
    t = time_fn(torch.relu, x, min_run_time=FAST)
    assert t.device == f"cuda:{torch.cuda.current_device()}" and t.note == ""
    assert t.runs >= timing.MIN_BLOCKS        # the synchronisation's cost must not swallow the blocks
    assert t.peak_memory_bytes is not None and t.peak_memory_bytes >= 2 * x.nbytes  # x and relu(x)
    closure = time_fn(lambda: torch.relu(x), min_run_time=FAST)
    assert closure.device.startswith("cuda") and "assumed" in closure.note


@needs_cuda
def test_cuda_clock_waits_for_the_kernels():
    """A float32 4096³ product is 137 GFLOP: no GPU does it in under 0.137 ms without TF32 (1 PFLOP/s
    would be far above any card's float32 rate). A clock that did not synchronise would time only the
    launch, a few microseconds."""
    a = torch.randn(4096, 4096, device="cuda")
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        t = time_fn(torch.mm, a, a, min_run_time=0.05, warmup=1)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    assert t.median_s > 2 * 4096**3 / 1e15


@needs_cuda
def test_cuda_time_module_and_bandwidth():
    m = nn.Conv2d(8, 8, 3, padding=1)
    t = time_module(m, torch.randn(2, 8, 16, 16, device="cuda"), backward=True, min_run_time=FAST)
    assert t.device.startswith("cuda") and m.weight.device.type == "cuda"
    assert m.weight.grad is not None and m.weight.grad.device.type == "cuda"
    bandwidth = copy_bandwidth("cuda")
    assert 1e11 < bandwidth < 2e13        # 100 GB/s .. 20 TB/s: any card of the last decade
