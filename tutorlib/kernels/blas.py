"""How many OpenBLAS threads a matrix multiply gets: one for small ones, the configured count for big.

numpy's bundled OpenBLAS (scipy-openblas, pthreads) runs every GEMM on all its threads. For the
small GEMMs of a small network (a LeNet linear layer is 64x400 @ 400x120) the thread hand-off
costs more than the arithmetic, and on a busy machine it is catastrophic: a 2-thread GEMM waits
for its second thread to get a time slice (figures in ``benchmarks/README.md``, "Measurements
behind the code").

So the GEMMs of ``Linear`` (``tutorlib/ops/nn.py``) go through ``matmul``, which runs them inside
``with gemm_threads(m, n, k):``: OpenBLAS drops to 1 thread while the product has fewer than
``THREADED_MACS`` multiply-adds (m*n*k), and gets its previous count back afterwards. Bigger
GEMMs (a batch-256 MLP layer, 51M multiply-adds, is faster on 2 threads even on a busy machine)
keep the configured count, so ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` (read by OpenBLAS at
start-up) and runtime limits (``threadpoolctl``) are respected: the count in effect is read
before each GEMM and is the most a GEMM ever gets.

Convolutions use the threads differently (``run_chunks``): their work is already split into
chunks of images, so each chunk (im2col, GEMM, layout copies) runs on its own Python thread with
OpenBLAS set to 1 thread, the configured count giving the number of Python threads. The numba
loops release the GIL and so does numpy's matmul, so the chunks really run side by side, and
there is no OpenBLAS thread pool to spin-wait between the GEMMs and the loops (which, with
2-thread GEMMs between serial im2col loops, made a conv pass slower than on one thread).

OpenBLAS's thread count is one global setting: tutorlib assumes one Python thread at a time
runs its ops (as in a training loop; DataLoader workers do no GEMMs).

The thread count is read and set through ``threadpoolctl`` (the library scikit-learn uses for
this), which finds every OpenBLAS loaded into the process, whatever its symbol prefix (numpy's
scipy-openblas names them ``scipy_openblas_set_num_threads64_``); the libraries are looked up
once, then each change is one call into OpenBLAS's own ``openblas_set_num_threads``: a few
microseconds more per step than calling the symbols through ctypes ourselves, well below the
noise of a step (figures in ``benchmarks/README.md``). If numpy uses another BLAS (MKL,
Accelerate), ``gemm_threads`` does nothing.
"""
import contextlib
import os
from concurrent.futures import ThreadPoolExecutor

THREADED_MACS = 1 << 24  # ~17M multiply-adds (~0.5 ms on one core): below this, 1 thread
PARALLEL_MACS = 1 << 23  # a job split over Python threads must be at least this big (~1 ms)

_api = None  # (get, set) functions, or False if there is no OpenBLAS to talk to


def _find_api():
    """(get_num_threads, set_num_threads) of the OpenBLAS libraries loaded, or False if none."""
    from threadpoolctl import ThreadpoolController  # imported on first use: import stays quick

    libs = [lib for lib in ThreadpoolController().lib_controllers if lib.internal_api == "openblas"]
    if not libs:
        return False

    def set_(n):
        for lib in libs:
            lib.set_num_threads(n)

    return libs[0].get_num_threads, set_


def _get_api():
    global _api
    if _api is None:
        _api = _find_api()
    return _api


def available():
    """True if tutorlib found numpy's OpenBLAS and can set its thread count.

    >>> isinstance(available(), bool)
    True
    """
    return bool(_get_api())


def threads_for(m, n, k, configured):
    """Threads for an (m, k) @ (k, n) product when ``configured`` threads are allowed.

    >>> threads_for(64, 120, 400, 2), threads_for(16384, 64, 576, 2), threads_for(16384, 64, 576, 1)
    (1, 2, 1)
    """
    return configured if m * n * k >= THREADED_MACS else 1


@contextlib.contextmanager
def gemm_threads(m, n, k):
    """Run the block with the OpenBLAS thread count ``threads_for`` picks; restore it after.

    >>> import numpy as np
    >>> a = np.ones((4, 3), np.float32)
    >>> with gemm_threads(4, 4, 3):
    ...     (a @ a.T)[0, 0]
    np.float32(3.0)
    """
    api = _get_api()
    if not api:
        yield
        return
    get, set_ = api
    configured = get()
    wanted = threads_for(m, n, k, configured)
    if wanted == configured:
        yield
        return
    set_(wanted)
    try:
        yield
    finally:
        set_(configured)


@contextlib.contextmanager
def single_threaded():
    """OpenBLAS at 1 thread inside the block (restored after); a no-op without OpenBLAS."""
    api = _get_api()
    if not api or api[0]() == 1:
        yield
        return
    get, set_ = api
    configured = get()
    set_(1)
    try:
        yield
    finally:
        set_(configured)


def matmul(a, b):
    """``a @ b`` on the OpenBLAS thread count ``threads_for`` picks for its size.

    >>> import numpy as np
    >>> matmul(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))[0, 0]
    np.float32(3.0)
    """
    with gemm_threads(a.shape[0], b.shape[1], a.shape[1]):
        return a @ b


def budget():
    """The thread budget of tutorlib's kernels: OpenBLAS's configured thread count (1 if numpy's
    BLAS is not an OpenBLAS whose count tutorlib can read).

    >>> budget() >= 1
    True
    """
    api = _get_api()
    return max(1, api[0]()) if api else 1


def workers_for(macs):
    """Python threads for a chunked job of ``macs`` multiply-adds: OpenBLAS's configured count
    if the job is big enough (``PARALLEL_MACS``) and the count can be controlled, else 1.

    >>> workers_for(10)
    1
    """
    return 1 if macs < PARALLEL_MACS else budget()


_pool = None  # (pid, workers, ThreadPoolExecutor), created on first use


def _executor(workers):
    """The shared thread pool (a new one after a fork: the parent's threads do not exist there)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid() or _pool[1] != workers:
        if _pool is not None and _pool[0] == os.getpid():
            _pool[2].shutdown(wait=False)  # the thread count changed: retire the old pool
        _pool = (os.getpid(), workers, ThreadPoolExecutor(workers, thread_name_prefix="tutorlib"))
    return _pool[2]


def run_chunks(fn, chunks, workers):
    """``[fn(n0, n1) for n0, n1 in chunks]`` on ``workers`` Python threads, OpenBLAS at 1 thread.

    ``fn`` must only write to its own chunk's part of shared arrays (per-thread scratch comes
    from ``threading.local``). Results come back in chunk order; an exception in any chunk is
    raised here, once every thread has finished.

    Each thread takes a fixed share of the chunks (thread i: chunks i, i + workers, ...; the
    chunks are of equal size, see ``conv._chunks``), the calling thread included: one hand-off
    per thread and call instead of one per chunk, which matters when chunks take microseconds
    and the other core is busy.

    >>> run_chunks(lambda a, b: b - a, [(0, 2), (2, 5), (5, 6)], 2)
    [2, 3, 1]
    """
    with single_threaded():
        if workers <= 1 or len(chunks) <= 1:
            return [fn(n0, n1) for n0, n1 in chunks]
        workers = min(workers, len(chunks))
        results = [None] * len(chunks)

        def share(first):
            for i in range(first, len(chunks), workers):
                results[i] = fn(*chunks[i])

        pool = _executor(workers - 1)
        others = [pool.submit(share, first) for first in range(1, workers)]
        try:
            share(0)
        finally:
            errors = [f.exception() for f in others]  # waits for every thread
        for error in errors:
            if error is not None:
                raise error
        return results
