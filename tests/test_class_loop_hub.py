"""The class loop through a real JupyterHub, as an instructor and two students would click it.

A JupyterHub on loopback (shared password, ``SimpleLocalProcessSpawner``, configurable-http-proxy)
serves an instructor, ``ada`` (hands in the solution) and ``bob`` (one wrong answer from
tests/grading/cases_01_se.py). Everything goes over HTTP through the hub's proxy, with the cookies
and ``_xsrf`` tokens a browser holds: the instructor generates and releases 01_se to nbgrader's
exchange through the formgrader's API, each student lists, fetches, edits (the contents API),
and submits it through the *Assignments* extension, the instructor collects, autogrades (with the
course's ``nbgrader_config.py``, so ``attn_course.autograde.GuardedExecute``), generates and
releases feedback, and the students fetch their feedback and read it through their own servers.

Skipped, with the reason, where jupyterhub is not installed, configurable-http-proxy can be neither
found nor installed (npm), or the hub does not come up. Every process the hub started is ended
afterwards, passed, failed or skipped.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tests.grading.cases_01_se import WRONG
from tests.grading.harness import hidden_test_lines, write_submission

pytest.importorskip("jupyterhub", reason="jupyterhub is not installed (it is in the `test` extra)")
pytest.importorskip("requests", reason="requests is not installed")

from tests.hub.classroom import Browser, Hub, Unavailable, find_proxy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COURSE = "attn-course"
ASSIGNMENT = "01_se"
INSTRUCTOR, STUDENTS = "instructor", ("ada", "bob")
BOBS_MISTAKE = "missing_sigmoid"        # loses test_se_behaviour and test_se_reference
FULL_MARKS = 14.0


def _nbgrader_config(**settings) -> str:
    lines = ["c = get_config()  # noqa: F821"]
    lines += [f"c.{name} = {value!r}" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def _set_up_homes(base: Path) -> tuple[Path, Path]:
    """The exchange, and a home per user with its nbgrader configuration (students: the exchange and
    the course id; the instructor: also the course folder, a copy of this repository's config and
    solutions/01_se, nbgrader's source)."""
    exchange, homes = base / "exchange", base / "home"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o1777)        # world-writable with the sticky bit, as on a real server
    exchange_settings = {"Exchange.root": str(exchange), "CourseDirectory.course_id": COURSE}

    course = homes / INSTRUCTOR / COURSE
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
    config = homes / INSTRUCTOR / ".jupyter"
    config.mkdir()
    (config / "nbgrader_config.py").write_text(_nbgrader_config(
        **exchange_settings, **{"CourseDirectory.root": str(course),
                                # Testing only: every user here is the same Unix account, so nbgrader
                                # cannot tell students apart by the owner of their files.
                                "ExchangeCollect.check_owner": False}))
    for student in STUDENTS:
        config = homes / student / ".jupyter"
        config.mkdir(parents=True)
        (config / "nbgrader_config.py").write_text(_nbgrader_config(
            **exchange_settings,
            # Testing only (same Unix account for all): nbgrader takes the student id from the Unix
            # user name unless it is set, as it is here.
            **{"CourseDirectory.student_id": student}))
    return exchange, homes


def _show_student_tools(homes: Path) -> None:
    """Each student's server without the instructor's tools: the user-level settings that
    ``attn_course.labsetup.configure("student", level="user")`` writes (the formgrader and the
    course list switched off, server and Lab side), written directly (importing JupyterLab's
    commands to write them costs seconds)."""
    from attn_course.labsetup import INSTRUCTOR_ONLY

    for student in STUDENTS:
        config = homes / student / ".jupyter"
        (config / "jupyter_server_config.d").mkdir(parents=True, exist_ok=True)
        for _, server in INSTRUCTOR_ONLY:
            if server:
                (config / "jupyter_server_config.d" / f"{server}.json").write_text(json.dumps(
                    {"ServerApp": {"jpserver_extensions": {server: False}}}))
        (config / "labconfig").mkdir(exist_ok=True)
        (config / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {plugin: True for plugin, _ in INSTRUCTOR_ONLY}}))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """The running hub, its three users logged in, their servers asked for (the instructor's up)."""
    base = tmp_path_factory.mktemp("hub")
    exchange, homes = _set_up_homes(base)
    _show_student_tools(homes)
    try:
        proxy = find_proxy()
    except Unavailable as reason:
        pytest.skip(f"no JupyterHub here: {reason}")
    the_hub = Hub(base / "hub", homes, [INSTRUCTOR, *STUDENTS], proxy, environment={
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        # In a virtual environment Jupyter ranks the environment's settings (where installing
        # nbgrader enables all its tools) above the user's: let the user's win, as on a hub
        # whose users share one environment.
        "JUPYTER_PREFER_ENV_PATH": "0",
        "ATTN_COURSE_MINE": str(base / "mine"),   # nothing a kernel saves lands in the repository
    })
    try:
        try:
            the_hub.start()
        except Unavailable as reason:
            pytest.skip(f"no JupyterHub here: {reason}")
        browsers = {name: Browser(the_hub, name) for name in (INSTRUCTOR, *STUDENTS)}
        for browser in browsers.values():
            browser.login()
            browser.start_server()       # the hub starts the three servers side by side
        browsers[INSTRUCTOR].wait_for_server()   # the students' are awaited when they need them
        yield the_hub, browsers, homes, exchange
    finally:
        the_hub.stop()


