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

Three things make grading cheaper without changing any score:

* where the grading worker started a zygote (:mod:`attn_course.kernel_zygote`), each kernel is
  forked from it instead of importing IPython, ipykernel and torch from nothing;
* the code cells after the notebook's last graded or answer cell are not run (``skip_after_last_graded``):
  nothing they do can change an output that was already recorded, so they cannot change a grade.
  They get a one-line note instead of outputs, so the feedback says why they are empty;
* figures are not rendered to images (``render_figures``): a plotting cell still runs, and its
  figure shows as matplotlib's one-line text (``<Figure size 640x480 with 1 Axes>``).

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
from traitlets import Bool, Integer

from . import kernel_caps, kernel_zygote

__all__ = ["CappedKernelManager", "GuardedExecute", "KERNEL_DIED", "TAMPERED"]

KERNEL_DIED = "KernelDied"
TAMPERED = "GradingIntegrityError"
#: IPython's inline backend with no image format: a figure displays as its one-line text.
NO_FIGURE_IMAGES = "--InlineBackend.figure_formats=set()"
NOT_RUN_NOTE = ("(not run while autograding: no graded cell comes after this one, so it cannot "
                "change a score; run the notebook yourself to see its output)\n")


def _same_python(executable: str) -> bool:
    """Whether ``executable`` (a kernel spec's ``python``) is the interpreter running here."""
    import shutil

    found = executable if os.path.isabs(executable) else shutil.which(executable)
    # Paths, not files: a virtual environment's python is a link to the base interpreter.
    return found is not None and os.path.abspath(found) == os.path.abspath(sys.executable)


def _error_output(message: str, name: str = KERNEL_DIED) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message,
                        traceback=[f"{name}: {message}"])


def _is_graded(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade") and meta.get("points"))


def last_graded_cell(nb) -> int | None:
    """Index of the last cell that is graded or holds an answer (nbgrader's ``grade``,
    ``solution`` or ``task``), of any type; None when there is none."""
    found = None
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("solution") or meta.get("task"):
            found = index
    return found


class CappedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start under :mod:`attn_course.kernel_caps` and leave nothing
    running after their shutdown; forked from a zygote (:mod:`attn_course.kernel_zygote`) when the
    environment names one."""

    memory_limit = Integer(4 * 2**30, help="bytes of heap (RLIMIT_DATA) a kernel may use; 0: no cap"
                           ).tag(config=True)
    file_size_limit = Integer(256 * 2**20, help="largest file (bytes) a kernel may write; 0: no cap"
                              ).tag(config=True)
    task_limit = Integer(256, help="processes and threads a kernel may run at once; 0: no cap"
                         ).tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        self._cap_group = f"kernel-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._kernel_command = command
        return [sys.executable, str(kernel_caps.LAUNCHER),
                "--memory", str(self.memory_limit), "--file-size", str(self.file_size_limit),
                "--tasks", str(self.task_limit), "--group", self._cap_group, "--", *command]

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        """Fork the kernel from the zygote (:mod:`attn_course.kernel_zygote`) when there is one and
        the kernel is this Python's ipykernel; otherwise start it from scratch."""
        forked = self._fork_from_zygote(kw)
        if forked is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = forked, forked.pid, forked.pid
        provisioner.cwd = kw.get("cwd") or os.getcwd()
        self._reconcile_connection_info(provisioner.connection_info)

    def _fork_from_zygote(self, kw):
        path = os.environ.get(kernel_zygote.ZYGOTE_ENV)
        command = getattr(self, "_kernel_command", [])
        if not path or command[1:3] != ["-m", "ipykernel_launcher"] or not _same_python(command[0]):
            return None
        caps = {"memory": self.memory_limit, "file_size": self.file_size_limit,
                "tasks": self.task_limit, "group": self._cap_group}
        env = {k: v for k, v in (kw.get("env") or os.environ).items()
               if k != kernel_zygote.ZYGOTE_ENV}
        try:
            return kernel_zygote.fork_kernel(path, command[1:], kw.get("cwd") or os.getcwd(),
                                             env, caps)
        except OSError as error:
            os.environ.pop(kernel_zygote.ZYGOTE_ENV, None)  # gone: the next kernels start as usual
            self.log.warning("attn_course: no kernel from the zygote (%s); kernels start from "
                             "scratch from now on", error)
            return None

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

    skip_after_last_graded = Bool(True, help="do not run the code cells after the last graded "
                                  "or answer cell (they cannot change a score)").tag(config=True)
    render_figures = Bool(False, help="render matplotlib figures to images in the graded "
                          "notebook (off: a figure shows as one line of text)").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", CappedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._died_in = None
        if not self.render_figures and NO_FIGURE_IMAGES not in self.extra_arguments:
            self.extra_arguments = [*self.extra_arguments, NO_FIGURE_IMAGES]
        last = last_graded_cell(nb) if self.skip_after_last_graded else None
        self._run_up_to = len(nb.cells) - 1 if last is None else last
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:
            # Shutting the dead kernel down can raise again; the cells are already marked.
            return nb, resources or {}

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if index > self._run_up_to:
            cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=NOT_RUN_NOTE)]
            cell.execution_count = None
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
