"""`attn-course grade --jobs N`: the same scores, CSV, gradebook and workdir as a serial run, and a
submission nbgrader cannot read costs its own student the points, never the class its grading."""

import csv
import shutil
from pathlib import Path

import pytest

from attn_course import grading
from attn_course.cli import main
from tests.grading.cases_01_se import WRONG
from tests.grading.harness import write_submission

ROOT = Path(__file__).resolve().parents[1]
WRONG_CASE = sorted(WRONG)[0]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One small class graded twice through the command line: ``--jobs 1`` and ``--jobs 2``."""
    tmp = tmp_path_factory.mktemp("parallel")
    course = tmp / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / "01_se", course / "solutions" / "01_se")
    subs = tmp / "subs"
    write_submission(subs, "ada", "01_se", {})                    # the solution
    write_submission(subs, "bob", "01_se", WRONG[WRONG_CASE])     # one wrong answer
    (subs / "cyd" / "01_se").mkdir(parents=True)                  # not JSON at all
    (subs / "cyd" / "01_se" / "01_se.ipynb").write_text('{"cells": [')
    (subs / "dee" / "01_se").mkdir(parents=True)                  # no notebook handed in
    (subs / "dee" / "01_se" / "notes.txt").write_text("forgot to attach it")
    before = {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    runs = {}
    for jobs in (1, 2):
        work, table = tmp / f"work{jobs}", tmp / f"grades{jobs}.csv"
        assert main(["--root", str(course), "grade", str(subs), "--workdir", str(work),
                     "--csv", str(table), "--jobs", str(jobs)]) == 0
        runs[jobs] = work, table
    assert before == {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    return course, runs


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


def test_scores_and_notes(graded):
    _, runs = graded
    rows = {r["student"]: r for r in _rows(runs[2][1])}
    assert list(rows) == ["ada", "bob", "cyd", "dee"]
    assert rows["ada"]["score"] == rows["ada"]["max_score"] and not rows["ada"]["note"]
    assert float(rows["bob"]["score"]) < float(rows["bob"]["max_score"]) and not rows["bob"]["note"]
    assert float(rows["cyd"]["score"]) == 0 and "01_se.ipynb is not a readable notebook" in rows["cyd"]["note"]
    assert float(rows["dee"]["score"]) == 0 and "no notebook" in rows["dee"]["note"]
    assert rows["dee"]["max_score"] == rows["ada"]["max_score"]
    assert rows["dee"]["failed_cells"] == rows["cyd"]["failed_cells"] != ""


def test_feedback_works_on_a_parallel_workdir(graded, tmp_path):
    course, runs = graded
    reports = grading.feedback(runs[2][0], course, tmp_path / "fb")
    assert sorted(p.parent.parent.name for p in reports) == ["ada", "bob"]


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
