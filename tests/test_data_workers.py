"""DataLoader worker processes: spawned, ordered, identical to one process, always cleaned up."""
import multiprocessing as mp
import os
import signal
import time

import numpy as np
import pytest
from data_helpers import SlowDataset

import tutorlib.data.transform as T
from tutorlib.data import ArrayDataset, DataLoader, RandomSampler, SequentialSampler


def dataset(n=200):
    rng = np.random.default_rng(0)
    return ArrayDataset(rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                        np.arange(n, dtype=np.int32))


def augment():
    return T.Compose([T.RandomCrop(32, padding_size=4, seed=1), T.RandomHorizontalFlip(seed=2),
                      T.Normalize(128.0, 64.0), T.ToMode("CHW")])


def assert_no_workers_left(workers=()):
    deadline = time.monotonic() + 5
    while mp.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mp.active_children() == []
    assert all(not w.is_alive() and w.exitcode is not None for w in workers)


def test_workers_keep_order_and_match_one_process():
    ds = dataset()
    serial = DataLoader(ds, RandomSampler(ds, batch_size=16, seed=3), transform=augment())
    parallel = DataLoader(ds, RandomSampler(ds, batch_size=16, seed=3), transform=augment(),
                          num_workers=2)
    for _ in range(2):  # two epochs: random crops change, and still agree
        expected = list(serial)
        it = iter(parallel)
        assert all(type(w).__name__ == "SpawnProcess" for w in it.workers)  # never fork
        got = list(it)
        assert len(got) == len(expected) == 13
        for (xe, ye), (xg, yg) in zip(expected, got, strict=True):
            np.testing.assert_array_equal(xg, xe)
            np.testing.assert_array_equal(yg, ye)
        assert_no_workers_left(it.workers)


def test_break_and_garbage_collection_stop_the_workers():
    ds = dataset()
    loader = DataLoader(ds, SequentialSampler(ds, batch_size=4), num_workers=2)
    for i, _ in enumerate(loader):
        if i == 1:
            break
    assert_no_workers_left()
    it = iter(loader)
    next(it)
    workers = list(it.workers)
    del it
    assert_no_workers_left(workers)


def test_an_error_in_a_worker_is_raised_with_its_traceback():
    ds = dataset(10)
    loader = DataLoader(ds, SequentialSampler(ds, batch_size=4, indices=[0, 1, 2, 3, 99]),
                        num_workers=2)
    it = iter(loader)
    with pytest.raises(RuntimeError, match="(?s)worker failed on batch 1.*IndexError"):
        list(it)
    assert_no_workers_left(it.workers)


def test_a_killed_worker_is_reported():
    ds = SlowDataset(n=8, delay=0.5)
    it = iter(DataLoader(ds, SequentialSampler(ds, batch_size=1), num_workers=2))
    os.kill(it.workers[0].pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(it)
    assert_no_workers_left(it.workers)


def test_timeout():
    ds = SlowDataset(n=4, delay=30)
    it = iter(DataLoader(ds, SequentialSampler(ds, batch_size=1), num_workers=1, timeout=0.5))
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="0.5 s"):
        next(it)
    assert time.monotonic() - start < 10  # startup + 0.5 s, not the 30 s the sample takes
    assert_no_workers_left(it.workers)


def test_unpicklable_transform_is_a_clear_error():
    ds = dataset(10)
    transform = T.Normalize(0.0, 1.0)
    transform.hook = lambda x: x
    with pytest.raises(TypeError, match="picklable"):
        iter(DataLoader(ds, SequentialSampler(ds, batch_size=2), transform=transform,
                        num_workers=2))
    assert_no_workers_left()


def test_workers_start_safely_after_parallel_numba():
    numba = pytest.importorskip("numba")

    @numba.njit(parallel=True)
    def total(x):
        s = 0.0
        for i in numba.prange(x.shape[0]):
            s += x[i]
        return s

    assert total(np.ones(1000)) == 1000.0  # OpenMP/TBB threads now exist in this process
    ds = dataset(32)
    batches = list(DataLoader(ds, SequentialSampler(ds, batch_size=8), num_workers=2))
    assert [b[1][0] for b in batches] == [0, 8, 16, 24]
    assert_no_workers_left()


def test_a_class_workers_cannot_import_is_explained(monkeypatch):
    import sys

    class Ghost(ArrayDataset):  # like a class defined in a notebook: lives only in __main__
        pass

    Ghost.__module__, Ghost.__qualname__ = "__main__", "Ghost"
    monkeypatch.setattr(sys.modules["__main__"], "Ghost", Ghost, raising=False)
    ds = Ghost(np.zeros((4, 2)))
    it = iter(DataLoader(ds, SequentialSampler(ds, batch_size=2), num_workers=1))
    with pytest.raises(RuntimeError, match="(?s)failed to start.*notebook.*Ghost"):
        next(it)
    assert_no_workers_left(it.workers)
