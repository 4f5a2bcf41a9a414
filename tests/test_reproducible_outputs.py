"""The stored outputs of the solution notebooks hold on another CPU: every solution notebook is
re-executed with PyTorch's portable kernels (``ATEN_CPU_CAPABILITY=default`` instead of the
AVX2/AVX-512 ones this machine picks) and one thread, and nbval compares it with what is stored.

A printed number that depends on rounding noise would differ here and fail; CI machines differ in
exactly these ways.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_solutions_reproduce_with_portable_kernels_and_one_thread(tmp_path):
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               ATTN_COURSE_MINE=str(tmp_path / "mine"))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
               "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "nbval_sanitize.cfg",
               "--nbval-cell-timeout", "120", "solutions/"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"solutions differ from their stored outputs:\n{done.stdout[-6000:]}"
