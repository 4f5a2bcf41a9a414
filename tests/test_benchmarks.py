"""benchmarks/bench_modules.py: its byte model and its table, on tiny runs (never how fast anything is)."""


import pytest
import torch

from tests.benchmark_scripts import load



@pytest.fixture(scope="module")
def bench():
    return load("bench_modules")


def test_traffic_bytes_is_the_closed_form(bench):
    x = torch.empty(2, 3, 4, 5)                             # N = 120 float32 elements
    forward, training = bench.traffic_bytes(x, parameters=7)
    assert forward == (2 * 120 + 7) * 4
    assert training == (5 * 120 + 3 * 7) * 4
    assert bench.traffic_bytes(x.double(), 0) == (2 * 120 * 8, 5 * 120 * 8)


def test_shape_and_keys_are_checked(bench):
    assert bench.parse_shape("8x256x40x40") == (8, 256, 40, 40)
    assert bench.parse_shape("1,2,3,4") == (1, 2, 3, 4)
    for bad in ["8x256x40", "8x0x4x4", "axbxcxd"]:
        with pytest.raises(Exception, match="expected a shape"):
            bench.parse_shape(bad)
    with pytest.raises(Exception, match="se"):
        bench.parse_keys("se,no_such_module")


@pytest.mark.parametrize("forward_only", [False, True])
def test_table_has_one_row_per_key(bench, capsys, forward_only):
    argv = ["--quick", "--keys", "se,simam", "--min-run-time", "0.005", "--device", "cpu",
            "--system-malloc"]                          # leave the test process's malloc alone
    assert bench.main(argv + ["--forward-only"] * forward_only) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith("device cpu") and "2×128×20×20 float32" in lines[0]
    assert "keeps freed memory" not in lines[0]
    header = [c.strip() for c in lines[2].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[4:]]
    assert [r[0] for r in rows] == ["se", "simam"]
    table = [dict(zip(header, r)) for r in rows]
    assert table[0]["params"] == f"{2 * 128 * 8 + 8 + 128:,}" and table[1]["params"] == "0"
    for row in table:
        assert float(row["fwd ms"]) > 0 and row["fwd / bound"].endswith("×")
        assert (row["fwd+bwd ms"] == "—") == forward_only
        assert row["note"] == ""
    assert "kernels fwd / bound" not in header               # GPU-only columns
    assert out.err.count("key=") == 2                          # a progress line per module


def test_results_sections_say_which_code_device_and_torch_made_them(tmp_path):
    results = load("results")
    target = tmp_path / "RESULTS.md"
    results.append_section("First", torch.device("cpu"), "| a |\n|---|\n| 1 |", path=target)
    results.append_section("Second", torch.device("cpu"), "| b |\n|---|\n| 2 |", path=target)
    text = target.read_text()
    assert text.startswith("# Benchmark results\n") and text.index("## First") < text.index("## Second")
    for section in text.split("\n## ")[1:]:
        provenance = section.splitlines()[2]
        assert provenance.startswith("commit `") and f"PyTorch {torch.__version__}" in provenance
        assert "CPU" in provenance
