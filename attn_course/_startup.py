"""Faster start for the processes that grade (the command line, each grading worker, the tests).

When the package ``rfc3987_syntax`` is installed (jupyter-events asks for it through
``jsonschema[format-nongpl]``), importing ``jsonschema``, and so nbformat and nbgrader, compiles
39 grammars to check the "iri" string format: 2 to 4 s of CPU in every new process, for a check
that nothing in a notebook's schema or in grading uses. :func:`skip_iri_grammars` makes that
optional import fail (``jsonschema`` expects that and goes without the "iri" check) in this process.

nbgrader stamps every new gradebook with its schema version, which it gets by running ``alembic
heads`` in a new process: that process imports nbgrader from scratch (grammars included), 5 s or
more per new gradebook. :func:`quick_gradebook_version` reads the same version in this process.
"""

from __future__ import annotations

import sys

__all__ = ["quick_gradebook_version", "skip_iri_grammars"]


def skip_iri_grammars() -> None:
    """Before nbformat or nbgrader is imported: keep jsonschema from compiling the IRI grammars."""
    sys.modules.setdefault("rfc3987_syntax", None)


def quick_gradebook_version() -> None:
    """Make nbgrader read a new gradebook's schema version (the head of its alembic migrations)
    in this process instead of from an ``alembic heads`` subprocess. The value is the same: the
    head revision of ``nbgrader/alembic/versions``."""
    import nbgrader.api

    if getattr(nbgrader.api.get_alembic_version, "_in_process", False):
        return
    from functools import cache

    @cache
    def get_alembic_version() -> str:
        from alembic.script import ScriptDirectory
        from nbgrader.dbutil import ALEMBIC_DIR

        return ScriptDirectory(ALEMBIC_DIR).get_current_head()

    get_alembic_version._in_process = True
    nbgrader.api.get_alembic_version = get_alembic_version
