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
exercises left with the reason; then the kernel and every process it started are killed, and
only then is the submission's record (``grade_submission``) handed back to be reported.
Batches of submissions (threads here, or a Dask cluster) are ``tutorlib.course.batch``.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tutorlib.course.notebooks import chapter_from_name
from tutorlib.course.remote import _MISSING, Session
from tutorlib.course.sandbox import Kernel, KernelGone, Limits, default_mode
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
    sha256: str = ""       # of the notebook's bytes: what --resume compares
    seconds: float = 0.0   # wall-clock time spent grading it
    host: str = ""         # the machine that ran the kernel

    @property
    def score(self) -> int:
        """Points earned."""
        return sum(r.score for r in self.results)

    @property
    def points(self) -> int:
        """Points available."""
        return sum(r.points for r in self.results)

    def to_record(self) -> dict:
        """The JSON report's entry (plain data; ``from_record`` reverses it)."""
        return {"submission": self.path, "chapter": self.chapter, "score": self.score,
                "points": self.points, "sandbox": self.sandbox,
                "unsandboxed": self.sandbox != "bwrap", "errors": self.errors,
                "notes": self.notes,
                "results": [r.to_dict() | {"score": r.score} for r in self.results],
                "output": self.output, "sha256": self.sha256, "seconds": self.seconds,
                "host": self.host}

    @classmethod
    def from_record(cls, record: dict) -> Graded:
        """A ``Graded`` from its report entry (``score``/``points`` are recomputed)."""
        results = [Result.from_dict({k: v for k, v in r.items() if k != "score"})
                   for r in record["results"]]
        return cls(record["submission"], record["chapter"], results, list(record["notes"]),
                   list(record["errors"]), record["sandbox"], record.get("output", ""),
                   record.get("sha256", ""), record.get("seconds", 0.0), record.get("host", ""))


@dataclass(frozen=True)
class Settings:
    """How to grade a submission: the same for every submission of a batch, and small enough to
    travel with each task. ``sandbox=None`` picks bwrap where it works on the machine that runs
    the kernel (else ``process``, marked unsandboxed); ``seed=None`` uses the checks' fixed
    seeds (``validate``), an int is the batch's secret seed."""

    timeout: float = 120
    time_limit: float = 1200
    chapter: str | None = None
    sandbox: str | None = None
    limits: Limits = field(default_factory=Limits)
    seed: int | None = None
    trust_metadata: bool = False
    batch: str = ""   # tags the kernels of one batch, so an interrupted batch kills only its own


def grade_submission(name: str, notebook: bytes, settings: Settings) -> dict:
    """Grade one submission and return its record (one entry of the JSON report).

    This is the unit of work of every batch: ``--jobs N`` runs it in N threads here, and
    ``--scheduler`` runs it as one Dask task per submission on the workers. ``notebook`` is the
    file's bytes (so it can travel to another machine) and ``name`` the submission's path as
    the instructor gave it (the chapter comes from its file name). Every process the kernel
    started is gone when it returns.
    """
    return _grade(name, notebook, settings).to_record()


def grade_notebook(path: Path, *, timeout: float, time_limit: float, chapter: str | None = None,
                   sandbox: str | None = None, limits: Limits | None = None,
                   seed: int | None = None, trust_metadata: bool = False) -> Graded:
    """Execute ``path`` in a sandboxed kernel (``sandbox``: a mode of
    ``tutorlib.course.sandbox``, by default bwrap where it works) and grade every exercise of
    its chapter: the ``chapter`` given, else the one of a ``chNN-`` file name (else, with
    ``trust_metadata``, the notebook's ``metadata.tutorlib.chapter``). A metadata chapter that
    differs is an error."""
    settings = Settings(timeout=timeout, time_limit=time_limit, chapter=chapter,
                        sandbox=sandbox, limits=limits or Limits(), seed=seed,
                        trust_metadata=trust_metadata)
    return _grade(str(path), Path(path).read_bytes(), settings)


def failed_record(name: str, notebook: bytes, settings: Settings, note: str) -> dict:
    """The record of a submission the grader itself could not grade (a task that failed on
    every worker it was tried on): every exercise failed with ``note``, which starts with
    ``grading error`` so the command exits 1 and ``--resume`` grades it again."""
    graded = Graded(name, chapter=_chapter(name, None, settings),
                    sha256=hashlib.sha256(notebook).hexdigest(), notes=[note],
                    sandbox=settings.sandbox or "bwrap")
    try:
        graded.results = [missing(ex, note) for ex in chapter_exercises(graded.chapter or "")]
    except (LookupError, ImportError):
        pass
    return graded.to_record()


def _chapter(name: str, claimed, settings: Settings) -> str | None:
    return (settings.chapter or chapter_from_name(name)
            or (claimed if settings.trust_metadata else None))


def _grade(name: str, data: bytes, settings: Settings) -> Graded:
    start = time.monotonic()
    graded = _execute(name, data, settings)
    graded.seconds = round(time.monotonic() - start, 3)
    return graded


def _execute(name: str, data: bytes, settings: Settings) -> Graded:
    sandbox = settings.sandbox or default_mode()
    graded = Graded(name, sandbox=sandbox, sha256=hashlib.sha256(data).hexdigest(),
                    host=socket.gethostname())
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # not UTF-8, not JSON, not a notebook
        nb, reason = None, f"could not read the notebook: {clean(str(error))}"
        graded.notes.append(reason)
    claimed = nb.metadata.get("tutorlib", {}).get("chapter") if nb is not None else None
    graded.chapter = _chapter(name, claimed, settings)
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
        reason = _run(nb, data, Path(name).name, exercises, settings, sandbox, results, graded)
    graded.results = [results[ex.id] if ex.id in results else missing(ex, reason)
                      for ex in exercises]
    return graded


def _run(nb, data: bytes, filename: str, exercises: list[Exercise], settings: Settings,
         sandbox: str, results: dict[str, Result], graded: Graded) -> str:
    """Run the cells, then check every exercise; returns the reason for exercises left."""
    timeout, time_limit, seed = settings.timeout, settings.time_limit, settings.seed
    scratch = Path(tempfile.mkdtemp(prefix="tutorlib-grade-"))
    kernel = None
    where = "starting the kernel"
    try:
        (scratch / filename).write_bytes(data)
        start = time.monotonic()
        kernel = Kernel(sandbox, scratch, settings.limits, hidden=check_files(),
                        tag=settings.batch)
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
