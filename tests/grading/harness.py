"""Build student submissions from the release and grade them through attn_course.grading.

A case table (tests/grading/cases_<assignment>.py) defines ``ASSIGNMENT``, ``WRONG`` and
``CORRECT`` (and optionally ``HANGS`` / ``HANG_LOSES``):

* ``WRONG[name] = Wrong(answers, loses={...})``: ``answers`` maps solution cell ids to what a
  student wrote there (other cells hold the solution); ``loses`` names the graded test cells that
  must catch it. The round trip checks that exactly those lose points: a crash elsewhere is not a
  catch, and a catch in an unexpected cell means the case table or the notebook changed.
* ``CORRECT[name] = answers``: written differently from the solution; must keep full marks in
  every cell.
* ``cheat_`` cases whose names contain one of :data:`KERNEL_ONLY` tamper with the process they run
  in or need a real kernel to be caught (patched functions, IPython hooks, a dead kernel, the tests'
  own definitions found through the kernel's cell files): the real autograder grades them. Every
  other case is judged in-process, and a sample of those also by the real autograder.

:func:`validate_cases` rejects misspelt cell ids and malformed entries, so a typo in a table is an
error rather than a case that silently tests nothing.
"""

from __future__ import annotations

import importlib
import os
import multiprocessing
import pkgutil
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from attn_course import grading
from attn_course.feedback_report import BEGIN, END

ROOT = Path(__file__).resolve().parents[2]
_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


KERNEL_ONLY = ("patched", "kernel_exit", "transformer", "borrows")


def needs_kernel(name: str) -> bool:
    """Whether the case ``name`` can only be judged by the real autograder (see the module doc)."""
    return name.startswith("cheat_") and any(part in name for part in KERNEL_ONLY)


@dataclass(frozen=True)
class Wrong:
    """A wrong (or cheating) submission and the graded cells that must lose points for it."""

    answers: dict
    loses: frozenset = field(default_factory=frozenset)

    def __init__(self, answers: dict, loses):
        object.__setattr__(self, "answers", dict(answers))
        object.__setattr__(self, "loses", frozenset(loses))


