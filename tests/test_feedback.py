"""Feedback reports a course can hand out every term: hidden tests' code left out by default.

One wrong 01_se submission goes through nbgrader's real autograder, then ``attn-course feedback``
with and without ``--show-hidden-tests``.
"""

from __future__ import annotations

import html
import re

import nbformat
import pytest

from attn_course import grading
from attn_course.cli import main
from attn_course.feedback_report import BEGIN, END, hide_in_notebook

from .grading import cases_01_se
from .grading.harness import ROOT, write_submission

pytestmark = pytest.mark.slow

WRONG = "no_error_for_reduction_zero"  # fails a hidden check of test_se_structure (2 points)


def _hidden_lines(notebook) -> set[str]:
    """The solution notebook's hidden-test lines that no visible line contains."""
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


def _text(report) -> str:
    """What a reader of the HTML sees (tags dropped, entities decoded; highlighted code included)."""
    page = report.read_text(encoding="utf-8")
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("feedback")
    write_submission(base / "submitted", "ada", "01_se", cases_01_se.WRONG[WRONG])
    scores = grading.grade(base / "submitted", ROOT, base / "work")
    assert [(s.score, s.max_score, s.failed_cells) for s in scores] == [
        (12.0, 14.0, "test_se_structure")]
    return base


def _feedback(graded, out, *flags):
    assert main(["--root", str(ROOT), "feedback", "--workdir", str(graded / "work"),
                 "--out", str(out), *flags]) == 0
    return out / "ada" / "01_se" / "01_se.html"


def test_feedback_leaves_the_hidden_tests_out(graded, tmp_path):
    autograded = graded / "work" / "autograded" / "ada" / "01_se" / "01_se.ipynb"
    before = autograded.read_bytes()
    text = _text(_feedback(graded, tmp_path))
    hidden = _hidden_lines(ROOT / "solutions" / "01_se" / "01_se.ipynb")
    assert len(hidden) > 40
    leaked = sorted(line for line in hidden if line in text)
    assert not leaked, f"hidden test lines in the feedback: {leaked[:5]}"
    assert BEGIN not in text and "_kit" not in text
    assert "(hidden test)" in text and "hidden tests ran here" in text
    # what the student needs: the scores, which check failed, and why
    assert "Score: 12.0 / 14.0" in text and "Score: 0.0 / 2.0" in text
    assert ("SEBlock(16, reduction=0) should raise ValueError, but raised ZeroDivisionError: "
            "integer division or modulo by zero") in text
    assert "Visible checks for Part A" in text  # the visible part of a test cell stays
    assert autograded.read_bytes() == before     # the original is never modified


def test_show_hidden_tests_keeps_them_for_the_instructor(graded, tmp_path):
    text = _text(_feedback(graded, tmp_path, "--show-hidden-tests"))
    hidden = _hidden_lines(ROOT / "solutions" / "01_se" / "01_se.ipynb")
    assert not sorted(line for line in hidden if line not in text)
    assert "Score: 12.0 / 14.0" in text and "(hidden test)" not in text


def test_traceback_lines_of_hidden_tests_are_replaced():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "assert 1 == 1\n### BEGIN HIDDEN TESTS\nsecret = 41\nassert secret == 42, 'off by one'\n"
        "### END HIDDEN TESTS")
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="off by one",
                                           traceback=[
        "\x1b[0;31mAssertionError\x1b[0m   Traceback (most recent call last)",
        "Cell In[3], line 4\n\x1b[32m      1\x1b[39m assert 1 == 1\n      2 ### BEGIN HIDDEN TESTS\n"
        "      3 secret = 41\n\x1b[32m----> 4\x1b[39m \x1b[38;5;28;01massert\x1b[39;00m secret == "
        "42, 'off by one'\n      5 ### END HIDDEN TESTS",
        '  File "<cell>", line 4, in <module>\n    assert secret == 42, \'off by one\'',
        "\x1b[0;31mAssertionError\x1b[0m: off by one"])]
    nb.cells.append(cell)
    assert hide_in_notebook(nb) == 1
    assert "secret" not in cell.source and cell.source.startswith("assert 1 == 1\n# (hidden tests")
    traceback = "\n".join(cell.outputs[0].traceback)
    assert "secret" not in traceback and "HIDDEN" not in traceback
    assert "      2-3 (hidden test)" in traceback and "----> 4 (hidden test)" in traceback
    assert "assert 1 == 1" in traceback and "off by one" in traceback
