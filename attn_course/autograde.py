"""nbgrader's execution step, made safe against a notebook that ends its own kernel.

nbgrader gives a test cell full marks when its stored output shows no error. A cell that never ran
shows nothing, so a notebook that ends its kernel (``os._exit(0)``, ``exit()``, a signal) before the
tests would otherwise keep every point of the cells after it. :class:`GuardedExecute` marks every
cell after the kernel died with an error output instead: those parts score 0.

(A test cell whose error is hidden by a patched ``showtraceback`` is already caught by nbgrader's
own ``Execute``, which reads the kernel's execute reply; the hidden tests themselves refuse to run in
a kernel whose grading code was replaced, see :mod:`attn_course.gradekit`.)

``nbgrader_config.py`` puts it in place of nbgrader's ``Execute`` for ``nbgrader autograde``.
"""

from __future__ import annotations

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute

__all__ = ["GuardedExecute", "KERNEL_DIED"]

KERNEL_DIED = "KernelDied"


def _error_output(message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=KERNEL_DIED, evalue=message,
                        traceback=[f"{KERNEL_DIED}: {message}"])


class GuardedExecute(Execute):
    """nbgrader's ``Execute``; after the kernel dies, every remaining code cell records an error."""

    def preprocess(self, nb, resources=None, km=None):
        self._died_in = None
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:
            # Shutting the dead kernel down can raise again; the cells are already marked.
            return nb, resources or {}

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._died_in is not None:
            cell.outputs = [_error_output(
                f"not run: the kernel stopped while running cell {self._died_in}, so the tests "
                "from there on cannot have passed")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError as error:
            self._died_in = index
            cell.outputs = list(cell.get("outputs", [])) + [_error_output(
                f"the kernel stopped while running this cell ({error}); the cells after it were "
                "not run and score 0")]
            return cell, resources


def autograde_preprocessors() -> list:
    """nbgrader's own autograde steps, with :class:`GuardedExecute` in place of ``Execute``."""
    from nbgrader.converters import Autograde

    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    return [GuardedExecute if step is Execute else step for step in steps]
