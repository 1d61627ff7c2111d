"""``tutorlib-course release DEST``: the student bundle — lessons, exercises, the package and
the data instructions; no ``solutions/``, no checks module, no reference implementation.

The in-notebook ``check()`` of the bundle replays *recorded* checks
(``tutorlib.grading.recorded``): every check runs here once against the solution notebook, in a
sandboxed kernel like a submission, and each call it makes of the solution's function is
stored with the solution's answer in ``DEST/tutorlib/grading/recorded/<chapter>.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from tutorlib.course.notebooks import chapter_from_name, find_notebooks
from tutorlib.course.remote import _MISSING, Remote, Session
from tutorlib.course.sandbox import Kernel, KernelGone, Limits, choose_mode
from tutorlib.grading import wire
from tutorlib.grading.registry import Exercise, chapter_exercises, check_files
from tutorlib.grading.run import run_check

COPIED = ["README.md", "Makefile", "pyproject.toml", "notebooks", "exercises", "tutorlib",
          "docs"]
LEFT_OUT = ["__pycache__", "*.pyc", ".ipynb_checkpoints", "recorded", "grading.md"]


class ReleaseError(RuntimeError):
    """The bundle cannot be made (a solution fails its check, an answer cannot be recorded)."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``release`` options."""
    parser.add_argument("dest", type=Path, metavar="DEST", help="a new (or empty) folder")
    parser.add_argument("--course", type=Path, default=Path("."), metavar="DIR",
                        help="the course repository (default: the current folder)")
    parser.add_argument("--solutions", type=Path, default=None, metavar="DIR",
                        help="solution notebooks to record (default: COURSE/solutions)")
    parser.add_argument("--sandbox", choices=("bwrap", "process", "none"), default=None)
    parser.add_argument("--timeout", type=float, default=300, metavar="S",
                        help="per-cell timeout when running the solutions (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Write the bundle; 0 on success, 1 (and nothing half-written) on error."""
    root = args.course.resolve()
    solutions = args.solutions or root / "solutions"
    if args.dest.exists() and any(args.dest.iterdir()):
        print(f"error: {args.dest} is not empty", file=sys.stderr)
        return 1
    sandbox = choose_mode(args.sandbox)
    staging = Path(tempfile.mkdtemp(prefix=".release-", dir=args.dest.resolve().parent))
    try:
        copy_course(root, staging)
        records = staging / "tutorlib" / "grading" / "recorded"
        records.mkdir()
        for path in find_notebooks([str(solutions)]):
            chapter = chapter_from_name(path)
            if chapter is None:
                continue
            exercises = record(path, chapter_exercises(chapter), sandbox, args.timeout)
            (records / f"{chapter}.json").write_text(
                json.dumps({"chapter": chapter, "exercises": exercises}) + "\n", encoding="utf-8")
            print(f"recorded {len(exercises)} checks of {chapter} from {path}")
        if args.dest.exists():
            args.dest.rmdir()
        staging.rename(args.dest)
    except (ReleaseError, OSError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote the student bundle to {args.dest} (no solutions, no checks modules)")
    return 0


def copy_course(root: Path, dest: Path) -> None:
    """Copy what students get from the course at ``root`` (checks modules left out)."""
    hidden = {p.resolve() for p in check_files()}
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=lambda folder, names: {
                n for n in names if (Path(folder) / n).resolve() in hidden
                or any(Path(n).match(p) for p in LEFT_OUT)}, dirs_exist_ok=True)
        elif source.is_file():
            shutil.copy2(source, dest / name)


def record(path: Path, exercises: list[Exercise], sandbox: str, timeout: float) -> list[dict]:
    """Run the solution notebook ``path``, then every check against it, recording the calls."""
    scratch = Path(tempfile.mkdtemp(prefix="tutorlib-release-"))
    kernel = Kernel(sandbox, scratch, Limits())
    session = Session(kernel, timeout, time.monotonic() + 30 * timeout)
    try:
        kernel.reply(session.deadline)
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "code" and cell.source.strip():
                reply = session.run_cell(cell.source)
                if reply.get("error") or reply.get("timed_out"):
                    raise ReleaseError(f"{path}: cell {index + 1} failed: {reply}")
        return [_record(session, exercise, path) for exercise in exercises]
    except KernelGone as gone:
        raise ReleaseError(f"{path}: the kernel died ({gone})") from None
    finally:
        kernel.kill()
        shutil.rmtree(scratch, ignore_errors=True)


def _record(session: Session, exercise: Exercise, path: Path) -> dict:
    answer = session.get(exercise.name)
    if answer is _MISSING:
        raise ReleaseError(f"{path} does not define `{exercise.name}` ({exercise.id})")
    cases: list[dict] = []
    if isinstance(answer, Remote):
        recorder = _Recorder(answer, cases)
        result = run_check(exercise, recorder)
    else:
        result = run_check(exercise, answer)
        cases.append({"result": _tree(answer, exercise)})
    if not result:
        raise ReleaseError(f"{path}: the solution fails {exercise.id}: {result.feedback}")
    return {"id": exercise.id, "name": exercise.name, "title": exercise.title,
            "points": exercise.points, "hint": exercise.hint, "cases": cases}


class _Recorder:
    """Calls the solution's function and keeps (arguments, answer) of every call."""

    def __init__(self, answer: Remote, cases: list[dict]):
        self.answer, self.cases = answer, cases

    def __call__(self, *args, **kwargs):
        keep = {"args": _tree(args, None), "kwargs": _tree(kwargs, None)}
        value = self.answer(*args, **kwargs)
        self.cases.append(keep | {"result": _tree(value, None)})
        return value


def _tree(value, exercise: Exercise | None):
    try:
        text = wire.dumps(value)
        if b'"$ref"' in text:
            raise wire.WireError("an object that stays in the kernel")
    except wire.WireError as error:
        raise ReleaseError(f"cannot record {type(value).__name__} for the bundle's check"
                           f"{f' of {exercise.id}' if exercise else ''}: {error}") from None
    return json.loads(text)
