"""Feedback a course can hand out every term: the hidden tests' code stays out of the reports.

nbgrader's feedback report shows every graded test cell in full, hidden tests included (its issues
#917 and #1363), and the tracebacks in the cells' outputs quote the hidden lines that failed.
:func:`hide_in_notebook` rewrites a notebook, which nbgrader's feedback step hands it in memory
(through :class:`attn_course.feedback_nbgrader.HideHiddenTests`):

* in each cell, the code between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` becomes one
  comment line saying that hidden tests ran there (the visible checks above it stay);
* in each error output, the traceback's source lines that come from a hidden test are replaced by
  ``(hidden test)``; the exception's type and message (what the student needs) stay, and so do the
  points, which nbgrader reads from the gradebook.

nbgrader works on its in-memory copy: the autograded and submitted files are never modified.
"""

from __future__ import annotations

import re

__all__ = ["BEGIN", "END", "HIDDEN_NOTE", "hide_in_notebook"]

BEGIN = "BEGIN HIDDEN TESTS"  # nbgrader's ClearHiddenTests delimiters (a line containing them)
END = "END HIDDEN TESTS"
HIDDEN_NOTE = "# (hidden tests ran here; their code is not shown in the feedback)"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# An IPython traceback's source line: optional "---->" arrow, the line number, the code.
_CONTEXT_LINE = re.compile(r"^(\s*(?:-*>\s*)?)(\d+)(\s?)(.*)$")


def _split(source: str) -> tuple[list[str], list[str]]:
    """(visible lines, hidden lines) of a cell's source; the delimiter lines count as hidden."""
    visible, hidden, inside = [], [], False
    for line in source.splitlines():
        if BEGIN in line:
            inside = True
        (hidden if inside else visible).append(line)
        if END in line:
            inside = False
    return visible, hidden


def _without_hidden(source: str) -> str:
    lines, inside = [], False
    for line in source.splitlines():
        if BEGIN in line:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(indent + HIDDEN_NOTE)
        elif not inside:
            lines.append(line)
        if END in line:
            inside = False
    return "\n".join(lines)


def _scrub_traceback_entry(entry: str, hidden: set[str]) -> str:
    """One traceback entry (a frame, may hold several lines) without the hidden tests' source.

    A run of hidden context lines becomes one ``NN-MM (hidden test)`` line; the failing line
    (IPython's ``---->`` arrow) keeps its arrow and number.
    """
    out, run = [], None  # run: [index in out, prefix, first number, last number] of a hidden run
    for line in entry.split("\n"):
        plain = _ANSI.sub("", line)
        match = _CONTEXT_LINE.match(plain)
        code = (match.group(4) if match else plain).strip()
        if not (code and code in hidden):
            out.append(line)
            run = None
            continue
        if not match:
            out.append("    (hidden test)")
            run = None
        elif ">" in match.group(1):
            out.append(f"{match.group(1)}{match.group(2)} (hidden test)")
            run = None
        elif run is not None:
            run[3] = match.group(2)
            out[run[0]] = f"{run[1]}{run[2]}-{run[3]} (hidden test)"
        else:
            run = [len(out), match.group(1), match.group(2), match.group(2)]
            out.append(f"{match.group(1)}{match.group(2)} (hidden test)")
    return "\n".join(out)


def hide_in_notebook(nb) -> int:
    """Remove the hidden tests (source and traceback lines) from ``nb`` in place; returns how many
    cells had hidden tests."""
    visible, hidden = set(), set()
    for cell in nb.cells:
        shown, secret = _split(cell.source)
        visible.update(line.strip() for line in shown)
        hidden.update(line.strip() for line in secret)
    hidden = {line for line in hidden - visible if line}
    count = 0
    for cell in nb.cells:
        if BEGIN in cell.source:
            cell.source = _without_hidden(cell.source)
            count += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and hidden:
                output["traceback"] = [_scrub_traceback_entry(entry, hidden)
                                       for entry in output.get("traceback", [])]
    return count
