"""Caps on what one graded notebook's kernel may use, so a submission can only harm itself.

The autograder (:class:`attn_course.autograde.GuardedExecute`) starts each kernel through
:class:`attn_course.autograde.CappedKernelManager`, which puts this file, run as a script, in front
of the kernel's command::

    python .../attn_course/kernel_caps.py --memory BYTES --file-size BYTES --tasks N --group NAME -- <kernel command>

(It is run by path and imports only the standard library: importing the package would import torch
once more for every kernel.)

The launcher applies the caps to itself and then *becomes* the kernel (``os.execv``), so they hold
for the kernel and everything it starts:

* **memory**: ``RLIMIT_DATA`` (the heap and anonymous mappings, where tensors live). An allocation
  past it fails inside the cell (``MemoryError``, or torch's "can't allocate memory"): that cell
  errors, the kernel lives on, and no other process is pushed into swap or the OOM killer.
* **file size**: ``RLIMIT_FSIZE``. Python ignores ``SIGXFSZ``, so a write past it raises
  ``OSError`` (file too large) in the cell instead of filling the disk.
* **tasks** (processes and threads): a ``pids`` control group of its own when the machine lets us
  make one (Linux, cgroup v1 or v2, writable: usual for root in a container or a grading VM); else,
  for a user other than root, ``RLIMIT_NPROC`` counted on top of what that user already runs. A
  ``fork`` past the cap fails in the cell (``BlockingIOError``); a fork bomb stays inside its group.
  Root without a writable cgroup gets no task cap (the kernel's start says so on its stderr).

When the kernel is shut down, the manager's ``cleanup_resources`` kills whatever it left
behind (its process group, and every task still in its control group) and removes the group, so
a background process started by a submission does not outlive its grading.

Defaults are in ``CappedKernelManager``; ``nbgrader_config.py`` may change them, e.g.
``c.CappedKernelManager.memory_limit = 8 * 2**30``.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import time
from pathlib import Path

__all__ = ["apply_limits", "groups_root", "kill_group", "main", "sweep_orphans", "LAUNCHER"]

LAUNCHER = Path(__file__)  # run by path: importing the attn_course package would import torch

_GROUP_PARENT = "attn-course-kernels"


def groups_root() -> Path | None:
    """The folder where the kernels' pids control groups are made (None where none can be)."""
    v1 = Path("/sys/fs/cgroup/pids")
    if v1.is_dir() and os.access(v1, os.W_OK):
        return v1 / _GROUP_PARENT
    v2 = Path("/sys/fs/cgroup")
    controllers = v2 / "cgroup.controllers"
    if controllers.is_file() and "pids" in controllers.read_text().split() and os.access(v2, os.W_OK):
        return v2 / _GROUP_PARENT
    return None


def _cgroup_dir(name: str) -> Path | None:
    """Where the pids control group called ``name`` is (or can be) made."""
    root = groups_root()
    return None if root is None else root / name


def _enter_cgroup(name: str, tasks: int) -> bool:
    """Make the group ``name`` with ``pids.max = tasks`` and move this process into it."""
    group = _cgroup_dir(name)
    if group is None:
        return False
    try:
        group.parent.mkdir(exist_ok=True)
        if group.parent.parent.name == "cgroup":   # v2: the parent must hand the controller down
            subtree = group.parent / "cgroup.subtree_control"
            if "pids" not in subtree.read_text().split():
                subtree.write_text("+pids")
        group.mkdir(exist_ok=True)
        (group / "pids.max").write_text(str(tasks))
        (group / "cgroup.procs").write_text(str(os.getpid()))
        return True
    except OSError:
        return False


def _user_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


def apply_limits(memory: int, file_size: int, tasks: int, group: str) -> str:
    """Cap this process (and what it starts); returns how the task cap is enforced."""
    for limit, value in ((resource.RLIMIT_DATA, memory), (resource.RLIMIT_FSIZE, file_size)):
        if value > 0:
            hard = resource.getrlimit(limit)[1]
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (value, hard))
    if tasks <= 0:
        return "none asked"
    if _enter_cgroup(group, tasks):
        return "cgroup"
    if os.geteuid() != 0 and sys.platform.startswith("linux"):
        allowed = _user_process_count() + tasks
        hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
        if hard != resource.RLIM_INFINITY:
            allowed = min(allowed, hard)
        resource.setrlimit(resource.RLIMIT_NPROC, (allowed, hard))
        return "rlimit"
    return "none available"


def kill_group(group: str, pgid: int | None) -> None:
    """Kill every task left in the control group ``group`` and remove it; without such a group,
    kill the kernel's process group ``pgid`` instead (a fork that left the group by ``setsid``
    escapes that, which is why the control group comes first)."""
    path = _cgroup_dir(group)
    if path is None or not path.is_dir():
        if pgid:  # the kernel was just reaped, so its group id is not yet anyone else's
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return
    for _ in range(100):
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            break
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)
    try:
        path.rmdir()
    except OSError:
        pass


def sweep_orphans() -> int:
    """Kill the leftovers of kernels whose grading process is gone (it was killed, or a run was
    stopped): every group ``kernel-<pid>-…`` whose ``pid`` no longer runs. Returns how many."""
    root = groups_root()
    if root is None or not root.is_dir():
        return 0
    swept = 0
    for group in root.glob("kernel-*-*"):
        try:
            os.kill(int(group.name.split("-")[1]), 0)
            continue  # its grader still runs
        except ProcessLookupError:
            pass
        except (ValueError, PermissionError):
            continue
        kill_group(group.name, None)
        swept += 1
    return swept


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="kernel_caps.py",
                                     description="Start a command under attn-course's kernel caps.")
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--file-size", type=int, default=0)
    parser.add_argument("--tasks", type=int, default=0)
    parser.add_argument("--group", default=f"kernel-{os.getpid()}")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("expected the kernel's command after --")
    how = apply_limits(args.memory, args.file_size, args.tasks, args.group)
    if how == "none available":
        print("attn_course kernel_caps: no task cap (root without a writable pids cgroup); "
              "memory and file size are capped", file=sys.stderr)
    os.execv(command[0] if os.path.isabs(command[0]) else _which(command[0]), command)


def _which(program: str) -> str:
    import shutil

    found = shutil.which(program)
    if found is None:
        raise SystemExit(f"attn_course kernel_caps: {program!r} not found on PATH")
    return found


if __name__ == "__main__":
    main()
