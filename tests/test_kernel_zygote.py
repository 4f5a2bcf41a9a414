"""Grading kernels forked from a warm zygote (attn_course/kernel_zygote.py) behave as kernels
started from scratch: their own process, session, caps, folder and environment, interrupts and
deaths seen by the autograder, nothing shared between two of them; and grading goes on from
scratch when the zygote is missing or gone."""

from __future__ import annotations

import os
import sys
import time

import nbformat
import pytest

from attn_course import kernel_zygote
from attn_course.autograde import KERNEL_DIED, CappedKernelManager, GuardedExecute

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                                reason="the zygote forks (Linux)")


@pytest.fixture(scope="module")
def zygote():
    path = kernel_zygote.start()
    assert path, "the zygote did not start"
    yield path


@pytest.fixture
def with_zygote(zygote, monkeypatch):
    monkeypatch.setenv(kernel_zygote.ZYGOTE_ENV, zygote)
    return zygote


def _run(sources, folder, timeout=60, **options):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    GuardedExecute(timeout=timeout, **options).preprocess(nb, {"metadata": {"path": str(folder)}})
    return nb


def _text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _zygote_pid(path):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if path.encode() in fh.read():
                        return int(entry)
            except OSError:
                pass
    return None


def test_a_forked_kernel_is_a_kernel_of_its_own(with_zygote, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_TEST_MARKER", "seen")
    zygote_pid = _zygote_pid(with_zygote)
    nb = _run([
        "import os, sys, resource\n"
        "print('warm', 'torch' in sys.modules)\n"
        "print('parent', os.getppid())\n"
        "print('leader', os.getpgid(0) == os.getpid() == os.getsid(0))\n"
        "print('cwd', os.getcwd())\n"
        "print('marker', os.environ.get('ATTN_TEST_MARKER'))\n"
        "print('data', resource.getrlimit(resource.RLIMIT_DATA)[0])\n"
        "print('fsize', resource.getrlimit(resource.RLIMIT_FSIZE)[0])\n"
        "print('pathdir', any(p.rstrip('/').endswith('attn_course') for p in sys.path))",
    ], tmp_path)
    lines = dict(line.split(" ", 1) for line in _text(nb.cells[0]).splitlines())
    assert lines["warm"] == "True"                        # forked: torch was imported before
    assert int(lines["parent"]) == zygote_pid
    assert lines["leader"] == "True"                      # its own session and process group
    assert os.path.samefile(lines["cwd"], tmp_path)
    assert lines["marker"] == "seen"                      # the kernel manager's environment
    assert int(lines["data"]) == CappedKernelManager.memory_limit.default_value
    assert int(lines["fsize"]) == CappedKernelManager.file_size_limit.default_value
    assert lines["pathdir"] == "False"


def test_what_one_kernel_changes_the_next_does_not_see(with_zygote, tmp_path):
    first = _run(["import torch\ntorch.allclose = None\nimport random\nprint(random.random())"],
                 tmp_path)
    second = _run(["import torch, random\nprint(torch.allclose is None)\nprint(random.random())"],
                  tmp_path)
    assert _text(second.cells[0]).splitlines()[0] == "False"
    assert _text(first.cells[0]).strip() != _text(second.cells[0]).splitlines()[1]


def test_interrupts_and_deaths_reach_the_autograder(with_zygote, tmp_path):
    nb = _run(["import time\ntime.sleep(60)", "print('after the interrupt')",
               "import os\nos._exit(3)", "print('never')"], tmp_path, timeout=3)
    assert [o.ename for o in nb.cells[0].outputs if o.output_type == "error"], "no timeout error"
    assert _text(nb.cells[1]) == "after the interrupt\n"
    assert [o.ename for o in nb.cells[3].outputs] == [KERNEL_DIED]


def test_a_kernel_cannot_ask_the_zygote_for_a_process(with_zygote, tmp_path):
    nb = _run([f"from attn_course import kernel_zygote\n"
               f"try:\n"
               f"    kernel_zygote.fork_kernel({with_zygote!r}, ['-c', 'pass'], '.', {{}}, None)\n"
               f"except OSError as error:\n"
               f"    print('refused')"], tmp_path)
    assert _text(nb.cells[0]) == "refused\n", nb.cells[0].outputs


def test_a_kernel_that_kills_the_zygote_loses_only_its_own_cells(tmp_path, monkeypatch):
    path = kernel_zygote.start()
    monkeypatch.setenv(kernel_zygote.ZYGOTE_ENV, path)
    nb = _run(["import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('still here')"],
              tmp_path)
    assert _text(nb.cells[0]) == "still here\n"
    # The zygote is gone (its socket is left, with no one listening): the next kernel starts
    # from scratch, and grading goes on.
    after = _run(["import sys\nprint('torch' in sys.modules)"], tmp_path)
    assert _text(after.cells[0]) == "False\n"


def test_without_a_zygote_kernels_start_from_scratch(tmp_path, monkeypatch):
    monkeypatch.setenv(kernel_zygote.ZYGOTE_ENV, str(tmp_path / "no-such-socket"))
    nb = _run(["import sys\nprint('torch' in sys.modules)"], tmp_path)
    assert _text(nb.cells[0]) == "False\n"


def test_the_zygote_ends_with_the_process_that_started_it(tmp_path):
    import subprocess

    code = ("import sys; from attn_course import kernel_zygote; "
            "print(kernel_zygote.start(), flush=True)")
    path = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert path and path != "None"
    deadline = time.monotonic() + 10
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(path), "the zygote outlived its parent"


def test_signals_to_an_ended_kernel_are_ignored_as_popen_does(zygote, tmp_path):
    """jupyter_client kills a kernel that already died (a notebook's ``exit()``): like ``Popen``,
    a forked kernel takes that quietly instead of raising ProcessLookupError."""
    kernel = kernel_zygote.fork_kernel(zygote, ["-m", "ipykernel_launcher", "--no-such-option=1"],
                                       str(tmp_path), dict(os.environ), None)
    assert kernel.wait(timeout=60) != 0   # the kernel refused the option and ended
    kernel.kill()
    kernel.terminate()
    kernel.send_signal(2)
    assert kernel.poll() == kernel.returncode


def test_a_forked_kernel_has_the_signal_handlers_of_a_new_python(with_zygote, tmp_path):
    nb = _run(["import signal\n"
               "print(signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN,\n"
               "      signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN,\n"
               "      signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL)"], tmp_path)
    assert _text(nb.cells[0]) == "True True True\n"
