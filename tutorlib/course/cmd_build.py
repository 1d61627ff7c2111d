"""``tutorlib-course build [--check]``: regenerate exercises/ from solutions/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tutorlib.course.build import apply, plan
from tutorlib.course.markers import MarkerError


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``build`` options."""
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 and name the files if exercises/ is stale")
    parser.add_argument("--solutions", type=Path, default=Path("solutions"), metavar="DIR")
    parser.add_argument("--exercises", type=Path, default=Path("exercises"), metavar="DIR")


def run(args: argparse.Namespace) -> int:
    """Build (or with ``--check`` compare); 0 when exercises/ is up to date afterwards."""
    try:
        changes = plan(args.solutions, args.exercises)
    except MarkerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        if changes:
            print(f"{args.exercises} is out of date with {args.solutions}:")
            for target, text in changes.items():
                print(f"  {target} would be {'removed' if text is None else 'rewritten'}")
            print("run `tutorlib-course build` and commit the result")
            return 1
        print(f"{args.exercises} is up to date")
        return 0
    apply(changes)
    for target, text in changes.items():
        print(f"{'removed' if text is None else 'wrote'} {target}")
    if not changes:
        print(f"{args.exercises} is up to date")
    return 0
