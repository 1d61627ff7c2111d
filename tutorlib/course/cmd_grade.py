"""``tutorlib-course grade NB...``: run submissions in a sandbox, judge them here, report scores."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tutorlib.course.execute import grade_many
from tutorlib.course.notebooks import find_notebooks
from tutorlib.course.report import summary, table, write_csv, write_json
from tutorlib.course.sandbox import MODES, Limits, choose_mode


def add_execution_options(parser: argparse.ArgumentParser, time_limit: float) -> None:
    """``--timeout``, ``--time-limit`` and ``--jobs`` (shared with ``validate``)."""
    parser.add_argument("notebooks", nargs="+", metavar="NB", help="notebooks or directories")
    parser.add_argument("--timeout", type=float, default=120, metavar="S",
                        help="per-cell timeout in seconds (default: %(default)s)")
    parser.add_argument("--time-limit", type=float, default=time_limit, metavar="S",
                        help="hard wall-clock limit per notebook (default: %(default)s)")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                        help="notebooks run in parallel, each in its own kernel")
    parser.add_argument("--sandbox", choices=MODES, default=None,
                        help="bwrap (default when it works here), process (resource limits "
                        "only: unsandboxed) or none")
    parser.add_argument("--memory-limit", type=float, default=4, metavar="GIB",
                        help="address space of each kernel in GiB (default: %(default)s)")


def limits(args: argparse.Namespace) -> Limits:
    """The kernel's resource limits from the command line."""
    return Limits(memory=int(args.memory_limit * 2**30), cpu=int(args.time_limit) + 60)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``grade`` options."""
    add_execution_options(parser, time_limit=1200)
    parser.add_argument("--chapter", help="chapter id for every notebook (default: from the "
                        "chNN- file name; a different chapter in the metadata is an error)")
    parser.add_argument("--json", type=Path, metavar="F", help="write all results as JSON")
    parser.add_argument("--csv", type=Path, metavar="F",
                        help="write one row per submission and exercise, plus totals")


def run(args: argparse.Namespace) -> int:
    """Grade; 0 if every notebook could be graded (whatever its score), 1 otherwise (unknown
    chapter, or the grader itself failed, e.g. ``--sandbox bwrap`` where bwrap cannot run)."""
    try:
        paths = find_notebooks(args.notebooks)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sandbox = choose_mode(args.sandbox)
    graded = grade_many(paths, timeout=args.timeout, time_limit=args.time_limit,
                        jobs=args.jobs, chapter=args.chapter, sandbox=sandbox,
                        limits=limits(args))
    # Every kernel and every process it started is gone now: nothing can change the reports.
    for g in graded:
        print(table(g), end="\n\n")
    if len(graded) > 1:
        print(summary(graded))
    if sandbox != "bwrap":
        print(f"WARNING: graded UNSANDBOXED (--sandbox {sandbox}); the report says so.",
              file=sys.stderr)
    if args.json:
        write_json(args.json, graded)
    if args.csv:
        write_csv(args.csv, graded)
    broken = any(note.startswith("grading error") for g in graded for note in g.notes)
    return 0 if all(g.results for g in graded) and graded and not broken else 1
