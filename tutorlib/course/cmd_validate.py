"""``tutorlib-course validate [--invert] NB...``: solutions must pass every check, generated
exercises (``--invert``) must fail every check; either way every cell must run without error
(cells tagged ``raises-exception`` may raise)."""

from __future__ import annotations

import argparse
import sys

from tutorlib.course.batch import grade_many
from tutorlib.course.cmd_grade import add_execution_options, limits
from tutorlib.course.execute import Graded
from tutorlib.course.notebooks import find_notebooks
from tutorlib.course.sandbox import choose_mode


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``validate`` options."""
    parser.add_argument("--invert", action="store_true",
                        help="expect every check to fail or be not implemented (exercises)")
    add_execution_options(parser, time_limit=1800)


def problems(graded: Graded, invert: bool) -> list[str]:
    """Why ``graded`` is not a valid solution (or, with ``invert``, a valid exercise)."""
    out = graded.errors + graded.notes  # cells that raised or timed out, a dead kernel...
    for r in graded.results:
        if invert and r:
            out.append(f"{r.exercise} passes in the exercise notebook (is the solution left in?)")
        if not invert and not r:
            out.append(f"{r.exercise}: {r.feedback}")
    return out


def run(args: argparse.Namespace) -> int:
    """Validate; 0 when every notebook is valid, 1 otherwise, 2 for no notebooks."""
    try:
        paths = find_notebooks(args.notebooks)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not paths:
        print("error: no notebooks found in " + " ".join(args.notebooks), file=sys.stderr)
        return 2
    failed = 0
    # The same path as grading, with the checks' fixed seeds so a run can be repeated.
    for graded in grade_many(paths, timeout=args.timeout, time_limit=args.time_limit,
                             jobs=args.jobs, sandbox=choose_mode(args.sandbox),
                             limits=limits(args), fresh_seed=False,
                             trust_metadata=True):
        found = problems(graded, args.invert)
        failed += bool(found)
        expected = "fail as expected" if args.invert else "pass"
        print(f"INVALID {graded.path}" if found else
              f"ok      {graded.path}: all {len(graded.results)} checks {expected}")
        for problem in found:
            print(f"  - {problem}")
    print(f"{len(paths) - failed} of {len(paths)} notebooks valid")
    return 1 if failed else 0
