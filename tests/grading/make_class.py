"""A generated class of submissions, for the grading throughput benchmark and its test.

:func:`make_class` writes ``folder/<student>/<assignment>/<assignment>.ipynb`` for every assignment
(default: every folder in ``solutions/``) with ``per_kind`` students of each of five kinds:

* ``correct``: a ``CORRECT`` entry of the assignment's case table (an alternative implementation
  that must keep full marks);
* ``wrong``: a ``WRONG`` entry that is not a ``cheat_`` case (must lose points);
* ``blank``: the release, untouched (must lose points);
* ``crashing``: the full solution, except that its first solution cell starts by importing a module
  that exists only on the student's own machine (:data:`CRASH`): that cell stops at its first line
  with a ``ModuleNotFoundError``, so nothing it defines exists and every test that needs it fails;
  the later cells still run (must lose points);
* ``cheating``: a ``cheat_`` ``WRONG`` entry, preferring one that only the real kernel can catch
  (:func:`tests.grading.harness.needs_kernel`) where the table has one (must lose points).

Students are named ``<kind>-<assignment>-<index>`` (``correct-01_se-0``), one submission each. The
case of student ``index`` is entry ``index mod n`` of the sorted candidates, so a class is the same
on every run and ``per_kind > 1`` spreads over different cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from attn_course import grading

from .harness import ROOT, _solution_sources, case_modules, needs_kernel, write_submission

KINDS = ("correct", "wrong", "blank", "crashing", "cheating")
#: What the crashing kind puts at the top of the notebook's first solution cell.
CRASH = "import my_local_helpers  # a module on the student's laptop only\n"


@dataclass(frozen=True)
class Planned:
    """One submission of the generated class."""

    student: str
    assignment: str
    kind: str
    case: str          # the case table entry, or "release" / "solution with CRASH"
    answers: dict | None


def _cases() -> dict:
    return {m.ASSIGNMENT: m for m in case_modules(narrowed=False)}  # a class is never narrowed


def _pick(names, index: int) -> str:
    names = sorted(names)
    return names[index % len(names)]


def _answers(kind: str, assignment: str, cases, index: int) -> tuple[str, dict | None]:
    if kind == "blank":
        return "release", None
    if kind == "crashing":
        first, source = next(iter(_solution_sources(assignment).items()))
        return f"solution, {first} starts with a missing import", {first: CRASH + source}
    if cases is None:
        raise ValueError(f"{assignment}: no tests/grading/cases_{assignment}.py to draw a "
                         f"{kind} submission from")
    if kind == "correct":
        name = _pick(cases.CORRECT, index)
        return name, cases.CORRECT[name]
    cheats = [n for n in cases.WRONG if n.startswith("cheat_")]
    if kind == "wrong":
        name = _pick((n for n in cases.WRONG if not n.startswith("cheat_")), index)
    elif kind == "cheating":
        if not cheats:
            raise ValueError(f"{assignment}: its case table has no cheat_ case")
        name = _pick([n for n in cheats if needs_kernel(n)] or cheats, index)
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    return name, cases.WRONG[name].answers


def plan_class(assignments=None, per_kind: int = 1, kinds=KINDS) -> list[Planned]:
    """What :func:`make_class` writes, without writing it (sorted by student, then assignment)."""
    available = grading.assignments(ROOT)
    chosen = list(available if assignments is None else assignments)
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        raise ValueError(f"no such assignment in solutions/: {', '.join(unknown)}")
    if per_kind < 1:
        raise ValueError("per_kind must be at least 1")
    tables, width = _cases(), len(str(per_kind - 1))
    plan = []
    for assignment in chosen:
        for kind in kinds:
            for index in range(per_kind):
                case, answers = _answers(kind, assignment, tables.get(assignment), index)
                plan.append(Planned(f"{kind}-{assignment}-{index:0{width}d}", assignment, kind,
                                    case, answers))
    return sorted(plan, key=lambda p: (p.student, p.assignment))


def make_class(folder, assignments=None, per_kind: int = 1) -> dict:
    """Write the class into ``folder``; returns ``{(student, assignment): kind}``."""
    folder = Path(folder)
    plan = plan_class(assignments, per_kind)
    for entry in plan:
        write_submission(folder, entry.student, entry.assignment, entry.answers)
    return {(p.student, p.assignment): p.kind for p in plan}
