"""Faster start for the processes that grade (the command line, each grading worker, the tests).

When the package ``rfc3987_syntax`` is installed (jupyter-events asks for it through
``jsonschema[format-nongpl]``), importing ``jsonschema``, and so nbformat and nbgrader, compiles
39 grammars to check the "iri" string format: 2 to 4 s of CPU in every new process, for a check
that nothing in a notebook's schema or in grading uses. :func:`skip_iri_grammars` makes that
optional import fail (``jsonschema`` expects that and goes without the "iri" check) in this process.
"""

from __future__ import annotations

import sys

__all__ = ["skip_iri_grammars"]


def skip_iri_grammars() -> None:
    """Before nbformat or nbgrader is imported: keep jsonschema from compiling the IRI grammars."""
    sys.modules.setdefault("rfc3987_syntax", None)
