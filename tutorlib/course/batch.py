"""Grading a batch of submissions: N threads on this machine, or one Dask task per submission.

Both ways run the same function, ``execute.grade_submission(name, notebook_bytes, settings)``,
which grades one submission in its sandbox and returns its record; they differ only in where it
runs. So a cluster grades exactly as a laptop does (``tests/test_course_dask.py`` compares
them):

* ``LocalRunner(jobs)``: a thread pool here; each thread drives one sandboxed kernel.
* ``DaskRunner(address)``: a ``distributed.Client`` connected to a running scheduler; each
  submission is a task whose argument is the notebook's bytes and whose result is the record.
  The workers need tutorlib (with its checks) installed, and the datasets in their
  ``TUTORLIB_DATA``; nothing else travels. A worker that dies mid-task has its task run again
  on another one (Dask's ``distributed.scheduler.allowed-failures``, 3 by default); a task
  that fails even so becomes a ``grading error`` record, so every submission is reported once.

``run_batch`` feeds a runner a bounded number of submissions at a time (the files are read as
they are sent, so a class's notebooks are never all in memory) and yields each record as it
finishes. Closing it early (Ctrl-C) cancels what has not started and kills this batch's
kernels.
"""

from __future__ import annotations

import hashlib
import queue
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tutorlib.course.execute import Graded, Settings, failed_record, grade_submission
from tutorlib.course.sandbox import Limits, cancel_batch, choose_mode


class LocalRunner:
    """``jobs`` submissions at a time, each in a thread of this process driving its kernel."""

    def __init__(self, jobs: int = 1):
        self.jobs = max(1, jobs)
        self.pool = ThreadPoolExecutor(max_workers=self.jobs)

    def window(self) -> int:
        """How many submissions to hand over before waiting for one to finish."""
        return self.jobs

    def submit(self, name: str, notebook: bytes, settings: Settings):
        return self.pool.submit(grade_submission, name, notebook, settings)

    def cancel(self, settings: Settings) -> None:
        """Stop the batch: kill its kernels, so that their threads return at once."""
        cancel_batch(settings.batch)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskRunner:
    """One task per submission on the Dask cluster whose scheduler is at ``address``
    (``tcp://host:8786``). Needs the ``grading`` extra: ``pip install 'tutorlib[grading]'``."""

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError:
            raise ImportError("--scheduler needs Dask: pip install 'tutorlib[grading]'") from None
        self.client = Client(address, timeout="30s")

    def window(self) -> int:
        """Twice the worker threads (at least 32): workers never wait for work, workers that
        join later get some, and the client holds only that many notebooks."""
        return max(32, 2 * sum(self.client.nthreads().values()))

    def submit(self, name: str, notebook: bytes, settings: Settings):
        key = f"grade-{hashlib.sha256(notebook).hexdigest()[:16]}-{secrets.token_hex(4)}"
        return self.client.submit(grade_submission, name, notebook, settings, key=key,
                                  pure=False)

    def cancel(self, settings: Settings) -> None:
        """Stop the batch: Dask cannot stop a task that is running, but killing its kernel
        (on whichever worker runs it) makes it return at once."""
        try:
            self.client.run(cancel_batch, settings.batch)
        except Exception:  # a worker gone meanwhile: nothing of ours runs there
            pass

    def close(self) -> None:
        self.client.close()


def run_batch(items: list[tuple[str, Path]], settings: Settings, runner) -> Iterator[dict]:
    """Grade ``items`` (``(name, path)`` pairs) with ``runner`` and yield each record as it
    finishes, in whatever order. A task that raised (on every worker it was tried on) yields a
    ``grading error`` record. The runner is closed when the generator is; closed early, it
    cancels the batch first (``settings.batch`` names it: use a fresh one for each batch)."""
    done: queue.Queue = queue.Queue()
    pending: dict = {}
    todo = iter(items)

    def feed() -> None:
        while len(pending) < runner.window():
            item = next(todo, None)
            if item is None:
                return
            name, path = item
            try:
                data = Path(path).read_bytes()
            except OSError as error:   # gone since it was listed: reported, not lost
                unreadable.append(failed_record(name, b"", settings, f"grading error: {error}"))
                continue
            future = runner.submit(name, data, settings)
            pending[future] = (name, data)
            future.add_done_callback(done.put)

    unreadable: list[dict] = []
    try:
        feed()
        while pending or unreadable:
            if unreadable:
                yield unreadable.pop()
                continue
            try:
                future = done.get(timeout=0.5)   # a timeout, so that Ctrl-C gets through
            except queue.Empty:
                continue
            name, data = pending.pop(future)
            try:
                record = future.result()
            except Exception as error:
                record = failed_record(name, data, settings,
                                       f"grading error: {type(error).__name__}: {error}")
            del future   # the result is here: the worker may forget it
            yield record
            feed()
    finally:
        if pending:   # closed early (Ctrl-C): stop what is left of this batch
            for future in pending:
                future.cancel()
            runner.cancel(settings)
        runner.close()


def grade_many(paths: list[Path], *, timeout: float, time_limit: float, jobs: int = 1,
               chapter: str | None = None, sandbox: str | None = None,
               limits: Limits | None = None, fresh_seed: bool = True,
               trust_metadata: bool = False) -> list[Graded]:
    """Grade every path here, ``jobs`` at a time, and return them in the order given, once
    every kernel and every process it started is gone. ``fresh_seed`` draws a secret seed for
    this run's inputs; without it the checks use their fixed seeds (as in the notebook).
    ``trust_metadata`` lets ``metadata.tutorlib.chapter`` name the chapter (``validate``)."""
    settings = Settings(timeout=timeout, time_limit=time_limit, chapter=chapter,
                        sandbox=sandbox or choose_mode(None), limits=limits or Limits(),
                        seed=secrets.randbits(63) if fresh_seed else None,
                        trust_metadata=trust_metadata, batch=secrets.token_hex(8))
    items = [(str(p), Path(p)) for p in paths]
    records = {r["submission"]: r for r in run_batch(items, settings, LocalRunner(jobs))}
    return [Graded.from_record(records[name]) for name, _ in items]
