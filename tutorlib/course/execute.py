"""Run a notebook in a fresh kernel, then every check of its chapter against the kernel's globals.

Cells run top to bottom with a per-cell timeout (a cell that runs too long is interrupted and
the next one runs) and errors do not stop the run. Then, for each exercise of the chapter, a
cell calling ``tutorlib.grading.kernel.emit`` is executed, so an exercise is graded even if its
check cell was deleted or edited. A kernel that dies, a notebook that cannot be read and the
hard per-notebook ``time_limit`` all become failed exercises with the reason, never a crash.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from tutorlib.course.notebooks import chapter_from_name, chapter_of
from tutorlib.grading.compare import clean
from tutorlib.grading.kernel import parse
from tutorlib.grading.registry import CHECKS_PATH_ENV, Exercise, chapter_exercises
from tutorlib.grading.result import Result
from tutorlib.grading.run import missing

_EMIT = '__import__("tutorlib.grading.kernel", fromlist=["emit"]).emit({!r}, globals(), {!r})'


@dataclass
class Graded:
    """One executed notebook: its chapter, one ``Result`` per exercise, and notes on problems
    (cells that raised or timed out, a dead kernel, the time limit)."""

    path: str
    chapter: str | None = None
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        """Points earned."""
        return sum(r.score for r in self.results)

    @property
    def points(self) -> int:
        """Points available."""
        return sum(r.points for r in self.results)


def grade_many(paths: list[Path], *, timeout: float, time_limit: float, jobs: int = 1,
               chapter: str | None = None) -> list[Graded]:
    """``grade_notebook`` for every path, ``jobs`` at a time (each with its own kernel)."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(
            lambda p: grade_notebook(p, timeout=timeout, time_limit=time_limit, chapter=chapter),
            paths))


def grade_notebook(path: Path, *, timeout: float, time_limit: float,
                   chapter: str | None = None) -> Graded:
    """Execute ``path`` (cwd: its folder) and grade every exercise of its chapter."""
    graded = Graded(str(path))
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # not JSON, not a notebook
        nb, reason = None, f"could not read the notebook: {clean(str(error))}"
        graded.notes.append(reason)
    graded.chapter = chapter or (chapter_of(nb, path) if nb else chapter_from_name(path))
    if not graded.chapter:
        graded.notes.append("cannot tell the chapter: no metadata.tutorlib.chapter and the file"
                            " name does not start with chNN- (use --chapter)")
        return graded
    try:
        exercises = chapter_exercises(graded.chapter)
    except (LookupError, ImportError) as error:
        graded.notes.append(f"cannot grade: {clean(str(error))}")
        return graded
    results: dict[str, Result] = {}
    if nb is not None:
        try:
            reason = asyncio.run(_run(nb, Path(path), exercises, timeout, time_limit, results,
                                      graded))
        except Exception as error:  # the grader's own environment failed, e.g. no kernel
            reason = f"grading error: {type(error).__name__}: {clean(str(error))}"
            graded.notes.append(reason)
    graded.results = [results[ex.id] if ex.id in results else missing(ex, reason)
                      for ex in exercises]
    return graded


async def _run(nb, path: Path, exercises: list[Exercise], timeout: float, time_limit: float,
               results: dict[str, Result], graded: Graded) -> str:
    """Execute with a hard wall-clock limit; returns the reason for exercises left ungraded."""
    state = {"where": "starting the kernel", "timed_out": False}
    task = asyncio.ensure_future(_execute(nb, path, exercises, timeout, results, graded, state))
    done, _ = await asyncio.wait({task}, timeout=time_limit)
    if not done:
        state["timed_out"] = True
        task.cancel()
        await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()
    if state["timed_out"]:
        reason = f"not graded: the notebook hit the time limit of {time_limit:g} s"
        graded.notes.append(f"stopped while {state['where']}: time limit of {time_limit:g} s")
        return reason
    return state.get("dead", "no result")


async def _execute(nb, path: Path, exercises, timeout, results, graded, state) -> None:
    nonce = secrets.token_hex(8)
    # error_on_timeout: after interrupting a cell that runs too long, move on at once instead of
    # waiting for a kernel that may ignore the interrupt (the time limit then stops it).
    client = NotebookClient(
        nb, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"timed out after {timeout:g} s",
                          "traceback": []},
        kernel_name="python3", shutdown_kernel="immediate",
        resources={"metadata": {"path": str(path.resolve().parent)}})
    try:
        # The kernel's own stderr is only Jupyter's log noise; cell output arrives via messages.
        async with client.async_setup_kernel(env=_kernel_env(), stderr=subprocess.DEVNULL):
            for index, cell in enumerate(list(nb.cells)):
                if cell.cell_type != "code":
                    continue
                state["where"] = f"running cell {index + 1}"
                timed_out = await _execute_cell(client, cell, index, timeout)
                _note_errors(cell, index, timed_out, timeout, graded)
            for exercise in exercises:
                state["where"] = f"checking {exercise.id}"
                cell = nbformat.v4.new_code_cell(_EMIT.format(exercise.id, nonce))
                nb.cells.append(cell)
                timed_out = await _execute_cell(client, cell, len(nb.cells) - 1, timeout)
                results[exercise.id] = _result(cell, nonce, exercise, timed_out, timeout)
    except DeadKernelError:
        if not state["timed_out"]:
            state["dead"] = f"not graded: the kernel died while {state['where']}"
            graded.notes.append(f"the kernel died while {state['where']}")
    finally:
        atexit.unregister(client._cleanup_kernel)


def _kernel_env() -> dict[str, str]:
    """The grader's environment, with the checks path made absolute (kernels run elsewhere)."""
    env = dict(os.environ)
    if env.get(CHECKS_PATH_ENV):
        env[CHECKS_PATH_ENV] = os.pathsep.join(
            str(Path(p).resolve()) for p in env[CHECKS_PATH_ENV].split(os.pathsep) if p)
    return env


def _errors(cell) -> list[dict]:
    return [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]


async def _execute_cell(client: NotebookClient, cell, index: int, timeout: float) -> bool:
    """Run one cell; True if it ran into the timeout (and was interrupted)."""
    start = time.monotonic()
    await client.async_execute_cell(cell, index)
    return time.monotonic() - start >= timeout


def _problem(cell, timed_out: bool, timeout: float) -> str | None:
    if timed_out:
        return f"timed out after {timeout:g} s and was interrupted"
    for error in _errors(cell):
        return f"raised {error.get('ename')}: {clean(str(error.get('evalue', '')))}".rstrip(": ")
    return None


def _note_errors(cell, index: int, timed_out: bool, timeout: float, graded: Graded) -> None:
    problem = _problem(cell, timed_out, timeout)
    if problem and "raises-exception" not in cell.metadata.get("tags", []):
        graded.notes.append(f"cell {index + 1} {problem}")


def _result(cell, nonce: str, exercise: Exercise, timed_out: bool, timeout: float) -> Result:
    text = "".join(out.get("text", "") for out in cell.outputs
                   if out.get("output_type") == "stream" and out.get("name") == "stdout")
    result = parse(text, nonce)
    if result is not None:
        return result
    problem = _problem(cell, timed_out, timeout) or "printed no result"
    return missing(exercise, f"the check {problem}")