def _ok(result: dict, what: str) -> dict:
    """nbgrader's API answers ``{"success": ..., "error"/"value"/"log": ...}``, HTTP 200 either way."""
    assert result.get("success"), f"{what} failed: {result.get('error') or result.get('value') or result}"
    return result


def _answered(fetched: dict, student: str) -> dict:
    """The fetched notebook with ``student``'s answers in its solution cells (made by the grading
    harness: ada the solution, bob the solution with :data:`BOBS_MISTAKE`)."""
    import tempfile

    answers = {} if student == "ada" else WRONG[BOBS_MISTAKE]
    with tempfile.TemporaryDirectory() as folder:
        write_submission(Path(folder), student, ASSIGNMENT, answers)
        filled = nbformat.read(Path(folder, student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb"), as_version=4)
    by_id = {c.metadata["nbgrader"]["grade_id"]: c.source for c in filled.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    notebook = nbformat.from_dict(fetched)
    written = 0
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = by_id[meta["grade_id"]]
            written += 1
    assert written == len(by_id) > 0
    return notebook


def _entry(listing: dict, status: str) -> dict:
    """The one entry of the assignment list for 01_se with ``status``."""
    _ok(listing, "listing the assignments")
    found = [a for a in listing["value"]
             if a["assignment_id"] == ASSIGNMENT and a["course_id"] == COURSE and a["status"] == status]
    assert len(found) == 1, f"expected one {status!r} {ASSIGNMENT} in {listing['value']}"
    return found[0]


@pytest.fixture(scope="module")
def loop(hub):
    """The whole class loop, step by step; returns what each party can see at the end."""
    _, browsers, _, _ = hub
    teacher = browsers[INSTRUCTOR]
    students = {name: browsers[name] for name in STUDENTS}
    formgrader = "formgrader/api"

    # Instructor: nbgrader generates the release from solutions/, then releases it to the exchange.
    assert teacher.api_json("GET", f"{formgrader}/status") == {"status": True}
    _ok(teacher.api_json("POST", f"{formgrader}/assignment/{ASSIGNMENT}/assign"), "generate_assignment")
    _ok(teacher.api_json("POST", f"{formgrader}/assignment/{ASSIGNMENT}/release"), "release_assignment")
    assignment = teacher.api_json("GET", f"{formgrader}/assignment/{ASSIGNMENT}")
    assert assignment["status"] == "released" and assignment["releaseable"], assignment

    # Students: list, fetch, answer (saved through the contents API), submit.
    seen = {}
    for name, student in students.items():
        student.wait_for_server()
        listing = student.api_json("GET", "assignments", params={"course_id": COURSE})
        seen[name] = {"released": _entry(listing, "released")}
        fetched = _entry(student.api_json("POST", "assignments/fetch",
                                          data={"course_id": COURSE, "assignment_id": ASSIGNMENT}),
                         "fetched")
        [notebook] = fetched["notebooks"]
        path = notebook["path"]
        assert path == f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        student.save_notebook(path, _answered(student.read(path)["content"], name))
        submitted = student.api_json("POST", "assignments/submit",
                                     data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
        seen[name]["submitted"] = _entry(submitted, "submitted")

    # Instructor: collect, autograde each student, generate and release the feedback.
    _ok(teacher.api_json("POST", f"{formgrader}/assignment/{ASSIGNMENT}/collect"), "collect")
    for name in STUDENTS:
        _ok(teacher.api_json("POST", f"{formgrader}/submission/{ASSIGNMENT}/{name}/autograde"),
            f"autograde {name}")
    _ok(teacher.api_json("POST", f"{formgrader}/assignment/{ASSIGNMENT}/generate_feedback"),
        "generate_feedback")
    _ok(teacher.api_json("POST", f"{formgrader}/assignment/{ASSIGNMENT}/release_feedback"),
        "release_feedback")
    submissions = teacher.api_json("GET", f"{formgrader}/submissions/{ASSIGNMENT}")

    # Students: fetch the feedback and open it in their own server.
    for name, student in students.items():
        listing = student.api_json("POST", "assignments/fetch_feedback",
                                   data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
        [submission] = _entry(listing, "submitted")["submissions"]
        assert submission["has_local_feedback"], f"{name} got no feedback: {submission}"
        feedback = Path(submission["local_feedback_path"]) / f"{ASSIGNMENT}.html"
        seen[name]["feedback"] = student.read_text(str(feedback))
        seen[name]["formgrader"] = student.get(f"{formgrader}/status", expect=None).status_code
    return {"students": seen, "submissions": {s["student"]: s for s in submissions}}


def _scores(report: str) -> tuple[tuple[float, float], dict[str, tuple[float, float]]]:
    """(the notebook's score and maximum, {graded cell: (score, maximum)}) from a feedback page."""
    total = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)</h4>", report)
    assert total, "the feedback shows no total score"
    cells = re.findall(r'<a href="#([\w-]+)">Test cell</a> \(Score: ([\d.]+) / ([\d.]+)\)', report)
    assert cells, "the feedback lists no graded cells"
    return ((float(total[1]), float(total[2])),
            {cell: (float(got), float(most)) for cell, got, most in cells})


def test_students_get_the_release_and_not_the_instructors_tools(hub, loop):
    _, _, homes, exchange = hub
    for name in STUDENTS:
        assert loop["students"][name]["released"]["notebooks"][0]["notebook_id"] == ASSIGNMENT
        assert loop["students"][name]["formgrader"] == 404     # `attn-course lab student`
        fetched = (homes / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
        assert "### BEGIN SOLUTION" not in fetched and "HIDDEN TESTS" not in fetched
        assert not (homes / name / COURSE).exists()
    released = exchange / COURSE / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert "raise NotImplementedError()" in released.read_text()
    assert not list(exchange.rglob("gradebook.db"))


def test_feedback_shows_full_marks_for_the_solution_and_names_the_wrong_cells(loop):
    (ada_total, ada_cells) = _scores(loop["students"]["ada"]["feedback"])
    assert ada_total == (FULL_MARKS, FULL_MARKS)
    assert all(got == most for got, most in ada_cells.values())
    (bob_total, bob_cells) = _scores(loop["students"]["bob"]["feedback"])
    assert bob_total[1] == FULL_MARKS and bob_total[0] < FULL_MARKS
    failing = {cell for cell, (got, most) in bob_cells.items() if got < most}
    assert failing == set(WRONG[BOBS_MISTAKE].loses)
    assert sum(bob_cells[cell][1] for cell in failing) == FULL_MARKS - bob_total[0]
    assert set(ada_cells) == set(bob_cells)


def test_the_gradebook_holds_the_same_scores(hub, loop):
    from nbgrader.api import Gradebook

    _, _, homes, _ = hub
    rows = loop["submissions"]
    assert sorted(rows) == sorted(STUDENTS)
    assert (rows["ada"]["score"], rows["ada"]["max_score"]) == (FULL_MARKS, FULL_MARKS)
    assert rows["bob"]["max_score"] == FULL_MARKS and rows["bob"]["score"] < FULL_MARKS
    assert all(row["autograded"] and not row["needs_manual_grade"] for row in rows.values())
    course = homes / INSTRUCTOR / COURSE
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gradebook:
        bob = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "bob")
        lost = {g.name for g in bob.grades if g.score < g.max_score}
        assert lost == set(WRONG[BOBS_MISTAKE].loses)
        assert gradebook.find_submission(ASSIGNMENT, "ada").score == FULL_MARKS
    _, bob_cells = _scores(loop["students"]["bob"]["feedback"])
    assert rows["bob"]["score"] == sum(got for got, _ in bob_cells.values())


def test_feedback_from_the_formgrader_keeps_the_hidden_tests_hidden(loop):
    page = loop["students"]["bob"]["feedback"]
    text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)))
    shown = {line for line in hidden_test_lines(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
             if line in text}
    assert not shown, f"{len(shown)} hidden-test lines are in bob's feedback, e.g. {sorted(shown)[:3]}"
    assert "hidden tests ran here" in text
    assert "mathjax" not in page.lower() and "<math " in page  # equations render offline
