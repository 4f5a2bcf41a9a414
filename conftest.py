"""Settings for the whole test run (package tests, nbval over solutions/, the grading round trip).

Notebooks save the student's modules with ``attn_course.mine.save``; during tests they go to a
temporary folder, never into the course folder (``ATTN_COURSE_MINE`` is inherited by the kernels).

The solution notebooks' stored outputs were made on one machine; CI runs on others, whose CPUs
pick other vectorised kernels and round differently. So nbval re-runs each notebook with PyTorch's
portable kernels (``ATEN_CPU_CAPABILITY=default`` instead of the AVX2/AVX-512 ones) on one thread:
a stored number that depends on rounding noise differs there and fails, here as on any CI machine.
"""

import os
import tempfile

# What nbval's kernels run with (they inherit the environment when they start).
PORTABLE_KERNELS = {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# One thread per process. The tests already run in parallel processes (pytest-xdist's workers, one
# per core, and the kernels and pools the round trip starts); PyTorch's default of one thread per core
# in each of them oversubscribes the CPU, and its threads then wait on one another.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def pytest_configure(config):
    os.environ.setdefault("ATTN_COURSE_MINE", tempfile.mkdtemp(prefix="attn-course-mine-"))
    for name, value in ONE_THREAD.items():   # inherited by every kernel and worker started later
        os.environ.setdefault(name, value)
    import torch

    torch.set_num_threads(1)


def _is_notebook_cell(item) -> bool:
    return type(item).__module__.startswith("nbval")


def pytest_runtest_setup(item):
    """Before a notebook's kernel starts (its first cell's setup), switch to portable kernels."""
    if _is_notebook_cell(item):
        item._environment_before = {name: os.environ.get(name) for name in PORTABLE_KERNELS}
        os.environ.update(PORTABLE_KERNELS)


def pytest_runtest_teardown(item):
    """The kernel keeps its settings; everything else in this process gets the old ones back."""
    for name, value in getattr(item, "_environment_before", {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def pytest_collection_modifyitems(session, config, items):
    """The grading round trip first: it is the longest file by far, and with files spread over
    parallel workers (pytest-xdist) it should start at once, not after a worker's other files."""
    items.sort(key=lambda item: 0 if item.nodeid.startswith("tests/test_grading_roundtrip.py") else 1)
