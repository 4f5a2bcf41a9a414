"""attn_course.timelab: the simulated device's time model, its events, the real-device adapter and
the stored-results reader."""

import json

import pytest
import torch

from attn_course.timelab import FakeDevice, HostEvent, device_for, load_results

MS = 1e-3


def test_unsynchronised_clock_sees_only_the_launches():
    dev = FakeDevice(launch_s=2e-5)
    k = dev.kernel(1 * MS)
    for _ in range(5):
        k()
    assert dev.clock() == pytest.approx(5 * 2e-5)
    dev.synchronize()
    assert dev.clock() == pytest.approx(2e-5 + 5 * MS)   # the first launch, then work back to back
    assert k.calls == 5


def test_a_slow_host_sets_the_pace():
    dev = FakeDevice(launch_s=1 * MS)
    k = dev.kernel(1e-5)
    for _ in range(4):
        k()
    dev.synchronize()
    assert dev.clock() == pytest.approx(4 * MS + 1e-5)


def test_cold_pattern_and_hiccups_follow_the_documented_model():
    dev = FakeDevice(launch_s=0, cold=(10, 3), pattern=(0.5, 1.5), hiccup_every=3, hiccup_s=1.0)
    k = dev.kernel(1.0)
    durations = []
    for _ in range(7):
        before = dev.clock()
        k()
        dev.synchronize()
        durations.append(dev.clock() - before)
    assert durations == pytest.approx([5.0, 4.5, 1.5, 1.5, 0.5, 2.5, 0.5])


def test_each_kernel_has_its_own_cold_start():
    dev = FakeDevice(launch_s=0, cold=(4,))
    a, b = dev.kernel(1.0), dev.kernel(1.0)
    a(), a(), b()
    dev.synchronize()
    assert dev.clock() == pytest.approx(4 + 1 + 4)


def test_events_time_the_queue_and_refuse_unfinished_work():
    dev = FakeDevice(launch_s=1e-5)
    k = dev.kernel(2 * MS)
    start, end = dev.Event(), dev.Event()
    start.record()
    k(), k()
    end.record()
    with pytest.raises(RuntimeError, match="not completed"):
        start.elapsed_time(end)
    end.synchronize()
    assert start.elapsed_time(end) == pytest.approx(1e-2 + 4)      # milliseconds
    with pytest.raises(RuntimeError, match="never recorded"):
        dev.Event().elapsed_time(end)


@pytest.mark.parametrize("kwargs, word", [({"launch_s": -1}, "launch_s"), ({"pattern": ()}, "pattern"),
                                          ({"hiccup_every": -2}, "hiccup_every"), ({"cold": (0,)}, "cold")])
def test_impossible_settings_are_refused(kwargs, word):
    with pytest.raises(ValueError, match=word):
        FakeDevice(**kwargs)


def test_kernel_duration_must_be_positive():
    with pytest.raises(ValueError, match="seconds"):
        FakeDevice().kernel(0)
    with pytest.raises(TypeError, match="seconds"):
        FakeDevice().kernel("1 ms")


def test_real_cpu_device_has_the_same_interface():
    dev = device_for("cpu")
    t0 = dev.clock()
    dev.synchronize()
    a, b = dev.Event(), dev.Event()
    a.record()
    torch.ones(10).sum()
    b.record()
    b.synchronize()
    assert dev.clock() >= t0 and a.elapsed_time(b) >= 0 and isinstance(a, HostEvent)


def test_load_results_needs_provenance(tmp_path):
    good = {"provenance": {"device": "d", "torch": "t", "source": "s", "date": "x"}, "tables": {}}
    (tmp_path / "good.json").write_text(json.dumps(good))
    assert load_results(tmp_path / "good.json")["provenance"]["device"] == "d"
    (tmp_path / "bad.json").write_text(json.dumps({"tables": {}}))
    with pytest.raises(ValueError, match="provenance"):
        load_results(tmp_path / "bad.json")


def test_stored_h200_results_say_where_they_come_from():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "solutions" / "12_gpu_timing" / "gpu_results.json"
    data = load_results(path)
    assert "H200" in data["provenance"]["device"]
    assert "RESULTS.md" in data["provenance"]["source"]
    assert data["tables"]["modules"]["rows"]


def test_gpu_script_ratios_follow_the_results_format():
    from tests.benchmark_scripts import load

    script = load("timing_lab_gpu")
    rows = [{"key": "se", "shape": "8x256x40x40", "bound_fwd_ms": 0.5, "fwd_ms_compiled": 1.0,
             "kernels_fwd_ms_compiled": 0.75},
            {"key": "gam", "shape": "8x256x40x40", "bound_fwd_ms": 0.5, "fwd_ms_compiled": None}]
    assert script.ratio_rows(rows) == [{"key": "se", "shape": "8x256x40x40", "wall_clock_ratio": 2.0,
                                        "kernels_ratio": 1.5}]
    assert script.shape_text((8, 256, 40, 40)) == "8x256x40x40"
