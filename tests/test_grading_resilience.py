"""A submission can only harm itself: memory, disk, processes, its grader, a loop; and a stopped
run resumes without grading anything twice.

Every case is graded in one class beside a correct student, who must keep full marks, and a wrong
one, who must lose exactly the points of the wrong answer.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from attn_course import grading
from attn_course.kernel_caps import groups_root
from tests.grading.tiny_course import ASSIGNMENT, POINTS, make_course, make_submission

ROOT = Path(__file__).resolve().parents[1]
CAPS = """\
c.CappedKernelManager.memory_limit = 1 * 2**30
c.CappedKernelManager.file_size_limit = 16 * 2**20
c.CappedKernelManager.task_limit = 48
c.Execute.timeout = 5
"""

ADD = "def add(a, b):\n    return a + b\n"
# The grading worker: the kernel's parent, or the parent of the zygote the kernel was forked from.
KILL_THE_GRADER = """import os, signal
def parent_of(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
grader = os.getppid()
if os.path.exists("/proc") and b"kernel_zygote" in open(f"/proc/{grader}/cmdline", "rb").read():
    grader = parent_of(grader)
os.kill(grader, signal.SIGKILL)
"""
CASES = {
    "ada": ADD,                                                       # correct
    "bob": "def add(a, b):\n    return abs(a) + b\n",                 # wrong: loses test_more
    "hog": "hoard = bytearray(3 * 2**30)\n" + ADD,                    # past the memory cap
    "dsk": "open('big.bin', 'wb').write(b'x' * 32 * 2**20)\n" + ADD,  # past the file-size cap
    "frk": ("import subprocess\nkids = [subprocess.Popen(['sleep', '987']) for _ in range(200)]\n"
            + ADD),                                                   # past the task cap
    "esc": ("import subprocess\nsubprocess.Popen(['setsid', 'sleep', '988'])\n" + ADD),  # leaves
    "kil": KILL_THE_GRADER + ADD,                                      # kills its grader
    "kzy": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n" + ADD,  # its zygote
    "lop": "while True:\n    pass\n" + ADD,                           # never ends
}


def _sleepers(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", marker.encode()]:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resilience")
    course = make_course(tmp / "course", CAPS)
    subs = tmp / "subs"
    for student, answer in CASES.items():
        make_submission(subs, student, answer)
    (subs / "cyd" / ASSIGNMENT).mkdir(parents=True)                # not JSON at all
    (subs / "cyd" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [')
    (subs / "dee" / ASSIGNMENT).mkdir(parents=True)                # no notebook handed in
    (subs / "dee" / ASSIGNMENT / "notes.txt").write_text("forgot to attach it")
    before = {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    scores = grading.grade(subs, course, tmp / "work", jobs=2)
    assert before == {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}, \
        "the instructor's submissions folder was modified"
    return {s.student: s for s in scores}, tmp / "work"


def test_the_correct_and_the_wrong_student_are_graded_as_usual(graded):
    scores, _ = graded
    assert scores["ada"].score == POINTS and not scores["ada"].note
    assert scores["bob"].score == 1 and scores["bob"].failed_cells == "test_more"


@pytest.mark.parametrize("student", ["hog", "dsk", "lop"])
def test_a_submission_past_a_cap_loses_its_own_points(graded, student):
    scores, work = graded
    assert scores[student].score == 0 and scores[student].max_score == POINTS
    assert not scores[student].note  # it was graded: its answer cell failed
    nb = json.loads((work / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    answer = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "answer")
    errors = [o for o in answer["outputs"] if o["output_type"] == "error"]
    expected = {"hog": "MemoryError", "dsk": "OSError", "lop": ""}[student]
    assert errors and expected in errors[0]["ename"], answer["outputs"]


@pytest.mark.skipif(groups_root() is None,
                    reason="no writable pids cgroup here: tasks are not capped per kernel, and a "
                           "process that left the kernel's process group cannot be found")
def test_forks_stop_at_the_task_cap_and_nothing_outlives_the_grading(graded):
    scores, work = graded
    assert scores["frk"].score == 0
    nb = json.loads((work / "autograded" / "frk" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    answer = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "answer")
    assert any(o.get("ename") == "BlockingIOError" for o in answer["outputs"]), answer["outputs"]
    assert scores["esc"].score == POINTS  # leaving a process behind is not wrong, but ...
    assert _sleepers("987") == [] and _sleepers("988") == []  # ... nothing is left running
    for group in groups_root().glob("kernel-*-*"):  # kernel-<grader pid>-<id>
        assert Path(f"/proc/{group.name.split('-')[1]}").exists(), \
            f"{group} outlived the process that graded in it"


def test_a_malformed_or_missing_notebook_is_a_note_not_a_stop(graded):
    scores, _ = graded
    assert scores["cyd"].score == 0 and f"{ASSIGNMENT}.ipynb is not a readable notebook" in scores["cyd"].note
    assert scores["dee"].score == 0 and "no notebook" in scores["dee"].note
    assert scores["dee"].max_score == POINTS
    assert scores["dee"].failed_cells == scores["cyd"].failed_cells == "test_more;test_small"


def test_a_submission_that_kills_its_grader_is_reported_and_harms_no_one(graded):
    scores, _ = graded
    assert scores["kil"].score == 0 and "killed the process grading it" in scores["kil"].note
    assert scores["ada"].score == POINTS


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="zygotes are Linux only: elsewhere the kernel's parent is the grader")
def test_a_kernel_that_kills_its_zygote_harms_no_one(graded):
    """The kernel's parent is the zygote it was forked from (attn_course/kernel_zygote.py): killing
    it costs nothing; the worker's next kernels start from scratch."""
    scores, _ = graded
    assert scores["kzy"].score == POINTS and not scores["kzy"].note
    assert all(scores[name].score == POINTS for name in ("ada", "esc"))


def test_a_stopped_run_resumes_without_regrading(tmp_path):
    """Kill `attn-course grade` (and everything it started) mid-class; --resume grades the rest
    only, and the result is the same as one uninterrupted run's."""
    course = make_course(tmp_path / "course", "c.Execute.timeout = 20")
    subs = tmp_path / "subs"
    slow = "import time\ntime.sleep(1)\n"
    for index in range(6):
        make_submission(subs, f"s{index}", (slow if index >= 2 else "") +
                        (ADD if index % 2 == 0 else "def add(a, b):\n    return a - b\n"))
    work, table = tmp_path / "work", tmp_path / "grades.csv"
    command = [sys.executable, "-m", "attn_course.cli", "--root", str(course), "grade", str(subs),
               "--workdir", str(work), "--csv", str(table)]
    run = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    journal = work / "graded.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        if journal.is_file() and len(journal.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    finished = [json.loads(line) for line in journal.read_text().splitlines()]
    assert 2 <= len(finished) < 6, "the run was not stopped midway"
    stamps = {(e["student"]): (work / "autograded" / e["student"] / ASSIGNMENT /
                               f"{ASSIGNMENT}.ipynb").stat().st_mtime_ns for e in finished}
    assert not table.exists()

    resumed = subprocess.run(command + ["--resume", "--jobs", "2"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {len(finished)} of 6 submissions were graded before" in resumed.stderr
    for student, stamp in stamps.items():  # not graded again
        assert (work / "autograded" / student / ASSIGNMENT /
                f"{ASSIGNMENT}.ipynb").stat().st_mtime_ns == stamp
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(e["student"] for e in entries) == [f"s{i}" for i in range(6)]
    with table.open(newline="") as fh:
        rows = {r["student"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert rows == {f"s{i}": (POINTS if i % 2 == 0 else 0.0) for i in range(6)}


def test_resume_refuses_a_folder_it_did_not_make_and_changed_solutions(graded, tmp_path):
    _, work = graded
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    make_submission(subs, "ada")
    with pytest.raises(grading.CourseError, match="no run of `attn-course grade` to resume"):
        grading.grade(subs, course, tmp_path / "nothing-here", resume=True)
    notebook = course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook.write_text(notebook.read_text().replace("add(1, 2) == 3", "add(2, 2) == 4"))
    with pytest.raises(grading.CourseError, match="solutions/ changed since the run"):
        grading.grade(subs, course, work, resume=True)
