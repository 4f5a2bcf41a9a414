"""Which of nbgrader's JupyterLab tools a course environment shows: a student's or an instructor's.

Installing nbgrader switches on all of its Lab tools, the instructor's included (*Formgrader*,
*Create Assignment*, the course list). :func:`configure` keeps a student's Lab to the student's
tools (the *Assignments* list and the *Validate* button) or gives an instructor everything, by
enabling and disabling nbgrader's Lab plugins and server extensions with Jupyter's own commands.
``attn-course lab student`` / ``attn-course lab instructor`` call it.
"""

from __future__ import annotations

__all__ = ["INSTRUCTOR_ONLY", "configure"]

# (Lab plugin, server extension or None) of the tools only an instructor needs.
INSTRUCTOR_ONLY = [
    ("@jupyter/nbgrader:formgrader", "nbgrader.server_extensions.formgrader"),
    ("@jupyter/nbgrader:create-assignment", None),
    ("@jupyter/nbgrader:course-list", "nbgrader.server_extensions.course_list"),
]
_LEVELS = {"sys_prefix": "--sys-prefix", "user": "--user"}


def configure(role: str, *, level: str = "sys_prefix") -> list[str]:
    """Show ``role``'s tools (``"student"`` or ``"instructor"``) in this environment's Lab.

    ``level``: where Jupyter keeps the setting: ``"sys_prefix"`` (this environment, the default)
    or ``"user"`` (the user's Jupyter configuration folder). Returns what it switched, as the
    equivalent ``jupyter`` commands.
    """
    from jupyter_server.extension.serverextension import toggle_server_extension_python
    from jupyterlab.commands import disable_extension, enable_extension

    if role not in ("student", "instructor"):
        raise ValueError(f"role must be 'student' or 'instructor', got {role!r}")
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {sorted(_LEVELS)}, got {level!r}")
    enabled = role == "instructor"
    action = "enable" if enabled else "disable"
    done = []
    for plugin, server in INSTRUCTOR_ONLY:
        (enable_extension if enabled else disable_extension)(plugin, level=level)
        done.append(f"jupyter labextension {action} --level={level} {plugin}")
        if server:
            toggle_server_extension_python(server, enabled, user=level == "user",
                                           sys_prefix=level == "sys_prefix")
            done.append(f"jupyter server extension {action} {_LEVELS[level]} {server}")
    return done
