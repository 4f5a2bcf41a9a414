"""The instructor's workflow, wrapped around nbgrader's own API (no grading is reimplemented here).

* ``release``: regenerate the student release ``notebooks/`` from the sources in ``solutions/``;
  byte-identical on re-run.
* ``grade``: autograde a folder of submissions laid out as nbgrader expects
  (``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb``) in a scratch course folder, and write a
  per-student, per-notebook score table (CSV).
* ``feedback``: nbgrader's feedback step (HTML reports) for a graded scratch folder.

The gradebook and nbgrader's working folders live in the scratch folder, never in the repository.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .flags import scan_notebook

__all__ = ["CourseError", "NotebookScore", "release", "grade", "feedback", "assignments",
           "write_scores_csv"]


class CourseError(RuntimeError):
    """Something about the course folder or the submissions that the instructor must fix."""


@dataclass(frozen=True)
class NotebookScore:
    student: str
    assignment: str
    notebook: str
    score: float
    max_score: float
    failed_cells: str  # grade ids of graded cells that did not get full points, ";"-separated
    flags: str = ""    # code worth a human look (attn_course.flags), "; "-separated
    note: str = ""     # why the submission could not be graded (then it scores 0), else empty


def _course_root(root) -> Path:
    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").is_file() or not (root / "solutions").is_dir():
        raise CourseError(f"{root} is not an attn-course folder: expected nbgrader_config.py and "
                          "solutions/ in it (run from the repository root or pass --root).")
    return root


def assignments(root=".") -> list[str]:
    """The assignment folders in ``solutions/``, in order."""
    root = _course_root(root)
    return sorted(p.name for p in (root / "solutions").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def _config(root: Path, workdir: Path, **directories):
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cfg.CourseDirectory.root = str(workdir)
    for name, value in directories.items():
        setattr(cfg.CourseDirectory, name, value)
    cfg.CourseDirectory.db_url = f"sqlite:///{workdir / 'gradebook.db'}"
    cfg.Exchange.root = str(workdir / "exchange")
    (workdir / "exchange").mkdir(parents=True, exist_ok=True)  # else nbgrader logs it as CRITICAL
    return cfg


@contextlib.contextmanager
def _nbgrader_environment():
    """nbgrader calls helper programs (alembic) by name: put this Python's scripts first on PATH."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + old
    try:
        yield
    finally:
        os.environ["PATH"] = old


def _api(cfg):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from ._startup import quick_gradebook_version

    quick_gradebook_version()
    return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        raise CourseError(f"nbgrader failed to {what}:\n{result.get('error') or result.get('log')}")


def release(root=".", only: list[str] | None = None) -> list[Path]:
    """Regenerate ``notebooks/<assignment>/`` from ``solutions/<assignment>/``; returns the notebooks.

    nbgrader writes every assignment into a scratch folder first; only when all succeeded are the
    release folders replaced, so a failure leaves the committed release untouched.
    """
    root = _course_root(root)
    names = only or assignments(root)
    unknown = sorted(set(names) - set(assignments(root)))
    if unknown:
        raise CourseError(f"no such assignment in solutions/: {', '.join(unknown)}; "
                          f"available: {', '.join(assignments(root))}")
    written = []
    with tempfile.TemporaryDirectory(prefix="attn-release-") as tmp, _nbgrader_environment():
        work = Path(tmp)
        shutil.copytree(root / "solutions", work / "source")
        api = _api(_config(root, work, source_directory="source", release_directory="release"))
        for name in names:
            _check(api.generate_assignment(name, force=True), f"generate the release of {name}")
        for name in names:  # only once every assignment generated cleanly
            target = root / "notebooks" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(work / "release" / name, target)
            written += sorted(target.glob("*.ipynb"))
    return written


