"""Autograding a class: N isolated worker processes, one gradebook, a run that can be resumed.

Every submission is autograded by nbgrader's own ``autograde`` in a worker process, never in the
instructor's process (a submission that kills the process grading it takes down a worker, not the
run). With ``jobs=N`` there are N workers; with 1, one. Each worker has its own scratch course
folder (``<workdir>/.workers/<pid>/``: a copy of ``source/`` and ``release/``) and grades each
submission against its own copy of the template gradebook (:mod:`attn_course.gradebook_merge`),
so workers share nothing that they write.

The instructor's process takes each finished submission in turn: it copies the worker's
``autograded/<student>/<assignment>/`` into the workdir, merges the submission's rows into the
course gradebook in one transaction, and only then appends a line to ``<workdir>/graded.jsonl``.
That journal is what ``resume`` trusts: a run stopped at any point (Ctrl-C, a killed process, a
lost machine) resumes with the submissions it does not list, and never regrades one it does.

A worker that dies (a submission killed it, or the memory it needed was taken) breaks its pool:
the submissions that were being graded in it are graded again, and one that was being graded
when a pool broke twice is graded alone; if it kills that worker too, it is reported as not
graded, with a note, and scores 0. Submissions still waiting in the queue just go on.
A submission nbgrader cannot autograde (a notebook that is not valid JSON, no notebook) gets a
note and scores 0 too; nothing one student hands in stops the class.

Workers are started with the "spawn" method (never fork a process whose torch threads ran) and
run with ``OMP_NUM_THREADS=1``, so N workers use about N cores. Each worker starts a kernel zygote
(:mod:`attn_course.kernel_zygote`) and forks its kernels from it, so IPython, ipykernel and torch
are imported once per worker instead of once per grading; with ``ATTN_COURSE_FRESH_KERNELS=1``
every kernel starts from scratch instead.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from .gradebook_merge import merge_submission

_WORKERS = ".workers"
JOURNAL = "graded.jsonl"
TEMPLATE = "template-gradebook.db"


class Progress:
    """One status line: ``graded 12/40 (1 not graded), 1:05 elapsed, about 2:47 left``.

    On a terminal the line is rewritten in place; elsewhere (a log file, CI) it is printed at
    most every ``every`` seconds, and at the end.
    """

    def __init__(self, total: int, stream=None, every: float = 30.0):
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream
        self.start = time.monotonic()
        self.every, self._printed = every, None

    def step(self, note: str = "") -> None:
        self.done += 1
        self.failed += bool(note)
        if self.stream is None:
            return
        now = time.monotonic()
        elapsed = now - self.start
        left = elapsed / self.done * (self.total - self.done)
        failed = f" ({self.failed} not graded)" if self.failed else ""
        line = (f"graded {self.done}/{self.total}{failed}, {_clock(elapsed)} elapsed, "
                f"about {_clock(left)} left")
        tty = getattr(self.stream, "isatty", lambda: False)()
        last = self.done == self.total
        if tty:
            print("\r" + line, end="\n" if last else "", file=self.stream, flush=True)
        elif last or self._printed is None or now - self._printed >= self.every:
            print(line, file=self.stream, flush=True)
            self._printed = now


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def autograde_one(api, student: str, name: str, attempts: int = 2) -> str:
    """nbgrader's autograde of ``student``/``name``; returns "" or why it could not be graded.

    A failure that is not the submission's (its notebooks are there and readable, e.g. a kernel
    that could not start) is retried once before the submission is given up as ungraded.
    """
    for _ in range(attempts):
        try:
            result = api.autograde(name, student, force=True, create=True)
        except Exception as error:  # noqa: BLE001 (one student's failure must not stop the class)
            result = {"success": False, "error": f"{type(error).__name__}: {error}"}
        if result.get("success"):
            return ""
        note = _failure_note(Path(api.coursedir.root) / "submitted" / student / name, result)
        if not note.startswith(_NOT_THE_SUBMISSION):
            return note   # missing or unreadable: trying again changes nothing
    return note


_NOT_THE_SUBMISSION = "not graded: nbgrader could not autograde it"
KILLED = "not graded: it killed the process grading it, alone and beside others"


def _failure_note(folder: Path, result: dict) -> str:
    import nbformat

    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        return f"not graded: no notebook (.ipynb) in the submission {folder.parent.name}/{folder.name}"
    for path in notebooks:
        try:
            nbformat.read(path, as_version=4)
        except Exception as error:  # noqa: BLE001
            first = (str(error).strip().splitlines() or [""])[0][:200]
            return f"not graded: {path.name} is not a readable notebook ({type(error).__name__}: {first})"
    lines = [line.strip() for line in (result.get("error") or result.get("log") or "").splitlines()
             if line.strip()]
    return f"{_NOT_THE_SUBMISSION}: " + (lines[-1][:300] if lines else "no reason given")


def read_journal(work: Path) -> dict:
    """``{(student, assignment): note}`` for every submission a run on ``work`` finished."""
    done = {}
    path = Path(work) / JOURNAL
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short when the run was killed: that submission is not done
            done[(entry["student"], entry["assignment"])] = entry.get("note", "")
    return done


def autograde_all(work: Path, course_engine, todo, root: Path, jobs: int = 1, cell_timeout=None,
                  progress=None) -> dict:
    """Autograde every (student, assignment) in ``todo`` into the workdir ``work``.

    ``work`` holds ``source/``, ``release/``, ``submitted/`` and the template gradebook;
    ``course_engine`` is the course gradebook's SQLAlchemy engine. Returns
    ``{(student, assignment): note}`` for the submissions that could not be graded.
    """
    from .kernel_caps import sweep_orphans

    work = Path(work)
    shutil.rmtree(work / _WORKERS, ignore_errors=True)   # left by a run that was stopped
    sweep_orphans()                                      # and what its kernels left running
    bar = Progress(len(todo), progress)
    notes = {}

    def finish(student, name, note, folder):
        _take_result(Path(folder) if folder else None, work, course_engine, student, name)
        with (work / JOURNAL).open("a", encoding="utf-8") as journal:
            journal.write(json.dumps({"student": student, "assignment": name, "note": note}) + "\n")
            journal.flush()
            os.fsync(journal.fileno())
        if note:
            notes[(student, name)] = note
        bar.step(note)

    breaks = Counter()
    queue = list(todo)
    futile = 0  # pools in a row that broke before grading anything
    while queue:
        shared = [pair for pair in queue if breaks[pair] < 2]
        alone = [pair for pair in queue if breaks[pair] >= 2]
        queue = []
        runs = ([(shared, jobs)] if shared else []) + [([pair], 1) for pair in alone]
        for pairs, workers in runs:
            lost = _pool_run(pairs, workers, root, work, cell_timeout, finish)
            started = [pair for pair in lost if _started(work, *pair)]
            futile = futile + 1 if lost and len(lost) == len(pairs) and not started else 0
            if futile >= 3:
                from .grading import CourseError

                raise CourseError("the grading worker processes die before they grade anything "
                                  f"(tried {futile} times); {len(queue) + len(lost)} submissions "
                                  "are left: run `attn-course grade ... --resume` once fixed")
            for pair in started:  # it was being graded when its worker died
                breaks[pair] += 1
            for pair in lost:
                if breaks[pair] >= 3:
                    finish(*pair, KILLED, None)
                else:
                    queue.append(pair)
    shutil.rmtree(work / _WORKERS, ignore_errors=True)
    return notes


def _started_marker(work: Path, student: str, name: str) -> Path:
    return Path(work) / _WORKERS / "started" / f"{student}--{name}"


def _started(work: Path, student: str, name: str) -> bool:
    """Whether a worker began grading this submission (and, when asked, forget that it did)."""
    marker = _started_marker(work, student, name)
    found = marker.exists()
    marker.unlink(missing_ok=True)
    return found


def _pool_run(pairs, workers, root, work, cell_timeout, finish) -> list:
    """Grade ``pairs`` in a pool of ``workers``; returns the pairs lost when a worker died."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # never fork a process whose torch threads ran
    lost = []
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(pairs))), mp_context=context,
                             initializer=_worker_start,
                             initargs=(str(root), str(work), cell_timeout)) as pool:
        futures = {pool.submit(_worker_grade, student, name): (student, name)
                   for student, name in pairs}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                lost.append(futures[future])
                continue
            finish(*result)
    if lost:
        from .kernel_caps import sweep_orphans

        sweep_orphans()  # what the dead worker's kernels left running
    return sorted(lost)


