"""Grade a notebook: run it in a sandboxed kernel, then judge its answers in the grader.

For each submission: a scratch folder holding a copy of the notebook becomes the kernel's home
and working directory; the kernel (``tutorlib.course.worker``) starts in the sandbox
(``tutorlib.course.sandbox``) and runs the code cells top to bottom with a per-cell timeout
(a cell that runs too long is interrupted and the next one runs; errors do not stop the run).
Then, for every exercise of the chapter, the grader fetches the notebook global the exercise
names and runs the exercise's check *here*, in the grader, with a secret seed drawn afresh for
this run: the student's functions are ``Remote`` proxies that run in the kernel on the inputs
the check sends (``tutorlib.course.remote``). Ids, titles and points come from the checks
only. A kernel that dies, loops past the hard ``time_limit`` or breaks the protocol fails the
exercises left with the reason; then the kernel and every process it started are killed before
the next step, and reports are written only after every submission's processes are gone.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tutorlib.course.notebooks import chapter_from_name
from tutorlib.course.remote import _MISSING, Session
from tutorlib.course.sandbox import Kernel, KernelGone, Limits, choose_mode
from tutorlib.grading.compare import clean
from tutorlib.grading.registry import Exercise, chapter_exercises, check_files
from tutorlib.grading.result import FAILED, Result
from tutorlib.grading.run import missing, run_check


@dataclass
class Graded:
    """One executed notebook: its chapter, one ``Result`` per exercise, notes on problems
    (cells that raised or timed out, a dead kernel, the time limit), errors that make the
    submission suspect (a chapter claimed in its metadata), the sandbox it ran in and the first
    part of what it printed."""

    path: str
    chapter: str | None = None
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sandbox: str = "bwrap"
    output: str = ""

    @property
    def score(self) -> int:
        """Points earned."""
        return sum(r.score for r in self.results)

    @property
    def points(self) -> int:
        """Points available."""
        return sum(r.points for r in self.results)


def grade_many(paths: list[Path], *, timeout: float, time_limit: float, jobs: int = 1,
               chapter: str | None = None, sandbox: str | None = None,
               limits: Limits | None = None, fresh_seed: bool = True, trust_metadata: bool = False) -> list[Graded]:
    """``grade_notebook`` for every path, ``jobs`` at a time (each with its own kernel). Returns
    once every kernel and every process it started is gone. ``fresh_seed`` draws a secret seed
    for this run's inputs; without it the checks use their fixed seeds (as in the notebook).
    ``trust_metadata`` lets ``metadata.tutorlib.chapter`` name the chapter (``validate``)."""
    seed = secrets.randbits(63) if fresh_seed else None
    sandbox = sandbox or choose_mode(None)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(
            lambda p: grade_notebook(p, timeout=timeout, time_limit=time_limit, chapter=chapter,
                                     sandbox=sandbox, limits=limits, seed=seed,
                                     trust_metadata=trust_metadata),
            paths))


def grade_notebook(path: Path, *, timeout: float, time_limit: float, chapter: str | None = None,
                   sandbox: str | None = None, limits: Limits | None = None,
                   seed: int | None = None, trust_metadata: bool = False) -> Graded:
    """Execute ``path`` in a sandboxed kernel (``sandbox``: a mode of
    ``tutorlib.course.sandbox``, by default bwrap where it works) and grade every exercise of
    its chapter: the ``chapter`` given, else the one of a ``chNN-`` file name (else, with
    ``trust_metadata``, the notebook's ``metadata.tutorlib.chapter``). A metadata chapter that
    differs is an error."""
    path, limits, sandbox = Path(path), limits or Limits(), sandbox or choose_mode(None)
    graded = Graded(str(path), sandbox=sandbox)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # not JSON, not a notebook
        nb, reason = None, f"could not read the notebook: {clean(str(error))}"
        graded.notes.append(reason)
    claimed = nb.metadata.get("tutorlib", {}).get("chapter") if nb is not None else None
    graded.chapter = chapter or chapter_from_name(path) or (claimed if trust_metadata else None)
    if not graded.chapter:
        graded.notes.append("cannot tell the chapter: the file name does not start with chNN-"
                            " (use --chapter)")
        return graded
    if claimed and claimed != graded.chapter:
        graded.errors.append(f"the notebook's metadata claims chapter {clean(str(claimed), 40)!r}"
                             f" but it is graded as {graded.chapter} (file name or --chapter)")
    try:
        exercises = chapter_exercises(graded.chapter)
    except (LookupError, ImportError) as error:
        graded.notes.append(f"cannot grade: {clean(str(error))}")
        return graded
    results: dict[str, Result] = {}
    if nb is not None:
        reason = _run(nb, path, exercises, timeout, time_limit, sandbox, limits, seed, results,
                      graded)
    graded.results = [results[ex.id] if ex.id in results else missing(ex, reason)
                      for ex in exercises]
    return graded


def _run(nb, path: Path, exercises: list[Exercise], timeout: float, time_limit: float,
         sandbox: str, limits: Limits, seed: int | None, results: dict[str, Result],
         graded: Graded) -> str:
    """Run the cells, then check every exercise; returns the reason for exercises left."""
    scratch = Path(tempfile.mkdtemp(prefix="tutorlib-grade-"))
    kernel = None
    where = "starting the kernel"
    try:
        shutil.copyfile(path, scratch / path.name)
        start = time.monotonic()
        kernel = Kernel(sandbox, scratch, limits, hidden=check_files())
        session = Session(kernel, timeout, start + time_limit)
        try:
            kernel.reply(session.deadline)   # the worker says it is ready
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                where = f"running cell {index + 1}"
                _note(session.run_cell(cell.source), index, cell, timeout, graded)
            for exercise in exercises:
                where = f"checking {exercise.id}"
                results[exercise.id] = _check(session, exercise, timeout, seed)
        except KernelGone as gone:
            if str(gone) == "deadline":
                graded.notes.append(f"stopped while {where}: time limit of {time_limit:g} s")
                return f"not graded: the notebook hit the time limit of {time_limit:g} s"
            graded.notes.append(f"the kernel died while {where}")
            return f"not graded: the kernel died while {where}"
        return "no result"
    except OSError as error:  # the grader's own environment failed, e.g. no bwrap
        graded.notes.append(f"grading error: {type(error).__name__}: {clean(str(error))}")
        return graded.notes[-1]
    finally:
        if kernel is not None:
            kernel.kill()
            graded.output = kernel.output_text()
        shutil.rmtree(scratch, ignore_errors=True)


def _check(session: Session, exercise: Exercise, timeout: float, seed: int | None) -> Result:
    """Fetch the exercise's global from the kernel and run its check here."""
    answer = session.get(exercise.name)
    if answer is _MISSING:
        return missing(exercise, f"`{exercise.name}` is not defined when the notebook has run")
    session.timed_out = False
    result = run_check(exercise, answer, seed)
    if session.dead:
        raise KernelGone(session.dead)
    if session.timed_out and result.status == FAILED:
        result.message = f"the check timed out after {timeout:g} s and was interrupted"
    return result


def _note(reply: dict, index: int, cell, timeout: float, graded: Graded) -> None:
    if reply.get("timed_out"):
        problem = f"timed out after {timeout:g} s and was interrupted"
    elif reply.get("error"):
        name, value = (list(reply["error"]) + ["", ""])[:2]
        problem = f"raised {clean(str(name), 60)}: {clean(str(value))}".rstrip(": ")
    else:
        return
    if "raises-exception" not in cell.metadata.get("tags", []):
        graded.notes.append(f"cell {index + 1} {problem}")
