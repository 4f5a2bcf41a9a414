"""Append a measured table to ``benchmarks/RESULTS.md`` with what produced it.

Every section the scripts write starts with the commit (``-dirty`` when the work tree differs from
it), the device, the PyTorch version, the date and the command, so a table always says which code it
describes; nothing in RESULTS.md is typed by hand except its introduction.
"""

from __future__ import annotations

import datetime
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import torch

RESULTS = Path(__file__).with_name("RESULTS.md")


def _commit() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=root, text=True,
                                capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               text=True, capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + ("-dirty" if dirty else "")


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cores = torch.get_num_threads()
    return f"CPU, {platform.processor() or platform.machine()}, {cores} threads"


def provenance(device: torch.device) -> str:
    today = datetime.date.today().isoformat()
    command = "python " + " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    return (f"commit `{_commit()}` · {_device_name(device)} · PyTorch {torch.__version__} · "
            f"{today} · `{command}`")


def append_section(title: str, device: torch.device, body: str, path: Path = RESULTS) -> Path:
    """Add ``## title`` with the provenance line and ``body`` (the table and its notes) to ``path``."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = f"\n## {title}\n\n{provenance(device)}\n\n{body.rstrip()}\n"
    path.write_text(text.rstrip("\n") + "\n" + section)
    return path
