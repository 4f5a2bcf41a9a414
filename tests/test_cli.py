"""The instructor's command line: what it prints and how it fails."""

import shutil
from pathlib import Path

import pytest

from attn_course.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / "01_se", tmp_path / "solutions" / "01_se")
    return tmp_path


def test_release_writes_the_student_notebook(course, capsys):
    assert main(["--root", str(course), "release", "01_se"]) == 0
    written = course / "notebooks" / "01_se" / "01_se.ipynb"
    assert f"wrote {written}" in capsys.readouterr().out
    assert written.read_bytes() == (ROOT / "notebooks" / "01_se" / "01_se.ipynb").read_bytes()


def test_unknown_assignment_is_named(course, capsys):
    assert main(["--root", str(course), "release", "02_eca"]) == 2
    assert "no such assignment in solutions/: 02_eca; available: 01_se" in capsys.readouterr().err


def test_not_a_course_folder(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "release"]) == 2
    assert "expected nbgrader_config.py and solutions/" in capsys.readouterr().err


def test_grade_explains_the_expected_layout(course, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["--root", str(course), "grade", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err

    flat = tmp_path / "flat" / "ada"
    flat.mkdir(parents=True)
    (flat / "01_se.ipynb").write_text("{}")
    assert main(["--root", str(course), "grade", str(tmp_path / "flat"),
                 "--workdir", str(tmp_path / "work")]) == 2
    assert "<student>/<assignment>/<notebook>.ipynb" in capsys.readouterr().err

    wrong = tmp_path / "wrong" / "ada" / "01-se"
    wrong.mkdir(parents=True)
    assert main(["--root", str(course), "grade", str(tmp_path / "wrong"),
                 "--workdir", str(tmp_path / "work")]) == 2
    assert "unknown assignment '01-se'; expected one of 01_se" in capsys.readouterr().err


def test_feedback_needs_a_graded_workdir(course, tmp_path, capsys):
    assert main(["--root", str(course), "feedback", "--workdir", str(tmp_path / "empty")]) == 2
    assert "run `attn-course grade" in capsys.readouterr().err


def test_grade_never_empties_a_folder_it_did_not_make(course, tmp_path, capsys):
    submissions = tmp_path / "subs" / "ada" / "01_se"
    submissions.mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "01_se" / "01_se.ipynb", submissions)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    assert main(["--root", str(course), "grade", str(tmp_path / "subs"),
                 "--workdir", str(precious)]) == 2
    assert "is not empty and was not made by `attn-course grade`" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "mine"


def test_failed_release_leaves_the_committed_release_untouched(course, capsys):
    released = course / "notebooks" / "01_se" / "01_se.ipynb"
    released.parent.mkdir(parents=True)
    released.write_text("an older release")  # what a regeneration of 01_se would replace
    before = released.read_bytes()
    broken = course / "solutions" / "99_broken"
    broken.mkdir()
    (broken / "99_broken.ipynb").write_text("this is not a notebook")
    assert main(["--root", str(course), "release"]) == 2
    assert "nbgrader failed to generate the release of 99_broken" in capsys.readouterr().err
    assert released.read_bytes() == before
