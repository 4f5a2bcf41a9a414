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
from attn_course.feedback_report import BEGIN, hide_in_notebook

from .grading import cases_01_se
from .grading.harness import ROOT, hidden_test_lines, write_submission

pytestmark = pytest.mark.slow

WRONG = "no_error_for_reduction_zero"  # fails a hidden check of test_se_structure (2 points)


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
    hidden = hidden_test_lines(ROOT / "solutions" / "01_se" / "01_se.ipynb")
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
    hidden = hidden_test_lines(ROOT / "solutions" / "01_se" / "01_se.ipynb")
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


def test_the_report_renders_its_equations_offline(graded, tmp_path):
    """No MathJax from a CDN: every equation of the notebook's text is MathML in the report."""
    page = _feedback(graded, tmp_path).read_text(encoding="utf-8")
    assert "mathjax" not in page.lower() and "cdnjs" not in page
    assert "<script src=" not in page.replace(" ", "")   # nothing loaded from anywhere
    solution = nbformat.read(ROOT / "solutions" / "01_se" / "01_se.ipynb", as_version=4)
    text = "\n".join(re.sub(r"`[^`]*`", "", c.source) for c in solution.cells
                     if c.cell_type == "markdown")
    equations = re.findall(r"\$\$.+?\$\$|\$[^$]+\$", text, flags=re.S)
    assert len(equations) >= 4 and page.count("<math ") == len(equations)
    prose = re.sub(r"<(pre|code|script|style)\b.*?</\1>", "", page, flags=re.S)
    assert "$" not in re.sub(r"<math .*?</math>", "", prose, flags=re.S)  # no raw TeX left
    # the squeeze equation, z_c = 1/(HW) sum sum x: a fraction and two sums with limits
    squeeze = next(m for m in re.findall(r"<math .*?</math>", page, flags=re.S) if "<mfrac>" in m)
    assert squeeze.count("&#x02211;") == 2 and 'display="block"' in squeeze


def test_offline_math_leaves_code_and_prices_alone():
    from attn_course.feedback_math import offline_math

    page = ('<html><head><!-- Load mathjax -->\n<script src="https://cdn.example/mathjax/2.7/MathJax.js">'
            ' </script></head><body><p>Gate $\\sigma(x)$ and $$\\frac{a}{b}$$, \\(y^2\\).</p>'
            '<pre>cost = "$5 and $6"</pre><code>$x$</code><p>It costs $5 and $6.</p>'
            '<p>Broken $\\frac{1}{$ stays.</p></body></html>')
    out = offline_math(page)
    assert "mathjax" not in out.lower()
    assert out.count("<math ") == 3 and out.count('display="block"') == 1
    assert '<pre>cost = "$5 and $6"</pre><code>$x$</code>' in out
    assert "It costs $5 and $6." in out
    assert "Broken $\\frac{1}{$ stays." in out
