"""How fast `attn-course grade` autogrades a class, and what that means for 300 students.

    python benchmarks/grading_throughput.py                      # every assignment, 5 students each
    python benchmarks/grading_throughput.py --only 01_se,02_eca --jobs 2
    python benchmarks/grading_throughput.py --jobs 2 --write --json /tmp/throughput.json

Generates a class with ``tests/grading/make_class.py`` (for every assignment ``--per-kind``
students of each kind: correct, wrong, blank, crashing, cheating) in a temporary folder, grades it
with ``attn_course.grading.grade(..., jobs=J)`` and times the whole call (registering the
assignments, autograding, merging the workers' gradebooks, reading the scores). It prints a
markdown report:

* notebook-gradings, wall time, jobs, cores and the rate in notebook-gradings per minute per core,
  ``gradings / minutes / min(jobs, cores)`` (jobs capped at the number of gradings, as the pool is);
* the **projection** for a class of 300 students × 14 notebooks on 16 cores at that per-core rate,
  against the goal of 30 minutes (it assumes the rate scales with cores, and includes the per-run
  fixed costs measured here in the rate, so it errs on the slow side);
* where the time went: the fixed cost before and after the autograding loop, and per kind and per
  assignment the mean time the notebook's cells ran in the kernel (nbclient's timestamps in the
  autograded notebooks: from the first cell's start to the last cell's reply). The rest of a
  grading (starting the kernel, nbgrader's own pre- and post-processing, the gradebook) is the
  difference between the time per grading per worker and that mean;
* the scores per kind. A correct submission must get full marks and every other kind must lose
  points: the script exits with status 1 when one does not, and names it.

``--write`` replaces the "Grading throughput" section of ``benchmarks/RESULTS.md`` (or adds it) with
the report, headed by the machine, the versions, the date, the commit and the command.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "Grading throughput"
GOAL_MINUTES = 30.0
CLASS_STUDENTS, CLASS_NOTEBOOKS, TARGET_CORES = 300, 14, 16


# ---------------------------------------------------------------------------------------------------
# Arithmetic


def per_core_rate(gradings: int, wall_s: float, jobs: int, cores: int) -> float:
    """Notebook-gradings per minute per core: ``gradings / (wall_s / 60) / min(jobs, cores)``, with
    ``jobs`` capped at ``gradings`` (the pool never starts more workers than there is work)."""
    if gradings < 1 or wall_s <= 0:
        raise ValueError("need at least one grading and a positive wall time")
    used = min(max(1, min(jobs, gradings)), max(1, cores))
    return gradings / (wall_s / 60.0) / used


def projected_minutes(rate_per_core: float, students: int = CLASS_STUDENTS,
                      notebooks: int = CLASS_NOTEBOOKS, cores: int = TARGET_CORES) -> float:
    """Minutes to grade ``students × notebooks`` on ``cores`` cores at ``rate_per_core``."""
    return students * notebooks / (rate_per_core * cores)


# ---------------------------------------------------------------------------------------------------
# Measuring


class ProgressRecorder:
    """A stream for ``grade(progress=...)``: passes the status lines on and keeps them, timed."""

    def __init__(self, stream=None):
        self.stream, self.lines, self._pending = stream, [], ""

    def write(self, text: str) -> int:
        if self.stream is not None:
            self.stream.write(text)
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            if line.strip():
                self.lines.append((time.monotonic(), line.strip("\r")))
        return len(text)

    def flush(self) -> None:
        if self.stream is not None:
            self.stream.flush()

    def isatty(self) -> bool:
        return False  # one line per grading, never carriage returns

    def loop_seconds(self) -> tuple[float, float] | None:
        """(monotonic time of the last status line, seconds the autograding loop had run by then),
        from ``graded N/N, M:SS elapsed``; None without status lines."""
        for when, line in reversed(self.lines):
            found = re.search(r"graded \d+/\d+.*?, ((?:\d+:)?\d+:\d\d) elapsed", line)
            if found:
                parts = [int(p) for p in found.group(1).split(":")]
                seconds = 0
                for part in parts:
                    seconds = seconds * 60 + part
                return when, float(seconds)
        return None


def _stamp(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def cells_seconds(notebook: Path) -> float | None:
    """How long the notebook's cells ran in the kernel: from the first cell's start to the last
    cell's reply (nbclient's ``metadata.execution``); None when no cell recorded a time."""
    import nbformat

    starts, ends = [], []
    for cell in nbformat.read(notebook, as_version=4).cells:
        timing = cell.get("metadata", {}).get("execution") or {}
        start = timing.get("iopub.status.busy") or timing.get("iopub.execute_input")
        end = timing.get("shell.execute_reply") or timing.get("iopub.status.idle")
        if start and end:
            starts.append(_stamp(start))
            ends.append(_stamp(end))
    return max(ends) - min(starts) if starts else None


def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def run(assignments=None, per_kind: int = 1, jobs: int | None = None, progress=sys.stderr,
        keep: Path | None = None, cell_timeout: int | None = None) -> dict:
    """Generate, grade and summarise a class; returns the measurements as a JSON-ready dict."""
    from attn_course import grading
    from attn_course.kernel_zygote import FRESH_KERNELS_ENV
    from tests.grading.make_class import KINDS, make_class, plan_class

    cores = os.cpu_count() or 1
    jobs = jobs or cores
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")  # kernels use one thread each, also with --jobs 1
    plan = {(p.student, p.assignment): p for p in plan_class(assignments, per_kind)}
    tmp = Path(tempfile.mkdtemp(prefix="attn-throughput-")) if keep is None else Path(keep)
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        subs, work, table = tmp / "submissions", tmp / "workdir", tmp / "scores.csv"
        if subs.exists():
            shutil.rmtree(subs)
        manifest = make_class(subs, assignments, per_kind)
        recorder = ProgressRecorder(progress)
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        start = time.monotonic()
        scores = grading.grade(subs, root=ROOT, workdir=work, csv_path=table, jobs=jobs,
                               progress=recorder, cell_timeout=cell_timeout)
        wall = time.monotonic() - start
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        rows = []
        for score in scores:
            entry = plan[(score.student, score.assignment)]
            graded = work / "autograded" / score.student / score.assignment / f"{score.notebook}.ipynb"
            rows.append({
                "student": score.student, "assignment": score.assignment, "notebook": score.notebook,
                "kind": manifest[(score.student, score.assignment)], "case": entry.case,
                "score": score.score, "max_score": score.max_score,
                "failed_cells": score.failed_cells, "note": score.note, "flags": score.flags,
                "cells_s": cells_seconds(graded) if graded.is_file() else None,
            })
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)

    gradings = len(rows)
    rate = per_core_rate(gradings, wall, jobs, cores)
    workers = min(jobs, gradings)
    loop = recorder.loop_seconds()
    if loop:
        last_line, loop_s = loop
        before_s, after_s = max(0.0, last_line - loop_s - start), start + wall - last_line
    else:
        loop_s = before_s = after_s = None
    return {
        "gradings": gradings, "wall_s": wall, "jobs": jobs, "workers": workers, "cores": cores,
        "kernels": "fresh" if os.environ.get(FRESH_KERNELS_ENV) == "1" else "zygote",
        "per_kind": per_kind, "assignments": sorted({r["assignment"] for r in rows}),
        "rate_per_core_per_min": rate,
        "seconds_per_grading_per_core": 60.0 / rate,
        "projection": {"students": CLASS_STUDENTS, "notebooks": CLASS_NOTEBOOKS,
                       "cores": TARGET_CORES, "minutes": projected_minutes(rate),
                       "goal_minutes": GOAL_MINUTES},
        "phases_s": {"before_autograding": before_s, "autograding": loop_s, "after_autograding": after_s},
        "cells_s_mean": _mean(r["cells_s"] for r in rows),
        "load_average_1min": {"before": load_before, "after": load_after},
        "kinds": list(KINDS),
        "violations": violations(rows),
        "submissions": rows,
    }


def violations(rows) -> list[str]:
    """Every submission whose score contradicts its kind: correct below full marks, or any other
    kind at full marks (or a correct one that could not be graded)."""
    found = []
    for r in rows:
        full = r["score"] >= r["max_score"] and not r["note"]
        label = (f"{r['assignment']} {r['kind']} ({r['student']}, case {r['case']}): "
                 f"{r['score']:g}/{r['max_score']:g}")
        if r["kind"] == "correct" and not full:
            found.append(f"{label}, expected full marks; lost {r['failed_cells'] or '-'}"
                         + (f"; {r['note']}" if r["note"] else ""))
        elif r["kind"] != "correct" and r["score"] >= r["max_score"]:
            found.append(f"{label}, expected to lose points")
    return found


# ---------------------------------------------------------------------------------------------------
# Reporting


def _fmt(value, digits: int = 1, unit: str = "") -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def report(result: dict) -> str:
    """The markdown report (tables and notes) of one :func:`run`."""
    rows, kinds = result["submissions"], result["kinds"]
    projection = result["projection"]
    verdict = "within" if projection["minutes"] <= projection["goal_minutes"] else "over"
    phases = result["phases_s"]
    lines = [
        "| notebook-gradings | jobs | cores | wall time | gradings / min / core | s per grading per core "
        f"| projected {projection['students']} × {projection['notebooks']} on {projection['cores']} cores |",
        "|---|---|---|---|---|---|---|",
        f"| {result['gradings']} ({len(result['assignments'])} assignment"
        f"{'s' * (len(result['assignments']) != 1)} × {len(kinds)} kinds × {result['per_kind']}) | {result['jobs']} | {result['cores']} | {result['wall_s']:.1f} s "
        f"({result['wall_s'] / 60:.1f} min) | {result['rate_per_core_per_min']:.2f} | "
        f"{result['seconds_per_grading_per_core']:.1f} | **{projection['minutes']:.1f} min** "
        f"({verdict} the {projection['goal_minutes']:g}-minute goal) |",
        "",
        f"Of the wall time, {_fmt(phases['before_autograding'])} s went before the autograding loop "
        f"(copying, registering the assignments), {_fmt(phases['autograding'], 0)} s to the loop "
        f"itself (±1 s) and {_fmt(phases['after_autograding'])} s after it (merging the gradebooks, "
        f"reading the scores). The cells ran in the kernel for {_fmt(result['cells_s_mean'])} s per "
        "grading on average; the rest of a grading is starting the kernel and nbgrader's own work. "
        "Load average (1 min) before the run "
        f"{_fmt(result['load_average_1min']['before'], 2)}, after {_fmt(result['load_average_1min']['after'], 2)}.",
        "",
    ]
    by = defaultdict(list)
    for r in rows:
        by[(r["assignment"], r["kind"])].append(r)
    header = "| assignment | cells run, mean s | slowest kind, s | " + " | ".join(
        f"{k} score" for k in kinds) + " |"
    lines += [header, "|" + "---|" * (3 + len(kinds))]
    for assignment in result["assignments"]:
        mine = [r for r in rows if r["assignment"] == assignment]
        per_kind = {k: _mean(r["cells_s"] for r in by[(assignment, k)]) for k in kinds}
        slowest = max((k for k in kinds if per_kind[k] is not None), key=per_kind.get, default=None)
        cells = []
        for kind in kinds:
            cells.append(", ".join(f"{r['score']:g}/{r['max_score']:g}" + (" (not graded)" if r["note"] else "")
                                   for r in by[(assignment, kind)]) or "—")
        lines.append(f"| {assignment} | {_fmt(_mean(r['cells_s'] for r in mine))} | "
                     f"{slowest or '—'} {_fmt(per_kind.get(slowest) if slowest else None)} | "
                     + " | ".join(cells) + " |")
    lines += ["", "| kind | submissions | cells run, mean s | full marks | mean score | cases |",
              "|---|---|---|---|---|---|"]
    for kind in kinds:
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue
        full = sum(r["score"] >= r["max_score"] and not r["note"] for r in mine)
        percent = _mean(100 * r["score"] / r["max_score"] for r in mine if r["max_score"])
        cases = sorted({r["case"] if not r["case"].startswith("solution, ") else "solution + missing import"
                        for r in mine})
        shown = ", ".join(cases[:4]) + (f", … ({len(cases)} in all)" if len(cases) > 4 else "")
        lines.append(f"| {kind} | {len(mine)} | {_fmt(_mean(r['cells_s'] for r in mine))} | "
                     f"{full}/{len(mine)} | {_fmt(percent, 0, ' %')} | {shown} |")
    lines.append("")
    if result["violations"]:
        lines += ["**Scores that contradict their kind:**", ""]
        lines += [f"* {v}" for v in result["violations"]]
    else:
        lines.append("Every correct submission got full marks; every wrong, blank, crashing and "
                     "cheating one lost points.")
    return "\n".join(lines) + "\n"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(argv=None) -> dict:
    import nbgrader
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results import _commit  # the other benchmarks' provenance

    argv = sys.argv[1:] if argv is None else argv
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "nbgrader": nbgrader.__version__,
            "date": datetime.date.today().isoformat(), "commit": _commit(),
            "command": "python " + " ".join(shlex.quote(a) for a in ["benchmarks/grading_throughput.py", *argv])}


KERNELS = {"zygote": "forked from its worker's zygote, `attn_course/kernel_zygote.py`",
           "fresh": "started from scratch: `ATTN_COURSE_FRESH_KERNELS=1`"}


def section(result: dict, where: dict) -> str:
    return (f"## {SECTION}\n\n"
            f"{where['cpu']}, {where['cores']} cores · PyTorch {where['torch']} · nbgrader "
            f"{where['nbgrader']} · Python {where['python']} · commit `{where['commit']}` · "
            f"{where['date']} · `{where['command']}`\n\n"
            "Written by the script (`benchmarks/README.md` says what each figure is). Each grading is "
            "one notebook of one student through nbgrader's real autograder in a kernel of its own ("
            f"{KERNELS[result.get('kernels', 'zygote')]}); the class is generated by "
            "`tests/grading/make_class.py`.\n\n" + report(result))


def replace_section(text: str, new_section: str, title: str = SECTION) -> str:
    """``text`` with its ``## title`` section (up to the next ``## `` heading) replaced by
    ``new_section``, or with ``new_section`` added at the end; other sections are kept as they are."""
    heading = re.compile(rf"^## {re.escape(title)}[ \t]*$", re.MULTILINE)
    found = heading.search(text)
    body = new_section.rstrip("\n") + "\n"
    if not found:
        return text.rstrip("\n") + "\n\n" + body
    following = re.compile(r"^## ", re.MULTILINE).search(text, found.end())
    rest = text[following.start():] if following else ""
    return text[:found.start()] + body + ("\n" + rest if rest else "")


# ---------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions autograded at once (default: os.cpu_count())")
    parser.add_argument("--per-kind", type=int, default=1,
                        help="students of each kind per assignment (default 1)")
    parser.add_argument("--only", default=None,
                        help="comma-separated assignments (default: every folder in solutions/)")
    parser.add_argument("--write", action="store_true",
                        help=f"replace the '{SECTION}' section of benchmarks/RESULTS.md")
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    parser.add_argument("--keep", type=Path, default=None,
                        help="generate and grade in this folder and keep it (default: a temporary one)")
    parser.add_argument("--cell-timeout", type=int, default=None,
                        help="seconds a cell may run (default: nbgrader_config.py's)")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    if args.per_kind < 1:
        parser.error("--per-kind must be 1 or more")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    only = [a.strip() for a in args.only.split(",") if a.strip()] if args.only else None
    result = run(only, args.per_kind, args.jobs, progress=sys.stderr, keep=args.keep,
                 cell_timeout=args.cell_timeout)
    where = provenance(argv)
    text = section(result, where)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"provenance": where, **result}, indent=1) + "\n")
    if args.write:
        old = args.results.read_text() if args.results.exists() else "# Benchmark results\n"
        args.results.write_text(replace_section(old, text))
        print(f"wrote the '{SECTION}' section of {args.results}", file=sys.stderr)
    if result["violations"]:
        print(f"{len(result['violations'])} submission(s) scored against their kind:", file=sys.stderr)
        for line in result["violations"]:
            print("  " + line, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
