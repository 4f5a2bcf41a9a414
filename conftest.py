"""Settings for the whole test run (package tests, nbval over solutions/, the grading round trip).

Notebooks save the student's modules with ``attn_course.mine.save``; during tests they go to a
temporary folder, never into the course folder (``ATTN_COURSE_MINE`` is inherited by the kernels).
"""

import os
import tempfile


def pytest_configure(config):
    os.environ.setdefault("ATTN_COURSE_MINE", tempfile.mkdtemp(prefix="attn-course-mine-"))
