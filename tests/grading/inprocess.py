"""Grade a case the way nbgrader's autograder would, without a kernel per case.

For each case: the source notebook's setup cell, its solution cells with the case's answers put in,
and its graded test cells with their hidden tests, run in order in one fresh ``__main__`` namespace.
A graded cell fails, as under nbgrader, when it raises or writes to stderr (a warning included).
Graded cells before the first solution cell a case changes are not run again: in notebook order they
see exactly what they see in the solution's run. Demonstration cells (plots, timings, saving) are
not run: a graded cell must not depend on them,
and the real autograder's verdicts on a sample of cases are compared with these
(``tests/test_grading_roundtrip.py``), so the two cannot drift apart unseen.

Cheating cases patch the process they run in, so they always go through the real autograder.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import multiprocessing
import os
import re
import warnings
from concurrent.futures import ProcessPoolExecutor

import nbformat

from .harness import ROOT, Wrong, _solution_sources

_MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)


def _cells(assignment: str):
    """(kind, grade_id, source, points) of the cells the runner executes, in notebook order."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    kept = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            kept.append(("solution", meta["grade_id"], None, 0))
        elif meta.get("grade") and meta.get("points"):
            kept.append(("test", meta["grade_id"], cell.source, meta["points"]))
        elif index == 0 or meta.get("grade_id") == "setup":
            kept.append(("setup", "setup", cell.source, 0))
    return kept


def run_case(assignment: str, answers) -> set[str]:
    """The grade ids of the graded cells that fail for ``answers`` (None: the untouched release)."""
    import matplotlib

    matplotlib.use("Agg")
    if isinstance(answers, Wrong):
        answers = answers.answers
    solutions = _solution_sources(assignment)
    cells = _cells(assignment)
    changed = [i for i, (kind, grade_id, _, _) in enumerate(cells) if kind == "solution" and (
        answers is None or answers.get(grade_id, solutions[grade_id]) != solutions[grade_id])]
    # Cells run in order, so every graded cell before the first changed solution cell sees exactly
    # what it sees in the solution's own run (which runs them all and must pass them all): those
    # graded cells are not run again. Solution cells always run; later cells may use their names.
    first_changed = changed[0] if changed else len(cells)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    failed = set()
    for index, (kind, grade_id, source, _) in enumerate(cells):
        if kind == "test" and index < first_changed and changed:
            continue
        if kind == "solution":
            if answers is None:
                source = "raise NotImplementedError()"
            else:
                source = answers.get(grade_id, solutions[grade_id])
        ok = _run(_MAGIC.sub("", source), namespace, label=f"{assignment}:{grade_id}")
        if kind == "test" and not ok:
            failed.add(grade_id)
    return failed


def _run(source: str, namespace: dict, label: str) -> bool:
    """Execute one cell; False if it raised or wrote to stderr."""
    stderr = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(stderr), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: \
            stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
        try:
            exec(compile(source, f"<cell {label}>", "exec"), namespace)
        except BaseException as error:  # noqa: BLE001 (a cell's exception is its verdict)
            if isinstance(error, KeyboardInterrupt) and os.environ.get("ATTN_COURSE_NO_CATCH"):
                raise
            return False
    return not stderr.getvalue()


def _run_one(job):
    assignment, name, answers = job
    return assignment, name, run_case(assignment, answers)


def run_cases(jobs: list[tuple[str, str, object]], workers: int = 2) -> dict:
    """``{(assignment, name): failed grade ids}`` for ``(assignment, name, answers)`` jobs.

    The workers are spawned, not forked: a child forked from a process whose PyTorch thread pool
    has already run (the test session's) can hang in its first parallel operation.
    """
    context = multiprocessing.get_context("spawn")
    from attn_course._startup import skip_iri_grammars

    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=skip_iri_grammars) as pool:
        return {(a, n): failed for a, n, failed in pool.map(_run_one, jobs)}
