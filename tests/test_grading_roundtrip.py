"""The nbgrader round trip: release in sync, solutions full marks, untouched release zero, wrong
implementations lose points, correct alternatives keep full marks, a hanging cell costs only itself
(checked in notebooks 01-03, which define ``HANGS``: the timeout does not depend on the notebook).

Every notebook runs through nbgrader's real autograder; the cases live in tests/grading/cases_*.py.
"""

from __future__ import annotations

import filecmp
import shutil
from collections import defaultdict

import pytest

from attn_course import grading

from attn_course.flags import scan_notebook

from .grading.harness import (ROOT, Wrong, case_modules, grade_cell_ids, grade_in_parallel,
                              names_borrowed_by_graded_cells, needs_kernel, only_assignments,
                              validate_cases, write_submission)
from .grading.inprocess import run_cases

pytestmark = pytest.mark.slow
CASES = {m.ASSIGNMENT: m for m in case_modules()}


def _cases_named(kind):
    return [(a, name) for a, cases in sorted(CASES.items()) for name in getattr(cases, kind)]


@pytest.mark.parametrize("assignment", sorted(CASES))
def test_case_tables_are_well_formed(assignment):
    problems = validate_cases(CASES[assignment])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("assignment", sorted(CASES))
def test_graded_cells_are_self_contained(assignment):
    borrowed = names_borrowed_by_graded_cells(assignment)
    assert not borrowed, (f"graded cells read names that only earlier graded or demonstration "
                          f"cells define (copy the definitions into the cell): {borrowed}")


def test_a_misspelt_case_table_is_an_error():
    import types

    bad = types.SimpleNamespace(__name__="cases_bad", ASSIGNMENT="01_se",
                                WRONG={"typo": Wrong({"se_blok": "pass"}, loses={"test_se_refrence"}),
                                       "no_loses": Wrong({"se_block": "pass"}, loses=())},
                                CORRECT={"plain": {"sqeeze": "pass"}})
    problems = "\n".join(validate_cases(bad))
    for phrase in ("no solution cells named ['se_blok']", "no graded cells named ['test_se_refrence']",
                   "name the cells that must lose points", "no solution cells named ['sqeeze']"):
        assert phrase in problems
    with pytest.raises(ValueError, match="se_blok"):
        write_submission(ROOT / "never-written", "x", "01_se", {"se_blok": "pass"})


def test_every_assignment_has_grading_cases():
    missing = set(grading.assignments(ROOT)) & (only_assignments() or set(grading.assignments(ROOT)))
    missing -= set(CASES)
    assert not missing, f"add tests/grading/cases_<assignment>.py for {sorted(missing)}"


