"""nbgrader configuration for attn-course.

solutions/ is nbgrader's *source* (full solutions, hidden tests, stored outputs) and notebooks/ its
*release* (what students get). The gradebook, submitted/, autograded/ and feedback/ are working state
and stay out of the repository (see .gitignore); `attn-course grade` keeps them in a scratch folder.
"""

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "attn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Only the notebooks belong to an assignment; caches and checkpoints never travel.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# The release keeps no outputs from the solutions, and every notebook is checked on creation.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A correct solution runs a notebook in well under 30 s; a hanging cell costs only that cell.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# A notebook that ends its own kernel loses the cells after it (nbgrader alone would count cells
# that never ran as passed); see attn_course/autograde.py.
from attn_course.autograde import autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors()

# Feedback a course can hand out every term, also from the formgrader's button: the hidden tests'
# code stays out of the report and its equations render offline; see attn_course/feedback_nbgrader.py.
from attn_course.feedback_nbgrader import configure as configure_feedback  # noqa: E402

configure_feedback(c)

# A new gradebook learns nbgrader's schema version in this process, not from an `alembic heads`
# subprocess that spends seconds importing nbgrader again; see attn_course/_startup.py.
from attn_course._startup import quick_gradebook_version  # noqa: E402

quick_gradebook_version()
