"""A student's Lab shows the student's nbgrader tools only; an instructor's shows them all."""

import json

import pytest

from attn_course.labsetup import INSTRUCTOR_ONLY, configure


@pytest.fixture
def user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    return tmp_path


def _disabled_plugins(folder):
    page = json.loads((folder / "labconfig" / "page_config.json").read_text())
    return {name for name, off in page.get("disabledExtensions", {}).items() if off}


def _server_extensions(folder):
    found = {}
    for path in sorted((folder / "jupyter_server_config.d").glob("*.json")):
        found.update(json.loads(path.read_text())["ServerApp"]["jpserver_extensions"])
    return found


def test_student_sees_no_instructor_tools_and_instructor_gets_them_back(user_config):
    configure("student", level="user")
    assert _disabled_plugins(user_config) == {plugin for plugin, _ in INSTRUCTOR_ONLY}
    assert _server_extensions(user_config) == {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False}
    configure("instructor", level="user")
    assert _disabled_plugins(user_config) == set()
    assert all(_server_extensions(user_config).values())


def test_unknown_role_is_refused():
    with pytest.raises(ValueError, match="'student' or 'instructor'"):
        configure("teacher")