def test_release_is_in_sync_with_solutions(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    grading.release(course)
    for assignment in sorted(only_assignments() or grading.assignments(ROOT)):
        fresh, committed = course / "notebooks" / assignment, ROOT / "notebooks" / assignment
        comparison = filecmp.dircmp(fresh, committed)
        assert not (comparison.left_only or comparison.right_only), (
            f"{assignment}: release files differ: {comparison.left_only} / {comparison.right_only}")
        for name in comparison.common_files:
            assert (fresh / name).read_bytes() == (committed / name).read_bytes(), (
                f"notebooks/{assignment}/{name} is not what `attn-course release` makes from "
                "solutions/: regenerate it (never edit notebooks/ by hand)")


@pytest.fixture(scope="module")
def grading_base(tmp_path_factory):
    return tmp_path_factory.mktemp("grading")


def _kernel_only(cases):
    return {name: case for name, case in cases.WRONG.items() if needs_kernel(name)}


def _sample(names, count):
    """A fixed sample of ``count`` cases, spread over the sorted names, that also go through the
    real autograder (every case is judged in-process; the sample keeps the two in agreement)."""
    names = sorted(names)
    step = max(1, len(names) // count)
    return names[::step][:count]


def _real_students(cases):
    """Who the real autograder grades: controls, the cases only it can judge, a sample of the rest.

    A real autograde run costs a kernel and the whole notebook (about 5 s of CPU), so with fourteen
    notebooks the sample is small: one wrong case per notebook (the solution is the correct one).
    """
    in_process = sorted(set(cases.WRONG) - set(_kernel_only(cases)))
    students = [("solution", {}), ("untouched", None)]
    students += [(f"wrong-{name}", cases.WRONG[name]) for name in sorted(_kernel_only(cases))]
    students += [(f"wrong-{name}", cases.WRONG[name]) for name in _sample(in_process, 1)]
    return students


@pytest.fixture(scope="module")
def graded(grading_base):
    """Scores from nbgrader's real autograder: {(student, assignment): NotebookScore}."""
    base = grading_base
    groups = defaultdict(list)  # two folders graded side by side, one per core
    for index, (assignment, cases) in enumerate(sorted(CASES.items())):
        for position, (student, answers) in enumerate(_real_students(cases)):
            groups[(index + position) % 2].append((student, assignment, answers))
    jobs = []
    for group, entries in groups.items():
        folder = base / f"submitted-{group}"
        for student, assignment, answers in entries:
            write_submission(folder, student, assignment, answers)
        jobs.append((folder, base / f"work-{group}", None))
    hang_folder = base / "submitted-hang"
    for assignment, cases in CASES.items():
        if getattr(cases, "HANGS", None):
            write_submission(hang_folder, "hangs", assignment, cases.HANGS)
    if hang_folder.exists():
        jobs.append((hang_folder, base / "work-hang", 15))  # per-cell timeout (s): a loaded CI machine needs some seconds for the setup cell
    return {(s.student, s.assignment): s for s in grade_in_parallel(jobs)}


@pytest.fixture(scope="module")
def judged():
    """Failed graded cells of every case the in-process runner can judge:
    {(student, assignment): set of grade ids}."""
    jobs = []
    for assignment, cases in sorted(CASES.items()):
        jobs += [(assignment, "solution", {}), (assignment, "untouched", None)]
        jobs += [(assignment, f"wrong-{name}", case) for name, case in cases.WRONG.items()
                 if not needs_kernel(name)]
        jobs += [(assignment, f"correct-{name}", answers) for name, answers in cases.CORRECT.items()]
    return {(student, assignment): failed
            for (assignment, student), failed in run_cases(jobs).items()}


def _failed(score):
    return set(filter(None, score.failed_cells.split(";")))


@pytest.mark.parametrize("assignment", sorted(CASES))
def test_in_process_verdicts_equal_the_real_autograders(graded, judged, assignment):
    compared = [student for student, _ in _real_students(CASES[assignment])
                if (student, assignment) in judged]
    assert len(compared) >= 3   # the solution, the untouched release, a wrong case
    differ = {student: (sorted(_failed(graded[(student, assignment)])),
                        sorted(judged[(student, assignment)]))
              for student in compared if _failed(graded[(student, assignment)]) != judged[(student, assignment)]}
    assert not differ, f"nbgrader / in-process failed cells differ: {differ}"


@pytest.mark.parametrize("assignment", sorted(CASES))
def test_solution_gets_full_marks(graded, assignment):
    score = graded[("solution", assignment)]
    assert score.max_score > 0 and score.score == score.max_score, score


@pytest.mark.parametrize("assignment", sorted(CASES))
def test_untouched_release_scores_zero_on_every_cell(graded, assignment):
    score = graded[("untouched", assignment)]
    assert score.score == 0, f"the untouched release earns points: {score}"
    assert set(score.failed_cells.split(";")) == grade_cell_ids(assignment), score


@pytest.mark.parametrize("assignment, case", [c for c in _cases_named("WRONG") if c[1].startswith("cheat_")])
def test_cheating_is_flagged_for_the_instructor(tmp_path, assignment, case):
    write_submission(tmp_path, "x", assignment, CASES[assignment].WRONG[case])
    release = ROOT / "notebooks" / assignment / f"{assignment}.ipynb"
    assert scan_notebook(tmp_path / "x" / assignment / f"{assignment}.ipynb", release), (
        f"{case} raised no flag")


@pytest.mark.parametrize("assignment", sorted(CASES))
def test_honest_work_raises_no_flag(tmp_path, assignment):
    release = ROOT / "notebooks" / assignment / f"{assignment}.ipynb"
    honest = {"solution": {}, **{f"correct-{n}": a for n, a in CASES[assignment].CORRECT.items()}}
    flagged = {}
    for student, answers in honest.items():
        write_submission(tmp_path, student, assignment, answers)
        found = scan_notebook(tmp_path / student / assignment / f"{assignment}.ipynb", release)
        if found:
            flagged[student] = found
    assert not flagged, flagged


# The kernel-tampering cases (patched checks or torch, IPython hooks, a dead kernel) go through the
# real autograder for notebooks 00 and 01 only: its probe does not depend on the notebook.
@pytest.mark.parametrize("assignment", sorted(a for a, c in CASES.items() if _kernel_only(c)))
def test_grade_reports_flags_in_its_table(graded, assignment):
    tampering = [f"wrong-{name}" for name in _kernel_only(CASES[assignment])]
    assert tampering and all(graded[(student, assignment)].flags for student in tampering)
    assert not graded[("solution", assignment)].flags


@pytest.mark.parametrize("assignment, case", [c for c in _cases_named("WRONG") if not needs_kernel(c[1])])
def test_wrong_implementation_loses_points_exactly_where_named(judged, assignment, case):
    failed = judged[(f"wrong-{case}", assignment)]
    expected = set(CASES[assignment].WRONG[case].loses)
    assert failed, f"{case} keeps full marks"
    assert failed == expected, (
        f"{case} should lose points in exactly {sorted(expected)}, lost them in {sorted(failed)}")


@pytest.mark.parametrize("assignment, case", [c for c in _cases_named("WRONG") if needs_kernel(c[1])])
def test_tampering_scores_zero_where_it_touches(graded, assignment, case):
    score = graded[(f"wrong-{case}", assignment)]
    expected = set(CASES[assignment].WRONG[case].loses)
    assert _failed(score) == expected, (
        f"{case} should lose points in exactly {sorted(expected)}, lost them in {sorted(_failed(score))}")


@pytest.mark.parametrize("assignment, case", _cases_named("CORRECT"))
def test_correct_alternative_keeps_full_marks(judged, assignment, case):
    failed = judged[(f"correct-{case}", assignment)]
    assert not failed, f"{case} lost points in {sorted(failed)}"


@pytest.mark.parametrize("assignment", sorted(a for a, c in CASES.items() if getattr(c, "HANGS", None)))
def test_hanging_cell_costs_only_its_own_tests(graded, assignment):
    score = graded[("hangs", assignment)]
    assert set(score.failed_cells.split(";")) == CASES[assignment].HANG_LOSES, score


def test_feedback_reports_come_from_nbgrader(graded, grading_base, tmp_path):
    hangs = [a for a, c in CASES.items() if getattr(c, "HANGS", None)]
    if not hangs:
        pytest.skip("no case table among the selected ones (ATTN_COURSE_ONLY) has a HANGS case")
    reports = grading.feedback(grading_base / "work-hang", ROOT, out=tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/*/*.html")) == sorted(
        f"hangs/{a}/{a}.html" for a in hangs)
    for report in reports:
        score = graded[("hangs", report.parent.name)]
        assert f"(Score: {score.score:.1f} / {score.max_score:.1f})" in report.read_text()