def grade(submissions, root=".", workdir=None, csv_path=None,
          cell_timeout: int | None = None, jobs: int = 1, progress=None,
          resume: bool = False, db_url: str | None = None) -> list[NotebookScore]:
    """Autograde every ``<student>/<assignment>/`` folder under ``submissions``.

    Args:
        submissions: folder laid out as ``<student>/<assignment>/<notebook>.ipynb``.
        root: the course folder (with ``solutions/`` and ``nbgrader_config.py``).
        workdir: scratch course folder kept for ``feedback`` (a new temporary folder if None): it
            must be new, empty, or made by an earlier ``grade``, and is emptied first (unless
            ``resume``); it receives a copy of ``submissions``, which is never modified.
        csv_path: where to write the score table (one row per student and notebook).
        cell_timeout: seconds a cell may run before it is interrupted (default: nbgrader_config.py).
        jobs: how many submissions to autograde at once, each in its own worker process
            (attn_course.grading_parallel); scores, CSV and workdir are the same for every N.
        progress: a stream (e.g. ``sys.stderr``) for a status line with counts and time left.
        resume: go on with the stopped run in ``workdir``: the submissions it finished are not
            graded again (the course's solutions must be unchanged since).
        db_url: the course gradebook, any database URL nbgrader accepts (e.g.
            ``postgresql://user@host/course``); default: ``gradebook.db`` (SQLite) in the workdir.

    A submission nbgrader cannot autograde (malformed or missing notebook) scores 0 with a
    ``note``; it never stops the others.
    """
    from sqlalchemy import create_engine

    from .gradebook_merge import make_template
    from .grading_parallel import TEMPLATE, autograde_all, read_journal

    root = _course_root(root)
    submissions = Path(submissions).resolve()
    if not submissions.is_dir():
        raise CourseError(f"submissions folder {submissions} does not exist")
    if jobs < 1:
        raise CourseError(f"jobs must be 1 or more, not {jobs}")
    todo = _submissions_to_grade(submissions, set(assignments(root)))
    if resume:
        work, done = _resumable_folder(workdir, root)
    else:
        work, done = _scratch_folder(workdir), {}
        shutil.copytree(root / "solutions", work / "source")
        (work / _SOLUTIONS_DIGEST).write_text(_digest(root / "solutions"))
    remaining = [pair for pair in todo if pair not in done]
    for student, name in remaining:  # a fresh copy: the instructor's folder is never written to
        target = work / "submitted" / student / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(submissions / student / name, target)

    with _nbgrader_environment():
        cfg = _config(root, work, source_directory="source", release_directory="release")
        if db_url:
            cfg.CourseDirectory.db_url = db_url
        if cell_timeout is not None:
            cfg.Execute.timeout = cell_timeout
        api = _api(cfg)
        for name in sorted({a for _, a in todo}):
            _check(api.generate_assignment(name, force=True), f"register {name} in the gradebook")
        course_url = api.coursedir.db_url
        make_template(course_url, work / TEMPLATE)
        if resume and progress is not None:
            print(f"resuming: {len(todo) - len(remaining)} of {len(todo)} submissions were graded "
                  "before; grading the rest", file=progress, flush=True)
        engine = create_engine(course_url)
        try:
            autograde_all(work, engine, remaining, root, jobs, cell_timeout, progress)
        finally:
            engine.dispose()
        wanted = set(todo)
        notes = {pair: note for pair, note in read_journal(work).items() if pair in wanted}
        scores = _read_scores(api, todo, notes)
    if csv_path:
        write_scores_csv(scores, csv_path)
    return scores


_WORKDIR_MARK = ".attn-course-workdir"
_SOLUTIONS_DIGEST = "solutions.sha256"


def _digest(folder: Path) -> str:
    """A hash of every file under ``folder`` (names and bytes), to tell whether it changed."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _resumable_folder(workdir, root: Path) -> tuple[Path, dict]:
    """The workdir of a stopped run and what it finished; refuses one that cannot be resumed."""
    from .grading_parallel import read_journal

    if workdir is None:
        raise CourseError("resume needs the --workdir of the run to go on with")
    work = Path(workdir).resolve()
    if not (work / _WORKDIR_MARK).exists() or not (work / _SOLUTIONS_DIGEST).is_file():
        raise CourseError(f"{work} holds no run of `attn-course grade` to resume; "
                          "grade without --resume")
    if (work / _SOLUTIONS_DIGEST).read_text().strip() != _digest(root / "solutions"):
        raise CourseError(f"the course's solutions/ changed since the run in {work} started, so "
                          "its grades would not match the rest: grade without --resume")
    return work, read_journal(work)


def _submissions_to_grade(submissions: Path, known: set[str]) -> list[tuple[str, str]]:
    """(student, assignment) pairs in ``submissions``, checked against the course's assignments."""
    todo = []
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            if assignment_dir.name not in known:
                raise CourseError(
                    f"{assignment_dir}: unknown assignment {assignment_dir.name!r}; expected one of "
                    f"{', '.join(sorted(known))} (layout: <student>/<assignment>/<notebook>.ipynb)")
            todo.append((student_dir.name, assignment_dir.name))
    if not todo:
        raise CourseError(f"no submissions found in {submissions}; expected "
                          "<student>/<assignment>/<notebook>.ipynb")
    return todo


