"""`attn-course`: the instructor's commands.

    attn-course release                       regenerate notebooks/ from solutions/
    attn-course grade SUBMISSIONS --csv grades.csv --workdir grading/ [--jobs N] [--resume]
    attn-course feedback --workdir grading/ --out feedback/ [--show-hidden-tests]
    attn-course lab student | instructor      which of nbgrader's tools JupyterLab shows
"""

from __future__ import annotations

import argparse
import os
import sys

from . import grading


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attn-course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=".", help="the course folder (default: current folder)")
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="regenerate notebooks/ from solutions/")
    release.add_argument("assignments", nargs="*", help="only these (default: all)")

    grade = commands.add_parser("grade", help="autograde a folder of submissions")
    grade.add_argument("submissions", help="folder laid out as <student>/<assignment>/<nb>.ipynb")
    grade.add_argument("--csv", default="grades.csv", help="score table to write (default: %(default)s)")
    grade.add_argument("--workdir", default="grading",
                       help="scratch course folder, kept for `feedback` (default: %(default)s)")
    grade.add_argument("--jobs", "-j", type=int, default=1,
                       help="autograde this many submissions at once, each in its own process "
                            "(default: %(default)s)")
    grade.add_argument("--resume", action="store_true",
                       help="go on with the stopped run in --workdir without regrading what it "
                            "finished")
    _add_db_url(grade)

    feedback = commands.add_parser("feedback", help="HTML feedback for a graded workdir")
    feedback.add_argument("--workdir", default="grading", help="the folder `grade` used")
    feedback.add_argument("--out", default="feedback", help="where to copy the reports")
    feedback.add_argument("--show-hidden-tests", action="store_true",
                          help="keep the hidden tests' code in the reports (for the instructor; "
                               "by default it is left out)")
    _add_db_url(feedback)
    lab = commands.add_parser("lab", help="show a student's or an instructor's nbgrader tools in Lab")
    lab.add_argument("role", choices=["student", "instructor"])
    return parser


def _add_db_url(command: argparse.ArgumentParser) -> None:
    """``--db-url``: the same course gradebook for ``grade`` and ``feedback``."""
    command.add_argument("--db-url", default=os.environ.get("ATTN_COURSE_DB_URL"),
                         help="the course gradebook as a database URL, e.g. "
                              "postgresql://host/course (default: $ATTN_COURSE_DB_URL, else "
                              "gradebook.db in --workdir)")


def main(argv=None) -> int:
    from ._startup import skip_iri_grammars

    skip_iri_grammars()
    args = _parser().parse_args(argv)
    try:
        if args.command == "release":
            for path in grading.release(args.root, args.assignments or None):
                print(f"wrote {path}")
        elif args.command == "grade":
            if args.jobs < 1:
                raise grading.CourseError(f"--jobs must be 1 or more, not {args.jobs}")
            scores = grading.grade(args.submissions, args.root, args.workdir, args.csv,
                                   jobs=args.jobs, progress=sys.stderr, resume=args.resume,
                                   db_url=args.db_url)
            for s in scores:
                flagged = f"  flagged: {s.flags}" if s.flags else ""
                noted = f"  {s.note}" if s.note else ""
                print(f"{s.student:20s} {s.assignment:24s} {s.score:g} / {s.max_score:g}{flagged}{noted}")
            print(f"wrote {args.csv}")
        elif args.command == "lab":
            from .labsetup import configure

            for command in configure(args.role):
                print(f"ran {command}")
            print(f"JupyterLab in this environment now shows the {args.role}'s nbgrader tools "
                  "(restart Lab if it is running)")
        elif args.command == "feedback":
            for path in grading.feedback(args.workdir, args.root, args.out,
                                         show_hidden_tests=args.show_hidden_tests,
                                         db_url=args.db_url):
                print(f"wrote {path}")
    except grading.CourseError as error:
        print(f"attn-course: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
