"""``tutorlib-course`` (also ``python -m tutorlib.course``): build, validate, grade, progress,
release.

Each subcommand is a module exposing ``configure(parser)`` and ``run(args) -> exit status``;
add one by appending it to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib

COMMANDS = {  # name: (module, one-line help)
    "build": ("tutorlib.course.cmd_build", "generate exercises/ from solutions/"),
    "validate": ("tutorlib.course.cmd_validate", "execute notebooks; every check must pass"),
    "grade": ("tutorlib.course.cmd_grade", "grade submissions; print scores, write CSV/JSON"),
    "progress": ("tutorlib.course.cmd_progress", "show passed exercises from stored outputs"),
    "release": ("tutorlib.course.cmd_release", "write the student bundle (no solutions, no checks)"),
}


def parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per entry of ``COMMANDS``.

    >>> parser().parse_args(["build", "--check"]).check
    True
    """
    top = argparse.ArgumentParser(
        prog="tutorlib-course", description="Course tooling: exercises, validation, grading.")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).configure(command)
        command.set_defaults(module=module)
    return top


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns its exit status."""
    args = parser().parse_args(argv)
    return importlib.import_module(args.module).run(args)
