"""nbgrader's own feedback step, made safe to hand out: for the formgrader's *Generate feedback*
button and ``nbgrader generate_feedback``, not only for ``attn-course feedback``.

``nbgrader_config.py`` calls :func:`configure`, which adds :class:`HideHiddenTests` to
``GenerateFeedback.preprocessors`` (the hidden tests' code and the traceback lines quoting it are
left out, as in :mod:`attn_course.feedback_report`) and makes the report's exporter
:class:`OfflineMathHTMLExporter` (equations as MathML, no MathJax from a CDN, as in
:mod:`attn_course.feedback_math`). Both work on nbgrader's in-memory copy; the autograded
notebooks are never modified.
"""

from __future__ import annotations

from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import NbGraderPreprocessor

from .feedback_math import offline_math
from .feedback_report import hide_in_notebook

__all__ = ["HideHiddenTests", "OfflineMathHTMLExporter", "configure", "default_preprocessors"]


class HideHiddenTests(NbGraderPreprocessor):
    """Remove the hidden tests' code and the traceback lines that quote it from a notebook."""

    def preprocess(self, nb, resources):
        hide_in_notebook(nb)
        return nb, resources


class OfflineMathHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter, with the page's equations turned into MathML."""

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = super().from_notebook_node(nb, resources, **kw)
        return offline_math(output), resources


def default_preprocessors() -> list:
    """nbgrader's own feedback preprocessors."""
    from nbgrader.converters import GenerateFeedback

    return list(GenerateFeedback.class_traits()["preprocessors"].default())


def configure(c, hide_hidden_tests: bool = True) -> None:
    """Set nbgrader's feedback step up in the config object ``c`` (see the module doc)."""
    steps = default_preprocessors()
    if hide_hidden_tests:
        steps.insert(1, HideHiddenTests)  # after GetGrades, which reads the cells' ids only
    c.GenerateFeedback.preprocessors = steps
    c.GenerateFeedback.exporter_class = OfflineMathHTMLExporter