def _take_result(folder: Path | None, work: Path, course_engine, student: str, name: str) -> None:
    """Copy a worker's autograded folder into the workdir and merge its gradebook rows."""
    if folder is None:  # nothing was graded: no rows, no folder
        return
    graded = folder / "autograded" / student / name
    target = work / "autograded" / student / name
    shutil.rmtree(target, ignore_errors=True)
    if graded.is_dir():
        shutil.copytree(graded, target)
    scratch = folder / "db" / f"{student}--{name}.db"
    if scratch.is_file():
        merge_submission(scratch, course_engine, student, name)
    for leftover in (scratch, graded, folder / "submitted" / student / name):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        elif leftover.exists():
            leftover.unlink()


_worker = {}


def _worker_start(root: str, work: str, cell_timeout) -> None:
    """In a fresh worker process: its own copy of the course folder, and one thread."""
    from ._startup import skip_iri_grammars

    skip_iri_grammars()
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"  # inherited by the kernels this worker starts
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    work = Path(work)
    mine = work / _WORKERS / str(os.getpid())
    shutil.copytree(work / "source", mine / "source")
    shutil.copytree(work / "release", mine / "release")
    (mine / "db").mkdir()
    (work / _WORKERS / "started").mkdir(exist_ok=True)
    from .kernel_zygote import FRESH_KERNELS_ENV, ZYGOTE_ENV, start

    if os.environ.get(FRESH_KERNELS_ENV) != "1":

        socket_path = start()  # kernels fork from it; None: every kernel starts from scratch
        if socket_path:
            os.environ[ZYGOTE_ENV] = socket_path
    _worker.update(root=Path(root), work=work, mine=mine, cell_timeout=cell_timeout)


def _worker_grade(student: str, name: str):
    """Autograde one submission against a fresh copy of the template gradebook."""
    from .grading import _api, _config

    work, mine = _worker["work"], _worker["mine"]
    _started_marker(work, student, name).touch()  # a pool that breaks now was grading it
    shutil.copytree(work / "submitted" / student / name, mine / "submitted" / student / name)
    scratch = mine / "db" / f"{student}--{name}.db"
    shutil.copy2(work / TEMPLATE, scratch)
    cfg = _config(_worker["root"], mine, source_directory="source", release_directory="release")
    cfg.CourseDirectory.db_url = f"sqlite:///{scratch}"
    if _worker["cell_timeout"] is not None:
        cfg.Execute.timeout = _worker["cell_timeout"]
    return student, name, autograde_one(_api(cfg), student, name), str(mine)
