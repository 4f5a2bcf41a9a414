"""The course gradebook can live outside the workdir (SQLite file, or PostgreSQL for a course shared
between machines): grading twice replaces a submission's grades rather than adding to them, the
students the course already knew keep their details, and feedback reads the same gradebook."""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from attn_course import grading
from tests.grading.tiny_course import POINTS, make_course, make_submission

WRONG = "def add(a, b):\n    return a * b\n"   # add(1, 2) == 2: both tests fail


def _grades(url):
    """{student: [(cell, score)]} and the number of submissions, read with nbgrader's own API."""
    from nbgrader.api import Gradebook

    with Gradebook(url, "attn-course") as gb:
        found = {}
        count = 0
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                count += 1
                found[sub.student.id] = sorted((g.name, g.score) for nb in sub.notebooks
                                               for g in nb.grades if g.max_score)
        students = {s.id: s.first_name for s in gb.students}
    return found, count, students


def _grade_twice_into(url, tmp_path):
    """Grade a class into ``url``; then regrade one student's fixed submission, in a new workdir."""
    from nbgrader.api import Gradebook

    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    make_submission(subs, "ada")
    make_submission(subs, "bob", WRONG)
    with Gradebook(url, "attn-course") as gb:   # the course knew bob before this term's grading
        gb.add_student("bob", first_name="Robert")
    first = grading.grade(subs, course, tmp_path / "work1", db_url=url, jobs=2)
    assert {s.student: s.score for s in first} == {"ada": POINTS, "bob": 0}
    fixed = tmp_path / "regrade"
    make_submission(fixed, "bob")                # bob's regrade request, fixed; only his
    second = grading.grade(fixed, course, tmp_path / "work2", db_url=url)
    assert {s.student: s.score for s in second} == {"bob": POINTS}
    found, count, students = _grades(url)
    assert count == 2, "a regraded submission must replace the old one, not sit beside it"
    assert found["bob"] == [("test_more", 2.0), ("test_small", 1.0)]
    assert students == {"ada": None, "bob": "Robert"}
    assert found["ada"] == [("test_more", 2.0), ("test_small", 1.0)]  # kept from the first run
    reports = grading.feedback(tmp_path / "work2", course, db_url=url)
    assert [p.parent.parent.name for p in reports] == ["bob"]
    assert "Score: 3.0 / 3.0" in reports[0].read_text()
    assert not (tmp_path / "work2" / "gradebook.db").exists() or \
        _grades(f"sqlite:///{tmp_path / 'work2' / 'gradebook.db'}")[1] == 0


def _postgres_here() -> bool:
    import importlib.util

    return bool(shutil.which("initdb") and shutil.which("pg_ctl")
                and importlib.util.find_spec("psycopg"))


@pytest.mark.skipif(_postgres_here(), reason="PostgreSQL is installed: test_a_postgresql_gradebook "
                                             "runs the same checks against a server")
def test_an_sqlite_gradebook_outside_the_workdir(tmp_path):
    _grade_twice_into(f"sqlite:///{tmp_path / 'course.db'}", tmp_path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres(request):
    """A PostgreSQL server of our own on loopback, when PostgreSQL and psycopg are installed."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL is not installed here (no initdb/pg_ctl on PATH)")
    pytest.importorskip("psycopg", reason="psycopg (PostgreSQL driver) is not installed")
    home = Path(tempfile.mkdtemp(prefix="attn-pg-"))  # pytest's tmp folders are private to root
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    data = home / "pgdata"
    data.mkdir()
    as_user = []
    if os.geteuid() == 0:   # PostgreSQL refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root and no runuser to start PostgreSQL as another user")
        as_user = ["runuser", "-u", "nobody", "--"]
        os.chmod(home, 0o755)
        shutil.chown(data, "nobody")
    port = _free_port()
    made = subprocess.run(as_user + [initdb, "-D", str(data), "-A", "trust", "-U", "grader"],
                          capture_output=True, text=True)
    if made.returncode:
        pytest.skip(f"initdb could not make a database cluster: {made.stderr.strip()[-300:]}")
    started = subprocess.run(as_user + [pg_ctl, "-D", str(data), "-w", "-t", "30", "-l",
                                        str(data / "server.log"), "-o",
                                        f"-h 127.0.0.1 -p {port} -k {data}", "start"],
                             capture_output=True, text=True)
    if started.returncode:
        log = (data / "server.log").read_text() if (data / "server.log").exists() else ""
        pytest.skip(f"PostgreSQL did not start: {(started.stderr + log).strip()[-300:]}")
    try:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=grader dbname=postgres",
                             autocommit=True) as db:
            db.execute("CREATE DATABASE course")
        yield f"postgresql+psycopg://grader@127.0.0.1:{port}/course"
    finally:
        subprocess.run(as_user + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)


def test_a_postgresql_gradebook(postgres, tmp_path):
    _grade_twice_into(postgres, tmp_path)
