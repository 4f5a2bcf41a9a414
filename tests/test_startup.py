"""attn_course._startup: what the grading processes change to start faster, and that the answers
stay the same."""

from __future__ import annotations

import re
from pathlib import Path


def _head_from_the_migration_files() -> str:
    """The revision no other revision builds on, read from nbgrader's alembic/versions/*.py."""
    import nbgrader

    versions = Path(nbgrader.__file__).parent / "alembic" / "versions"
    revisions, parents = set(), set()
    for script in versions.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revisions.add(re.search(r"^revision\s*=\s*['\"](\w+)['\"]", text, re.M).group(1))
        down = re.search(r"^down_revision\s*=\s*['\"](\w+)['\"]", text, re.M)
        if down:
            parents.add(down.group(1))
    heads = revisions - parents
    assert len(heads) == 1, heads
    return heads.pop()


def test_a_new_gradebook_gets_the_schema_version_of_the_migrations(tmp_path):
    from nbgrader.api import Gradebook
    from sqlalchemy import create_engine, text

    from attn_course._startup import quick_gradebook_version

    quick_gradebook_version()
    quick_gradebook_version()  # twice is harmless
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, "attn-course"):
        pass
    engine = create_engine(url)
    with engine.connect() as connection:
        stamped = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert stamped == _head_from_the_migration_files()
