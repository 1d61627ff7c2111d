"""``tutorlib-course progress [NB...]``: which exercises pass, read from the stored outputs of
``check(...)`` cells (nothing is executed, so it is instant; it shows the last run of each)."""

from __future__ import annotations

import argparse
import sys

import nbformat

from tutorlib.course.notebooks import find_notebooks, notebook_chapter
from tutorlib.grading.registry import chapter_exercises
from tutorlib.grading.result import CHECK_MIME

NOT_CHECKED = "not checked yet"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``progress`` options."""
    parser.add_argument("notebooks", nargs="*", default=["exercises"], metavar="NB",
                        help="notebooks or directories (default: exercises/)")


def stored_statuses(nb: nbformat.NotebookNode) -> dict[str, str]:
    """{exercise id: status} from the check results stored in the outputs (last one wins)."""
    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {}).get(CHECK_MIME)
            if data:
                found[data["exercise"]] = data["status"]
    return found


def run(args: argparse.Namespace) -> int:
    """Print a table per notebook; 0 unless a notebook cannot be read or has no chapter."""
    status = 0
    try:
        paths = find_notebooks(args.notebooks)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
            exercises = chapter_exercises(notebook_chapter(nb, path) or "")
        except Exception as error:  # unreadable notebook or unknown chapter
            print(f"{path}: cannot show progress: {error}")
            status = 1
            continue
        seen = stored_statuses(nb)
        passed = [ex for ex in exercises if seen.get(ex.id) == "passed"]
        print(f"{path} (chapter {exercises[0].chapter}): {len(passed)}/{len(exercises)} "
              f"exercises passed, {sum(ex.points for ex in passed)}/"
              f"{sum(ex.points for ex in exercises)} points")
        width = max(len(ex.id) for ex in exercises)
        for ex in exercises:
            print(f"  {seen.get(ex.id, NOT_CHECKED):<16} {ex.id:<{width}}  {ex.title}")
    return status
