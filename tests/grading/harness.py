"""Build student submissions from the release and grade them through attn_course.grading."""

from __future__ import annotations

import importlib
import pkgutil
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from attn_course import grading

ROOT = Path(__file__).resolve().parents[2]
_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


def case_modules():
    """Every tests/grading/cases_*.py, one per assignment."""
    package = Path(__file__).parent
    return [importlib.import_module(f"tests.grading.{m.name}")
            for m in pkgutil.iter_modules([str(package)]) if m.name.startswith("cases_")]


def _solution_sources(assignment: str) -> dict[str, str]:
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: _MARKERS.sub("", c.source)
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def write_submission(folder: Path, student: str, assignment: str, answers: dict | None) -> None:
    """The release notebook with its solution cells filled: ``answers`` first, the solution else.

    ``answers=None`` submits the release untouched.
    """
    nb = nbformat.read(ROOT / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    if answers is not None:
        solutions = _solution_sources(assignment)
        unknown = set(answers) - set(solutions)
        assert not unknown, f"{assignment}: no solution cells named {unknown}"
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
    with ProcessPoolExecutor(max_workers=min(2, len(groups))) as pool:
        return [score for scores in pool.map(_grade_group, groups) for score in scores]
