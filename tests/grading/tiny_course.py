"""A course of one tiny assignment, for tests of the grading machinery rather than of a notebook.

Its notebook imports nothing heavy, so a kernel grades it in about a second. ``make_course`` writes
the course folder (the repository's ``nbgrader_config.py`` plus ``extra_config``) and
``make_submission`` a student's copy of the release with their code in the answer cell.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "tiny"
POINTS = 3  # two test cells: 1 + 2

ANSWER = "def add(a, b):\n    return a + b\n"


def _cell(source, **nbgrader):
    kind = nbgrader.pop("kind", "code")
    meta = {"nbgrader": {"schema_version": 3, "solution": False, "grade": False, "locked": True,
                         **nbgrader}}
    if kind == "markdown":
        return nbformat.v4.new_markdown_cell(source, metadata=meta)
    return nbformat.v4.new_code_cell(source, metadata=meta)


def source_notebook(extra_cells=()) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("Write `add(a, b)`.", kind="markdown", grade_id="intro"),
        _cell("### BEGIN SOLUTION\n" + ANSWER + "### END SOLUTION", solution=True, locked=False,
              grade_id="answer"),
        *extra_cells,
        _cell("assert add(1, 2) == 3", grade=True, grade_id="test_small", points=1),
        _cell("assert add(-5, 5) == 0 and add(10**6, 1) == 10**6 + 1", grade=True,
              grade_id="test_more", points=2),
    ]
    return nb


def make_course(folder: Path, extra_config: str = "") -> Path:
    """A course folder with ``solutions/tiny/tiny.ipynb``; returns it."""
    folder = Path(folder)
    (folder / "solutions" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    if extra_config:
        with (folder / "nbgrader_config.py").open("a") as fh:
            fh.write("\n" + extra_config + "\n")
    nbformat.write(source_notebook(), folder / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    return folder


def make_submission(subs: Path, student: str, answer: str = ANSWER) -> Path:
    """``subs/<student>/tiny/tiny.ipynb``: the solution notebook with ``answer`` in its answer
    cell (what matters to the autograder is the cells' ids and code, not the release's stubs)."""
    nb = source_notebook()
    for cell in nb.cells:
        if cell.metadata["nbgrader"].get("solution"):
            cell.source = answer
    path = Path(subs) / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
