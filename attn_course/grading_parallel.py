"""Autograding many submissions: one at a time, or in N isolated worker processes (``jobs``).

nbgrader grades serially and keeps one gradebook per course folder. With ``jobs > 1`` each worker
process gets its own scratch course folder (``<workdir>/.workers/<pid>/``) that starts as a copy
of the parent's, right after the assignments were registered: the same ``source/``, ``release/``
and ``gradebook.db``, so every assignment, notebook and cell row has the same id everywhere. A
worker grades one (student, assignment) at a time with nbgrader's own ``autograde``; the rows that
adds (student, submission, grades, comments) have fresh uuids. At the end the parent copies each
worker's ``autograded/<student>/<assignment>/`` into the workdir and adds every worker's rows to
the one ``gradebook.db`` (SQLite ``ATTACH`` + ``INSERT OR IGNORE``, table by table: shared rows
are identical, new rows never collide), then removes the worker folders. The workdir then looks as
after a serial run, so ``feedback`` works on it unchanged.

Workers are started with the "spawn" method (never fork a process whose torch threads ran) and
run with ``OMP_NUM_THREADS=1``, so N workers use about N cores.

A submission nbgrader cannot autograde (a notebook that is not valid JSON, no notebook at all) is
not an error for the class: it gets a note, and zero points in the score table.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

_WORKERS = ".workers"


class Progress:
    """One status line: ``graded 12/40 (1 not graded), 1:05 elapsed, about 2:47 left``."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream
        self.start = time.monotonic()

    def step(self, note: str = "") -> None:
        self.done += 1
        self.failed += bool(note)
        if self.stream is None:
            return
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        failed = f" ({self.failed} not graded)" if self.failed else ""
        line = (f"graded {self.done}/{self.total}{failed}, {_clock(elapsed)} elapsed, "
                f"about {_clock(left)} left")
        tty = getattr(self.stream, "isatty", lambda: False)()
        end = "\n" if not tty or self.done == self.total else ""
        print(("\r" if tty else "") + line, end=end, file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def autograde_one(api, student: str, name: str, attempts: int = 2) -> str:
    """nbgrader's autograde of ``student``/``name``; returns "" or why it could not be graded.

    A failure that is not the submission's (its notebooks are there and readable, e.g. a kernel
    that could not start because another worker took its port) is retried once before the
    submission is given up as ungraded.
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


def autograde_all(api, todo, root: Path, jobs: int = 1, cell_timeout=None, progress=None) -> dict:
    """Autograde every (student, assignment) in ``todo`` into ``api``'s course folder.

    The assignments must already be registered there. Returns ``{(student, assignment): note}``
    for the submissions that could not be graded. ``progress``: a stream for the status line.
    """
    bar = Progress(len(todo), progress)
    notes = {}
    if jobs <= 1 or len(todo) <= 1:
        for student, name in todo:
            note = autograde_one(api, student, name)
            if note:
                notes[(student, name)] = note
            bar.step(note)
        return notes

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    work = Path(api.coursedir.root)
    context = multiprocessing.get_context("spawn")  # never fork a process whose torch threads ran
    folders = set()
    with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context,
                             initializer=_worker_start,
                             initargs=(str(root), str(work), cell_timeout)) as pool:
        futures = [pool.submit(_worker_grade, student, name) for student, name in todo]
        for future in as_completed(futures):
            student, name, note, folder = future.result()
            folders.add(folder)
            if note:
                notes[(student, name)] = note
            bar.step(note)
    for folder in sorted(folders):
        _merge(Path(folder), work)
    shutil.rmtree(work / _WORKERS, ignore_errors=True)
    return notes


_worker = {}


def _worker_start(root: str, work: str, cell_timeout) -> None:
    """In a fresh worker process: its own copy of the registered course folder, and one thread."""
    from .grading import _api, _config

    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"  # inherited by the kernels this worker starts
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    work = Path(work)
    mine = work / _WORKERS / str(os.getpid())
    shutil.copytree(work / "source", mine / "source")
    shutil.copytree(work / "release", mine / "release")
    shutil.copy2(work / "gradebook.db", mine / "gradebook.db")
    cfg = _config(Path(root), mine, source_directory="source", release_directory="release")
    if cell_timeout is not None:
        cfg.Execute.timeout = cell_timeout
    _worker.update(api=_api(cfg), work=work, mine=mine)


def _worker_grade(student: str, name: str):
    work, mine = _worker["work"], _worker["mine"]
    shutil.copytree(work / "submitted" / student / name, mine / "submitted" / student / name)
    return student, name, autograde_one(_worker["api"], student, name), str(mine)


def _merge(folder: Path, work: Path) -> None:
    """Add one worker's autograded folders and gradebook rows to the workdir."""
    autograded = folder / "autograded"
    if autograded.is_dir():
        for submission in sorted(autograded.glob("*/*")):
            shutil.copytree(submission, work / "autograded" / submission.relative_to(autograded))
    db = sqlite3.connect(work / "gradebook.db")
    try:
        db.execute("ATTACH DATABASE ? AS worker", (str(folder / "gradebook.db"),))
        tables = [row[0] for row in db.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        with db:  # one transaction per worker
            for table in tables:  # in creation order, so referenced rows come first
                columns = ", ".join(f'"{c[1]}"' for c in db.execute(f'PRAGMA main.table_info("{table}")'))
                db.execute(f'INSERT OR IGNORE INTO main."{table}" ({columns}) '
                           f'SELECT {columns} FROM worker."{table}"')
        db.execute("DETACH DATABASE worker")
    finally:
        db.close()
