"""`attn-course grade --jobs N` on the generated class (benchmarks/grading_throughput.py, which
grades it with ``--jobs 2``): the same scores, CSV, gradebook and workdir as a serial run, the
kinds scored as they should be, and the benchmark's figures computed from what it measured.

The serial run starts every kernel from scratch (``ATTN_COURSE_FRESH_KERNELS=1``), the parallel
one forks them from its workers' zygotes (attn_course/kernel_zygote.py): the comparison also shows
that a forked kernel grades as a fresh one does."""

import csv
import json
import os
from pathlib import Path

import pytest

from attn_course import grading
from attn_course.cli import main
from tests.benchmark_scripts import load
from tests.grading.make_class import KINDS

ROOT = Path(__file__).resolve().parents[1]
TINY = "01_se"   # one of the quickest notebooks to grade


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The generated class of one notebook, graded by the benchmark with ``--jobs 2``, and again
    through the command line with ``--jobs 1``."""
    bench = load("grading_throughput")
    tmp = tmp_path_factory.mktemp("parallel")
    out = tmp / "throughput.json"
    assert bench.main(["--only", TINY, "--per-kind", "1", "--jobs", "2", "--json", str(out),
                       "--keep", str(tmp / "bench")]) == 0
    subs = tmp / "bench" / "submissions"
    before = {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    work1, table1 = tmp / "work1", tmp / "grades1.csv"
    os.environ["ATTN_COURSE_FRESH_KERNELS"] = "1"   # inherited by the spawned grading worker
    try:
        assert main(["--root", str(ROOT), "grade", str(subs), "--workdir", str(work1),
                     "--csv", str(table1), "--jobs", "1"]) == 0
    finally:
        del os.environ["ATTN_COURSE_FRESH_KERNELS"]
    assert before == {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    runs = {1: (work1, table1), 2: (tmp / "bench" / "workdir", tmp / "bench" / "scores.csv")}
    return json.loads(out.read_text()), runs


def _rows(table):
    with open(table, newline="") as fh:
        return list(csv.DictReader(fh))


def _gradebook(work):
    """Every grade and comment of every submission, without the row ids (uuids differ per run)."""
    from nbgrader.api import Gradebook

    found = []
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}", "attn-course") as gb:
        for assignment in gb.assignments:
            for sub in sorted(assignment.submissions, key=lambda s: s.student.id):
                for nb in sub.notebooks:
                    for g in nb.grades:
                        found.append((sub.student.id, assignment.name, nb.name, g.name,
                                      g.auto_score, g.manual_score, g.max_score))
                    for c in nb.comments:
                        found.append((sub.student.id, assignment.name, nb.name, c.name,
                                      c.auto_comment, c.manual_comment))
    return sorted(found, key=repr)


def test_parallel_run_equals_the_serial_run(graded):
    _, runs = graded
    (work1, table1), (work2, table2) = runs[1], runs[2]
    assert table1.read_text() == table2.read_text()
    gradebook = _gradebook(work1)
    assert gradebook and gradebook == _gradebook(work2)
    listing = [sorted(str(p.relative_to(w)) for p in (w / top).rglob("*"))
               for w in (work1, work2) for top in ("autograded", "submitted")]
    assert listing[0] == listing[2] and listing[1] == listing[3]
    assert not (work2 / ".workers").exists()


def test_the_generated_class_is_scored_as_its_kinds(graded):
    result, runs = graded
    rows = result["submissions"]
    assert sorted(r["kind"] for r in rows) == sorted(KINDS)
    for r in rows:
        assert not r["note"], r
        if r["kind"] == "correct":
            assert r["score"] == r["max_score"] > 0, r
        else:
            assert r["score"] < r["max_score"], r
        assert r["cells_s"] is not None and r["cells_s"] > 0
    assert result["violations"] == []
    table = {r["student"]: float(r["score"]) for r in _rows(runs[2][1])}
    assert table == {r["student"]: r["score"] for r in rows}


def test_the_benchmark_figures_follow_from_its_measurements(graded):
    result, _ = graded
    rate = result["gradings"] / (result["wall_s"] / 60) / min(2, result["cores"])
    assert result["rate_per_core_per_min"] == pytest.approx(rate)
    assert result["projection"]["minutes"] == pytest.approx(300 * 14 / (rate * 16))


def test_feedback_works_on_a_parallel_workdir(graded, tmp_path):
    _, runs = graded
    reports = grading.feedback(runs[2][0], ROOT, tmp_path / "fb")
    assert sorted(p.parent.parent.name for p in reports) == sorted(
        r["student"] for r in graded[0]["submissions"])


def test_progress_line(tmp_path):
    from attn_course.grading_parallel import Progress

    out = tmp_path / "progress.txt"
    with out.open("w") as stream:
        bar = Progress(3, stream)
        bar.step()
        bar.step("not graded: x")
        bar.step()
    lines = out.read_text().splitlines()
    assert lines[0].startswith("graded 1/3, ") and "left" in lines[0]
    assert lines[-1].startswith("graded 3/3 (1 not graded), ")


def test_jobs_must_be_positive(capsys):
    assert main(["--root", str(ROOT), "grade", str(ROOT), "--jobs", "0"]) == 2
    assert "--jobs must be 1 or more" in capsys.readouterr().err


class _FlakyApi:
    """nbgrader's API as far as autograde_one uses it: fails ``failures`` times, then succeeds."""

    def __init__(self, root, failures):
        import types

        self.coursedir = types.SimpleNamespace(root=str(root))
        self.failures, self.calls = failures, 0

    def autograde(self, name, student, force, create):
        self.calls += 1
        if self.calls <= self.failures:
            return {"success": False, "error": "zmq.error.ZMQError: Address already in use"}
        return {"success": True}


def test_a_failure_that_is_not_the_submissions_is_retried_once(tmp_path):
    from attn_course.grading_parallel import autograde_one

    folder = tmp_path / "submitted" / "ada" / "01_se"
    folder.mkdir(parents=True)
    (folder / "01_se.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    once = _FlakyApi(tmp_path, failures=1)
    assert autograde_one(once, "ada", "01_se") == "" and once.calls == 2
    always = _FlakyApi(tmp_path, failures=5)
    note = autograde_one(always, "ada", "01_se")
    assert always.calls == 2 and "Address already in use" in note
    (folder / "01_se.ipynb").unlink()
    missing = _FlakyApi(tmp_path, failures=5)
    assert "no notebook" in autograde_one(missing, "ada", "01_se") and missing.calls == 1
