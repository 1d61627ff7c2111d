"""Loading batches in worker processes: spawned (never forked), in order, always shut down.

Workers are started with the ``spawn`` method: forking a process after numba/OpenMP threads ran
can deadlock or kill the child. The price: what the workers need (dataset, transform, collator)
is pickled, so it must be importable from a module, not defined in a notebook or ``__main__``.
"""
from __future__ import annotations

import multiprocessing as mp
import pickle
import queue
import signal
import time
import traceback
import weakref

from ._fetch import collate_batch, load_batch

_POLL_SECONDS = 0.1
_PREFETCH_PER_WORKER = 2


def _next_task(tasks, done, parent):
    """The next task, or None when it is time to stop (asked to, or the main process died)."""
    while not done.is_set():
        try:
            return tasks.get(timeout=1.0)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return None
    return None


def _worker_loop(tasks, results, done):
    """Body of a worker: unpickle (dataset, transform, collator) from the first message, then
    turn tasks ``(k, key, indices, samples)`` into ``(k, batch, error)`` sent on ``results``.

    Results go straight down a pipe from this thread (a ``Queue`` would hand them to a feeder
    thread, and waiting for the GIL there made batches several times slower)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    parent = mp.parent_process()
    try:
        payload = _next_task(tasks, done, parent)
        if payload is None:
            return
        try:
            dataset, transform, collator = pickle.loads(payload)
        except Exception:  # noqa: BLE001  (the main process re-raises it)
            results.send((None, None, traceback.format_exc()))
            return
        while (task := _next_task(tasks, done, parent)) is not None:
            k, key, indices, samples = task
            try:
                if samples is None:
                    batch = load_batch(dataset, indices, transform, collator, key)
                else:
                    batch = collate_batch(samples, transform, collator, key)
                results.send((k, batch, None))
            except (BrokenPipeError, ConnectionResetError):
                raise
            except Exception:  # noqa: BLE001  (the main process re-raises it)
                results.send((k, None, traceback.format_exc()))
    except (BrokenPipeError, ConnectionResetError):
        return  # the main process stopped listening: nothing left to do


def _shutdown(workers, task_queues, readers, done):
    """Stop the workers: ask, stop listening, wait briefly, then terminate; close everything."""
    done.set()
    for q in task_queues:
        q.put(None)
    for r in readers:
        r.close()  # a worker blocked sending a batch gets BrokenPipeError and exits
    deadline = time.monotonic() + 1.0
    for w in workers:
        w.join(timeout=max(0.0, deadline - time.monotonic()))
    for w in workers:
        if w.is_alive():
            w.terminate()
            w.join(timeout=5.0)
        if w.is_alive():
            w.kill()
            w.join()
    for q in task_queues:
        q.cancel_join_thread()
        q.close()


class WorkerIterator:
    """Yields the batches for ``tasks`` (an iterator of ``(key, indices, samples)``) in order,
    computed by ``num_workers`` spawned processes, each holding up to 2 tasks in advance.

    Batch k goes to worker ``k % num_workers``, which answers on its own pipe, so reading the
    pipes in turn gives the batches in order. The workers stop when the iteration ends, fails,
    is abandoned (``break``: the iterator is garbage-collected) or ``close()`` is called.
    ``timeout`` > 0 bounds the wait for one batch.
    """

    def __init__(self, dataset, transform, collator, tasks, num_workers: int, timeout: float = 0):
        ctx = mp.get_context("spawn")
        self._tasks = tasks
        self._timeout = timeout
        self._queues = [ctx.Queue() for _ in range(num_workers)]
        self._readers = []
        self._done = ctx.Event()
        self.workers = []
        self._finalizer = weakref.finalize(self, _shutdown, self.workers, self._queues,
                                           self._readers, self._done)
        try:  # pickled once, here, so that a pickling problem is raised right away
            payload = pickle.dumps((dataset, transform, collator), pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            self.close()
            raise TypeError(
                "num_workers > 0 sends the dataset, transform and collator to worker processes, "
                "so they must be picklable (no lambdas or local classes; define them in an "
                f"importable module): {exc}") from exc
        for q in self._queues:  # workers start in parallel and read the payload from the queue
            reader, writer = ctx.Pipe(duplex=False)
            w = ctx.Process(target=_worker_loop, args=(q, writer, self._done), daemon=True)
            w.start()
            writer.close()  # the worker has its own copy; ours would hide its death (no EOF)
            self.workers.append(w)
            self._readers.append(reader)
            q.put(payload)
        self._sent = self._next = 0
        self._exhausted = False
        for _ in range(_PREFETCH_PER_WORKER * num_workers):
            self._send()

    def _send(self):
        if self._exhausted:
            return
        try:
            key, indices, samples = next(self._tasks)
        except StopIteration:
            self._exhausted = True
            return
        self._queues[self._sent % len(self._queues)].put((self._sent, key, indices, samples))
        self._sent += 1

    def __iter__(self):
        return self

    def __next__(self):
        if self._next == self._sent:
            self.close()
            raise StopIteration
        try:
            batch = self._receive(self._next)
        except BaseException:
            self.close()
            raise
        self._next += 1
        self._send()
        return batch

    def _receive(self, k):
        worker, reader = self.workers[k % len(self.workers)], self._readers[k % len(self.workers)]
        start = time.monotonic()
        while not reader.poll(_POLL_SECONDS):
            if not worker.is_alive():
                break
            if self._timeout and time.monotonic() - start > self._timeout:
                raise TimeoutError(f"DataLoader timed out: no batch from the workers in "
                                   f"{self._timeout} s")
        try:
            j, batch, error = reader.recv()
        except EOFError:
            worker.join(timeout=1.0)
            raise RuntimeError(f"DataLoader worker (pid {worker.pid}) exited unexpectedly with "
                               f"exit code {worker.exitcode}.") from None
        if error is not None:
            what = f"on batch {j}" if j is not None else (
                "to start (it could not load the dataset/transform/collator: classes "
                "defined in a notebook or with `python -c` cannot be imported by a spawned "
                "process; move them into a .py module)")
            raise RuntimeError(f"DataLoader worker failed {what}:\n{error}")
        return batch

    def close(self):
        """Stop the workers now (safe to call more than once)."""
        self._finalizer()
