"""benchmarks/grading_throughput.py and tests/grading/make_class.py: the generated class, its scores
and the projection's arithmetic (never how fast anything is)."""


import pytest

from tests.benchmark_scripts import load
from tests.grading.harness import needs_kernel
from tests.grading.make_class import CRASH, KINDS, make_class, plan_class



@pytest.fixture(scope="module")
def bench():
    return load("grading_throughput")


def test_projection_is_the_closed_form(bench):
    # 70 gradings in 10 minutes on 2 workers and 2 cores: 3.5 per minute per core.
    assert bench.per_core_rate(70, 600.0, jobs=2, cores=2) == pytest.approx(3.5)
    # 300 students × 14 notebooks on 16 cores at 3.5 per minute per core: 4200 / 56 = 75 minutes.
    assert bench.projected_minutes(3.5) == pytest.approx(300 * 14 / (3.5 * 16)) == pytest.approx(75)
    assert bench.projected_minutes(2.0, students=10, notebooks=3, cores=5) == pytest.approx(3.0)
    # More jobs than cores count the cores; more jobs than gradings count the gradings.
    assert bench.per_core_rate(8, 120.0, jobs=16, cores=4) == pytest.approx(8 / 2 / 4)
    assert bench.per_core_rate(3, 60.0, jobs=16, cores=8) == pytest.approx(3 / 1 / 3)
    with pytest.raises(ValueError):
        bench.per_core_rate(0, 60.0, jobs=1, cores=1)


def test_the_section_is_replaced_and_the_others_kept(bench):
    new = "## Grading throughput\n\nnew table\n"
    text = "# Benchmark results\n\nintro\n\n## A\n\na\n\n## Grading throughput\n\nold\n\n## B\n\nb\n"
    replaced = bench.replace_section(text, new)
    assert replaced == "# Benchmark results\n\nintro\n\n## A\n\na\n\n## Grading throughput\n\nnew table\n\n## B\n\nb\n"
    assert bench.replace_section(replaced, new) == replaced
    added = bench.replace_section("# Benchmark results\n\n## A\n\na\n", new)
    assert added == "# Benchmark results\n\n## A\n\na\n\n## Grading throughput\n\nnew table\n"
    last = bench.replace_section("# R\n\n## Grading throughput\n\nold\n", new)
    assert last == "# R\n\n## Grading throughput\n\nnew table\n"


def test_the_class_has_every_kind_and_is_the_same_every_time(tmp_path):
    plan = plan_class(["01_se"], per_kind=2)
    assert plan == plan_class(["01_se"], per_kind=2)
    assert sorted({p.kind for p in plan}) == sorted(KINDS) and len(plan) == 10
    assert [p.student for p in plan] == sorted(p.student for p in plan)
    assert {p.student for p in plan if p.kind == "correct"} == {"correct-01_se-0", "correct-01_se-1"}
    by = {(p.kind, p.student[-1]): p for p in plan}
    assert by[("correct", "0")].case != by[("correct", "1")].case
    assert by[("blank", "0")].answers is None
    assert not by[("wrong", "0")].case.startswith("cheat_")
    assert all(needs_kernel(by[("cheating", i)].case) for i in "01")   # 01_se has kernel-only cheats
    assert next(iter(by[("crashing", "0")].answers.values())).startswith(CRASH)

    manifest = make_class(tmp_path, ["01_se"], per_kind=1)
    assert sorted(manifest.values()) == sorted(KINDS)
    for student, assignment in manifest:
        assert (tmp_path / student / assignment / f"{assignment}.ipynb").is_file()
    with pytest.raises(ValueError, match="no such assignment"):
        plan_class(["99_nothing"])


def test_violations_name_the_submissions_scored_against_their_kind(bench):
    def row(kind, score, note=""):
        return {"student": f"{kind}-x-0", "assignment": "x", "kind": kind, "case": "c",
                "score": score, "max_score": 4.0, "failed_cells": "" if score == 4 else "t", "note": note}

    assert bench.violations([row("correct", 4.0), row("wrong", 3.0), row("blank", 0.0)]) == []
    found = bench.violations([row("correct", 3.0), row("crashing", 4.0), row("correct", 4.0, "not graded")])
    assert len(found) == 3 and "correct" in found[0] and "crashing" in found[1]


# The benchmark's run on a generated class is tested in test_parallel_grading.py, which compares
# it with a serial run of the same class.
