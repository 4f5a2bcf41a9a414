"""Grading kernels forked from a warm process: the imports every graded notebook makes, paid once.

Every kernel the autograder starts is a new Python process that imports IPython, ipykernel and
PyTorch before the notebook's setup cell is done: about 2.5 s of CPU on a 2.5 GHz core, a quarter
of a typical grading. A *zygote* is a process that made those imports once (:data:`WARM`) and then
only forks. Each child:

* leaves the zygote's session (``setsid``: it leads its own process group, as a kernel started by
  jupyter_client does), takes the requester's stdout and stderr, and resets the signal handlers;
* applies the kernel caps of :mod:`attn_course.kernel_caps` (memory, file size, tasks) to itself;
* takes the kernel's working directory and environment, reseeds Python's ``random``, and becomes an
  ordinary ipykernel with the connection file the kernel manager wrote.

The child is a process of its own, like any kernel: nothing a notebook does there reaches the zygote
or another student's kernel. What differs from a kernel started from nothing is only that the
modules of :data:`WARM` are already imported when the first cell runs (a notebook's ``import torch``
finds it there), as they would be after the notebook's own setup cell.

:class:`attn_course.autograde.CappedKernelManager` forks its kernels here when the environment
variable :data:`ZYGOTE_ENV` names a zygote's socket and the kernel is this Python's ipykernel;
otherwise, or when the zygote cannot be reached, it starts the kernel from scratch as before.
Grading workers (:mod:`attn_course.grading_parallel`) each start one with :func:`start`. A zygote
ends when the process that started it does. It forks only while it runs a single thread, so it
needs ``OMP_NUM_THREADS=1`` (which grading workers set): otherwise importing torch starts an
OpenMP thread, the zygote refuses to serve, and kernels start from scratch.

Protocol (a Unix stream socket in a folder only its user can enter; the zygote serves only the
process that started it, checked with ``SO_PEERCRED``, so a kernel cannot ask it for an uncapped
process): the requester sends one JSON line ``{"argv", "cwd", "env",
"caps"}`` with its stdout and stderr as file descriptors (``SCM_RIGHTS``); the zygote answers
``pid <n>`` and, when that child ends, ``exit <status>`` (a negative status: killed by that signal).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

__all__ = ["FRESH_KERNELS_ENV", "ForkedKernel", "WARM", "ZYGOTE_ENV", "fork_kernel", "serve",
           "start"]

ZYGOTE_ENV = "ATTN_COURSE_ZYGOTE"
#: Set to 1, grading workers start no zygote: every kernel starts from scratch.
FRESH_KERNELS_ENV = "ATTN_COURSE_FRESH_KERNELS"
#: What a graded notebook imports before its first test: imported once, in the zygote.
WARM = ("IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "torch", "torch.nn.functional",
        "einops", "matplotlib", "attn_course", "attn_course.checks", "attn_course.mine")


# ---------------------------------------------------------------------------------------------------
# The zygote


def serve(path: str, parent: int) -> None:
    """Import :data:`WARM`, then fork a kernel for each request on the socket ``path`` until the
    process ``parent`` is gone."""
    import importlib

    if "" in sys.path:
        sys.path.remove("")  # as ipykernel_launcher does; the shell adds the cwd back itself
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in WARM:
        importlib.import_module(name)
    if _thread_count() > 1:  # forking a process with threads can deadlock its children
        raise SystemExit(f"attn_course zygote: the imports started threads ({_thread_count()}); "
                         "not forking")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".tmp")
    server.listen(64)
    os.replace(path + ".tmp", path)  # the socket appears only once it is ready
    children: dict[int, socket.socket] = {}
    # A child's end wakes the loop at once (through a signal wakeup fd), so its exit is reported
    # as soon as it happens; the timeout only bounds how late the zygote notices its parent is gone.
    wake, waker = socket.socketpair()
    for end in (wake, waker):
        end.setblocking(False)
    signal.set_wakeup_fd(waker.fileno())
    signal.signal(signal.SIGCHLD, lambda *_: None)
    try:
        while os.getppid() == parent:
            ready, _, _ = select.select([server, wake], [], [], 0.5)
            if wake in ready:
                while True:
                    try:
                        if not wake.recv(4096):
                            break
                    except BlockingIOError:
                        break
            if server in ready:
                connection, _ = server.accept()
                pid = _fork_one(connection, [server, wake, waker], children, parent)
                if pid:
                    children[pid] = connection
            _reap(children)
    finally:
        for connection in children.values():
            connection.close()
        server.close()
        for leftover in (path, os.path.dirname(path)):
            try:
                os.rmdir(leftover) if leftover != path else os.unlink(leftover)
            except OSError:
                pass


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def _fork_one(connection: socket.socket, own: list, children: dict, parent: int) -> int | None:
    try:
        if _peer_pid(connection) != parent:  # only the process that started it, never a kernel
            raise OSError("a request from another process")
        connection.settimeout(10)
        data, fds, _, _ = socket.recv_fds(connection, 1 << 20, 2)
        while not data.endswith(b"\n"):
            more = connection.recv(1 << 20)
            if not more:
                raise OSError("request cut short")
            data += more
        request = json.loads(data)
    except (OSError, ValueError):
        connection.close()
        return None
    pid = os.fork()
    if pid == 0:
        _become_kernel(request, fds, [*own, *children.values()], connection)
    for fd in fds:
        os.close(fd)
    try:
        connection.sendall(f"pid {pid}\n".encode())
    except OSError:
        pass  # the requester is gone; the child is reaped all the same
    return pid


def _peer_pid(connection: socket.socket) -> int:
    import struct

    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                        struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[0]


def _reap(children: dict) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is not None:
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            try:
                connection.sendall(f"exit {code}\n".encode())
            except OSError:
                pass
            connection.close()


def _become_kernel(request: dict, fds: list, inherited: list, connection: socket.socket) -> None:
    """In the forked child: never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sock in (*inherited, connection):
            sock.close()
        os.setsid()
        # The handlers a new Python process starts with: SIGINT raises KeyboardInterrupt, SIGPIPE
        # and SIGXFSZ are ignored (a write to a closed socket or past the file-size cap raises
        # OSError instead of killing the kernel), the others do what the system does.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for number in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(number, signal.SIG_IGN)
        for number in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(number, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        for target, fd in zip((1, 2), fds):
            os.dup2(fd, target)
        caps = request.get("caps")
        if caps:
            from . import kernel_caps

            kernel_caps.apply_limits(caps["memory"], caps["file_size"], caps["tasks"], caps["group"])
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import random

        random.seed()  # a new process would seed from the system, not share the zygote's state
        from ipykernel.kernelapp import IPKernelApp

        argv = request["argv"]
        if argv[:2] == ["-m", "ipykernel_launcher"]:  # what `python -m ipykernel_launcher` parses
            argv = argv[2:]
        sys.argv = [sys.executable, *argv]
        IPKernelApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 (report it and end the child, never the zygote's loop)
        import traceback

        traceback.print_exc()
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def start(timeout: float = 120.0) -> str | None:
    """Start a zygote for this process; returns its socket's path, or None if it did not come up
    within ``timeout`` seconds (kernels are then started from scratch)."""
    if not sys.platform.startswith("linux"):
        return None  # it checks who asks with SO_PEERCRED and counts threads in /proc
    folder = tempfile.mkdtemp(prefix="attn-zygote-")  # mode 0700
    path = os.path.join(folder, "socket")
    code = ("import sys; from attn_course._startup import skip_iri_grammars; skip_iri_grammars(); "
            "from attn_course.kernel_zygote import serve; serve(sys.argv[1], int(sys.argv[2]))")
    process = subprocess.Popen([sys.executable, "-c", code, path, str(os.getpid())],
                               stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return path
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    shutil.rmtree(folder, ignore_errors=True)
    return None


# ---------------------------------------------------------------------------------------------------
# The requester (in the kernel manager's process)


class ForkedKernel:
    """What jupyter_client's ``LocalProvisioner`` expects of its ``Popen``, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, connection: socket.socket, pid: int):
        self._connection, self.pid, self.returncode = connection, pid, None
        self._buffer = b""

    def poll(self) -> int | None:
        if self.returncode is None:
            self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            self._read(left)
        return self.returncode

    def send_signal(self, number: int) -> None:
        """Like ``Popen.send_signal``: nothing once the kernel has ended."""
        if self.poll() is None:
            try:
                os.kill(self.pid, number)
            except ProcessLookupError:
                pass  # it ended after the poll

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def _read(self, timeout: float | None) -> None:
        ready, _, _ = select.select([self._connection], [], [], timeout)
        if not ready:
            return
        chunk = self._connection.recv(4096)
        self._buffer += chunk
        for line in self._buffer.split(b"\n"):
            if line.startswith(b"exit "):
                self.returncode = int(line.split()[1])
        if self.returncode is None and not chunk:
            # The zygote is gone (a notebook may have killed its parent): the kernel was
            # orphaned, so ask the system whether it still runs.
            try:
                os.kill(self.pid, 0)
                time.sleep(0.05)
            except ProcessLookupError:
                self.returncode = -signal.SIGKILL
        if self.returncode is not None:
            self._connection.close()


def fork_kernel(path: str, argv: list[str], cwd: str, env: dict, caps: dict | None) -> ForkedKernel:
    """Ask the zygote at ``path`` for a kernel ``python <argv>``; raises OSError if it cannot."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(10)
        connection.connect(path)
        request = json.dumps({"argv": argv, "cwd": str(cwd), "env": dict(env), "caps": caps})
        socket.send_fds(connection, [request.encode() + b"\n"],
                        [1, 2])
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = connection.recv(64)
            if not chunk:
                raise OSError("the zygote closed the connection without starting a kernel")
            answer += chunk
        pid = int(answer.split()[1])
    except (OSError, ValueError, IndexError):
        connection.close()
        raise
    connection.settimeout(None)
    return ForkedKernel(connection, pid)
