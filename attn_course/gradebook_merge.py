"""One gradebook for a class graded in pieces: a scratch gradebook per submission, merged in.

nbgrader keeps one gradebook per course and grades one submission at a time. To grade many at
once, every submission is autograded against its own small SQLite gradebook, a copy of
:func:`make_template`'s: the course's *structure* (course, assignments, notebooks, cells) with
the same ids as the course gradebook, and no students. :func:`merge_submission` then moves what
the autograde added (the student, the submission, its notebooks, grades and comments) into the
course gradebook in one transaction, replacing an earlier grading of the same submission. The
course gradebook is any database nbgrader supports through its URL: SQLite by default, PostgreSQL
for a course shared between machines. Only the grading process writes to it, one submission at a
time, so workers never contend for it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["STRUCTURE", "SUBMISSION", "make_template", "merge_submission"]

# nbgrader's tables (nbgrader.api), parents before children.
STRUCTURE = ("course", "assignment", "notebook", "base_cell", "source_cell", "grade_cells",
             "solution_cells", "task_cells")
SUBMISSION = ("student", "submitted_assignment", "submitted_notebook", "grade", "comment")


def _tables():
    from nbgrader.api import Base

    return Base.metadata.tables


def make_template(course_url: str, template: Path) -> Path:
    """A new SQLite gradebook at ``template``: nbgrader's schema, the course gradebook's schema
    version, and its structure rows."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, select, text

    template = Path(template)
    template.unlink(missing_ok=True)
    tables = _tables()
    source, target = create_engine(course_url), create_engine(f"sqlite:///{template}")
    try:
        # The schema as nbgrader makes it, stamped with the course's version: asking alembic for
        # the version (what nbgrader's Gradebook does for a new file) costs seconds.
        Base.metadata.create_all(bind=target)
        with source.connect() as read, target.begin() as write:
            version = read.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            write.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            write.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
            for name in STRUCTURE:
                rows = [dict(row) for row in read.execute(select(tables[name])).mappings()]
                if rows:
                    write.execute(tables[name].insert(), rows)
    finally:
        source.dispose()
        target.dispose()
    return template


def merge_submission(scratch: Path, course_engine, student: str, assignment: str) -> None:
    """Move ``student``'s graded ``assignment`` from the scratch gradebook into the course's.

    One transaction: an earlier grading of the same submission is deleted first; the student
    row is added only if the course does not know the student yet.
    """
    from sqlalchemy import create_engine, select

    tables = _tables()
    source = create_engine(f"sqlite:///{scratch}")
    try:
        with source.connect() as read:
            rows = {name: [dict(row) for row in read.execute(select(tables[name])).mappings()]
                    for name in SUBMISSION}
    finally:
        source.dispose()
    with course_engine.begin() as write:
        _delete_submission(write, tables, student, assignment)
        known = {row[0] for row in write.execute(select(tables["student"].c.id))}
        rows["student"] = [row for row in rows["student"] if row["id"] not in known]
        for name in SUBMISSION:
            if rows[name]:
                write.execute(tables[name].insert(), rows[name])


def _delete_submission(write, tables, student: str, assignment: str) -> None:
    from sqlalchemy import delete, select

    a, sa, sn = tables["assignment"], tables["submitted_assignment"], tables["submitted_notebook"]
    ids = [row[0] for row in write.execute(
        select(sa.c.id).join(a, sa.c.assignment_id == a.c.id)
        .where(a.c.name == assignment, sa.c.student_id == student))]
    if not ids:
        return
    notebooks = [row[0] for row in write.execute(select(sn.c.id).where(sn.c.assignment_id.in_(ids)))]
    for name in ("grade", "comment"):
        write.execute(delete(tables[name]).where(tables[name].c.notebook_id.in_(notebooks)))
    write.execute(delete(sn).where(sn.c.id.in_(notebooks)))
    write.execute(delete(sa).where(sa.c.id.in_(ids)))