def _scratch_folder(workdir) -> Path:
    """An empty scratch course folder: new, empty, or one an earlier ``grade`` made (then reset).

    A folder with other content is refused, so a mistyped ``--workdir`` never deletes anything.
    """
    if workdir is None:
        work = Path(tempfile.mkdtemp(prefix="attn-grade-"))
    else:
        work = Path(workdir).resolve()
        if work.exists() and any(work.iterdir()) and not (work / _WORKDIR_MARK).exists():
            raise CourseError(f"--workdir {work} is not empty and was not made by `attn-course "
                              "grade`; name a new folder (it is emptied on every run)")
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    (work / _WORKDIR_MARK).write_text("scratch folder of `attn-course grade`; emptied on each run\n")
    return work


def _read_scores(api, todo, notes=None) -> list[NotebookScore]:
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    submitted = Path(api.coursedir.root) / "submitted"
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        for student, name in todo:
            note = (notes or {}).get((student, name), "")
            try:
                submission = gb.find_submission(name, student)
            except MissingEntry:  # nbgrader found nothing to grade: zero in every notebook
                for nb in sorted(gb.find_assignment(name).notebooks, key=lambda n: n.name):
                    lost = sorted(g.name for g in nb.grade_cells if g.max_score)
                    rows.append(NotebookScore(student, name, nb.name, 0.0, float(nb.max_score),
                                              ";".join(lost), "", note))
                continue
            for nb in sorted(submission.notebooks, key=lambda n: n.name):
                failed = sorted(g.name for g in nb.grades if g.max_score and g.score < g.max_score)
                path = submitted / student / name / f"{nb.name}.ipynb"
                release = Path(api.coursedir.root) / "release" / name / f"{nb.name}.ipynb"
                flagged = "; ".join(scan_notebook(path, release)) if path.is_file() and not note else ""
                rows.append(NotebookScore(student, name, nb.name, float(nb.score),
                                          float(nb.max_score), ";".join(failed), flagged, note))
    return rows


def write_scores_csv(scores: list[NotebookScore], path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(NotebookScore.__dataclass_fields__))
        writer.writeheader()
        for row in scores:
            writer.writerow(asdict(row))
    return path


_FLAG_MARK = "<!-- attn-course flags -->"


def _add_flags_to_report(report: Path, submitted: Path) -> None:
    """Put the submission's flags (if any) at the top of its HTML feedback report, once."""
    import html

    text = report.read_text(encoding="utf-8")
    if _FLAG_MARK in text or not submitted.is_file():
        return
    found = scan_notebook(submitted, report.parents[3] / "release" / report.parent.name /
                          f"{report.stem}.ipynb")
    if found:
        line = ("<div style=\"border:2px solid #c60;padding:0.5em;margin:0.5em\">"
                "<b>Flagged for the instructor's review</b> (flags do not change the score): "
                f"{html.escape('; '.join(found))}</div>")
    else:
        line = ""
    text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _FLAG_MARK + line, text, count=1)
    report.write_text(text, encoding="utf-8")


def feedback(workdir, root=".", out=None, show_hidden_tests: bool = False,
             db_url: str | None = None) -> list[Path]:
    """nbgrader's ``generate_feedback`` for every graded submission in ``workdir``.

    Returns the HTML reports; with ``out`` they are also copied to ``out/<student>/<assignment>/``.
    The reports leave out the hidden tests' code (and traceback lines quoting it) unless
    ``show_hidden_tests``, and their equations are MathML, so they render without a network
    connection: nbgrader's feedback step is set up by attn_course.feedback_nbgrader (here
    explicitly, whatever the course's ``nbgrader_config.py`` says).
    ``db_url``: the course gradebook that ``grade`` wrote to, if not the workdir's SQLite one.
    """
    from .feedback_nbgrader import configure

    root = _course_root(root)
    work = Path(workdir).resolve()
    if not (work / "autograded").is_dir():
        raise CourseError(f"{work} holds no autograded submissions: run `attn-course grade "
                          f"SUBMISSIONS --workdir {workdir}` first")
    with _nbgrader_environment():
        cfg = _config(root, work, source_directory="source", release_directory="release")
        configure(cfg, hide_hidden_tests=not show_hidden_tests)
        if db_url:
            cfg.CourseDirectory.db_url = db_url
        api = _api(cfg)
        for student_dir in sorted(p for p in (work / "autograded").iterdir() if p.is_dir()):
            for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
                _check(api.generate_feedback(assignment_dir.name, student_dir.name, force=True),
                       f"generate feedback for {student_dir.name}/{assignment_dir.name}")
    reports = sorted((work / "feedback").glob("*/*/*.html"))
    for report in reports:
        _add_flags_to_report(report, work / "submitted" / report.parent.parent.name /
                             report.parent.name / f"{report.stem}.ipynb")
    if out:
        out = Path(out)
        for report in reports:
            target = out / report.relative_to(work / "feedback")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(report, target)
    return reports