def grade_cell_ids(assignment: str) -> set[str]:
    """Ids of the graded test cells (the cells that carry points) of a source notebook."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("points")}


def validate_cases(cases) -> list[str]:
    """Everything wrong with one case table, as messages (empty when it is fine)."""
    problems = []
    assignment = getattr(cases, "ASSIGNMENT", None)
    if assignment not in grading.assignments(ROOT):
        return [f"{cases.__name__}: ASSIGNMENT {assignment!r} is not a folder in solutions/"]
    solution_ids, test_ids = set(_solution_sources(assignment)), grade_cell_ids(assignment)
    for kind in ("WRONG", "CORRECT"):
        table = getattr(cases, kind, None)
        if not isinstance(table, dict) or not table:
            problems.append(f"{cases.__name__}: {kind} must be a non-empty dict")
            continue
        for name, case in table.items():
            if kind == "WRONG" and not isinstance(case, Wrong):
                problems.append(f"{assignment} WRONG[{name!r}]: use Wrong(answers, loses={{...}})")
                continue
            answers = case.answers if kind == "WRONG" else case
            if not isinstance(answers, dict) or not answers:
                problems.append(f"{assignment} {kind}[{name!r}]: answers must be a non-empty dict")
                continue
            unknown = set(answers) - solution_ids
            if unknown:
                problems.append(f"{assignment} {kind}[{name!r}]: no solution cells named "
                                f"{sorted(unknown)} (there are {sorted(solution_ids)})")
            if kind == "WRONG":
                if not case.loses:
                    problems.append(f"{assignment} WRONG[{name!r}]: name the cells that must lose points")
                if set(case.loses) - test_ids:
                    problems.append(f"{assignment} WRONG[{name!r}]: no graded cells named "
                                    f"{sorted(set(case.loses) - test_ids)} (there are {sorted(test_ids)})")
    hang_loses = getattr(cases, "HANG_LOSES", set())
    if set(hang_loses) - test_ids:
        problems.append(f"{assignment} HANG_LOSES: no graded cells named {sorted(set(hang_loses) - test_ids)}")
    return problems


def only_assignments() -> set[str] | None:
    """``ATTN_COURSE_ONLY=04_simam,05_nam`` narrows the slow notebook tests to those assignments
    (for work on one notebook); unset, every assignment is tested."""
    chosen = os.environ.get("ATTN_COURSE_ONLY", "").strip()
    return {name.strip() for name in chosen.split(",") if name.strip()} or None


def case_modules(narrowed: bool = True):
    """Every tests/grading/cases_*.py, one per assignment (narrowed by ``ATTN_COURSE_ONLY`` unless
    ``narrowed`` is False)."""
    package = Path(__file__).parent
    chosen = only_assignments() if narrowed else None
    return [importlib.import_module(f"tests.grading.{m.name}")
            for m in pkgutil.iter_modules([str(package)])
            if m.name.startswith("cases_") and (chosen is None or m.name[len("cases_"):] in chosen)]


def _solution_sources(assignment: str) -> dict[str, str]:
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: _MARKERS.sub("", c.source)
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def write_submission(folder: Path, student: str, assignment: str, answers: dict | None) -> None:
    """The release notebook with its solution cells filled: ``answers`` first, the solution else.

    ``answers=None`` submits the release untouched.
    """
    nb = nbformat.read(ROOT / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    if isinstance(answers, Wrong):
        answers = answers.answers
    if answers is not None:
        solutions = _solution_sources(assignment)
        unknown = set(answers) - set(solutions)
        if unknown:
            raise ValueError(f"{assignment}: no solution cells named {sorted(unknown)}")
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = answers.get(gid, solutions[gid]).strip("\n")
    target = folder / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target / f"{assignment}.ipynb")


def _grade_group(args):
    submissions, workdir, cell_timeout = args
    return grading.grade(submissions, ROOT, workdir, cell_timeout=cell_timeout)


def grade_in_parallel(groups: list[tuple[Path, Path, int | None]]):
    """Grade several submission folders at once (one process each); returns all scores."""
    context = multiprocessing.get_context("spawn")  # never fork a process whose torch threads ran
    from attn_course._startup import skip_iri_grammars

    with ProcessPoolExecutor(max_workers=min(2, len(groups)), mp_context=context,
                             initializer=skip_iri_grammars) as pool:
        return [score for scores in pool.map(_grade_group, groups) for score in scores]


def names_borrowed_by_graded_cells(assignment: str) -> dict[str, set[str]]:
    """``{graded cell: names it reads that only an earlier graded or demonstration cell defines}``.

    Graded cells must be self-contained: the in-process runner does not run demonstration cells,
    nor graded cells before the first solution cell a case changes (tests/grading/inprocess.py).
    """
    import ast
    import builtins

    def defined(tree):
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                found.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            elif isinstance(node, ast.arg):
                found.add(node.arg)
        return found

    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    shared, elsewhere, borrowed = set(), set(), {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        tree = ast.parse(_MARKERS.sub("", "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))))
        if meta.get("grade") and meta.get("points"):
            reads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            missing = {n for n in reads - defined(tree) - shared if n in elsewhere
                       and not hasattr(builtins, n)}
            if missing:
                borrowed[meta["grade_id"]] = missing
            elsewhere |= defined(tree)
        elif meta.get("solution") or index == 0 or meta.get("grade_id") == "setup":
            shared |= defined(tree)
        else:
            elsewhere |= defined(tree)
    return borrowed


def hidden_test_lines(notebook) -> set[str]:
    """The solution notebook's hidden-test lines that no visible line contains (what a report
    must not show; a line that is also part of a visible one may appear)."""
    nb = nbformat.read(notebook, as_version=4)
    visible, hidden = set(), set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            inside = inside or BEGIN in line
            (hidden if inside else visible).add(line.strip())
            inside = inside and END not in line
    shown = "\n".join(visible)
    return {line for line in hidden if line and line not in shown and BEGIN not in line
            and END not in line}
