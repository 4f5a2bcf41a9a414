"""nbgrader's execution step, made safe against a notebook that ends its own kernel.

nbgrader gives a test cell full marks when its stored output shows no error. A cell that never ran
shows nothing, so a notebook that ends its kernel (``os._exit(0)``, ``exit()``, a signal) before the
tests would otherwise keep every point of the cells after it. :class:`GuardedExecute` marks every
cell after the kernel died with an error output instead: those parts score 0.

Before each graded cell it also runs :func:`attn_course.gradekit.probe` and reads its one line back
here, outside the kernel: a notebook that installed something to rewrite or silence the cells that
follow (IPython input or AST transformers, event hooks, a custom exception handler, a tracer), or
that replaced grading code, gets an error in that graded cell instead of a run. Such a notebook
controls the code of the test cells themselves, so only a check from outside can see it.

(A test cell whose error is hidden by a patched ``showtraceback`` is already caught by nbgrader's
own ``Execute``, which reads the kernel's execute reply; the hidden tests themselves refuse to run in
a kernel whose grading code was replaced, see :mod:`attn_course.gradekit`.)

Each kernel starts through :class:`CappedKernelManager`, under the caps of
:mod:`attn_course.kernel_caps` (memory, file size, processes), and whatever it leaves running is
killed when it shuts down: a submission that eats memory, fills the disk or forks loses its own
cells, never another student's grading.

``nbgrader_config.py`` puts it in place of nbgrader's ``Execute`` for ``nbgrader autograde``.
"""

from __future__ import annotations

import os
import secrets
import sys
import uuid

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

from . import kernel_caps

__all__ = ["CappedKernelManager", "GuardedExecute", "KERNEL_DIED", "TAMPERED"]

KERNEL_DIED = "KernelDied"
TAMPERED = "GradingIntegrityError"


def _error_output(message: str, name: str = KERNEL_DIED) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message,
                        traceback=[f"{name}: {message}"])


def _is_graded(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade") and meta.get("points"))


class CappedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start under :mod:`attn_course.kernel_caps` and leave nothing
    running after their shutdown."""

    memory_limit = Integer(4 * 2**30, help="bytes of heap (RLIMIT_DATA) a kernel may use; 0: no cap"
                           ).tag(config=True)
    file_size_limit = Integer(256 * 2**20, help="largest file (bytes) a kernel may write; 0: no cap"
                              ).tag(config=True)
    task_limit = Integer(256, help="processes and threads a kernel may run at once; 0: no cap"
                         ).tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        self._cap_group = f"kernel-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        return [sys.executable, str(kernel_caps.LAUNCHER),
                "--memory", str(self.memory_limit), "--file-size", str(self.file_size_limit),
                "--tasks", str(self.task_limit), "--group", self._cap_group, "--", *command]

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        pgid = getattr(self.provisioner, "pgid", None) if self.provisioner else None
        await super()._async_cleanup_resources(restart=restart)
        group = getattr(self, "_cap_group", None)
        if group and not restart:
            kernel_caps.kill_group(group, pgid)

    cleanup_resources = _async_cleanup_resources  # what shutdown_kernel and nbclient call


class GuardedExecute(Execute):
    """nbgrader's ``Execute``, with a check from outside the kernel before each graded cell (see the
    module docstring); after the kernel dies, every remaining code cell records an error. Its
    kernels are :class:`CappedKernelManager`'s."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", CappedKernelManager)
        super().__init__(*args, **kwargs)

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
            if _is_graded(cell):
                verdict = self._probe(resources, index)
                if verdict != "clean":
                    cell.outputs = [_error_output(
                        f"not run: before this cell the notebook changed how cells run or what the "
                        f"tests rely on ({verdict}); graded cells from here on score 0", TAMPERED)]
                    return cell, resources
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError as error:
            self._died_in = index
            cell.outputs = list(cell.get("outputs", [])) + [_error_output(
                f"the kernel stopped while running this cell ({error}); the cells after it were "
                "not run and score 0")]
            return cell, resources

    def _probe(self, resources, index) -> str:
        """Run gradekit.probe in the kernel; ``"clean"`` or what the notebook changed."""
        nonce = secrets.token_hex(12)
        code = f'__import__("attn_course.gradekit", fromlist=["probe"]).probe("{nonce}")'
        printed = []

        def collect(message):
            if message["msg_type"] == "stream":
                printed.append(message["content"].get("text", ""))

        try:
            run_sync(self.kc.execute_interactive)(code, store_history=False, output_hook=collect,
                                                  timeout=self.timeout or 60)
        except TimeoutError:
            run_sync(self.km.interrupt_kernel)()
            return "the check before the cell did not finish"
        return _probe_verdict("".join(printed), nonce)


def _probe_verdict(text: str, nonce: str) -> str:
    for line in text.splitlines():
        if line.startswith(f"{nonce}:"):
            return line[len(nonce) + 1:] or "no verdict"
    return "the check before the cell printed nothing: its code did not run as written"


def autograde_preprocessors() -> list:
    """nbgrader's own autograde steps, with :class:`GuardedExecute` in place of ``Execute``."""
    from nbgrader.converters import Autograde

    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    return [GuardedExecute if step is Execute else step for step in steps]
