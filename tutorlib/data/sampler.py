"""Samplers decide which indices go into each batch; iterating one yields lists of indices."""
from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np

from ._seed import fresh_seed


class Sampler(ABC):
    """Anything the ``DataLoader`` can iterate to get batches of indices.

    >>> class EvensFirst(Sampler):
    ...     def __iter__(self): return iter([[0, 2], [1, 3]])
    >>> list(EvensFirst())
    [[0, 2], [1, 3]]
    """

    @abstractmethod
    def __iter__(self):
        ...


class MapSampler(Sampler):
    """Base of the index samplers: splits the indices from ``sample()`` into batches.

    ``len(sampler)`` is the number of batches: ``ceil(num_samples / batch_size)``, or the floor
    with ``drop_last=True`` (the short last batch is dropped). ``self.rng`` is a
    ``np.random.RandomState`` seeded with ``seed`` (MegEngine draws from the same kind, so a
    seeded ``RandomSampler`` gives MegEngine's order). Without ``seed`` the seed comes from the
    library's global generator: ``tutorlib.random.seed(n)`` beforehand makes runs repeatable.
    Subclasses define ``sample()``, the list of one epoch's indices.

    >>> class Backwards(MapSampler):
    ...     def sample(self): return range(len(self.dataset) - 1, -1, -1)
    >>> list(Backwards(range(5), batch_size=2)), len(Backwards(range(5), batch_size=2))
    ([[4, 3], [2, 1], [0]], 3)
    """

    def __init__(self, dataset, batch_size=1, drop_last=False, num_samples=None, seed=None):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a bool, got {drop_last!r}")  # noqa: TRY004
        if num_samples is None:
            num_samples = len(dataset)
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer, got {num_samples!r}")
        if batch_size > num_samples:
            raise ValueError(f"batch_size={batch_size} is larger than the {num_samples} samples")
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.num_samples = num_samples
        self.seed = fresh_seed() if seed is None else seed
        self.rng = np.random.RandomState(self.seed)

    @abstractmethod
    def sample(self) -> list:
        """All indices of one epoch, in order."""

    def __iter__(self):
        indices = list(self.sample())
        stop = len(indices) - len(indices) % self.batch_size if self.drop_last else len(indices)
        return iter([indices[i:i + self.batch_size] for i in range(0, stop, self.batch_size)])

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)


def _check_indices(indices):
    if indices is not None and not hasattr(indices, "__len__"):
        raise ValueError(f"indices should be None or a sequence, got {indices!r}")
    return indices


class SequentialSampler(MapSampler):
    """Indices ``0, 1, 2, ...`` in order (or the given ``indices``), in batches.

    >>> list(SequentialSampler(range(5), batch_size=2))
    [[0, 1], [2, 3], [4]]
    >>> len(SequentialSampler(range(5), batch_size=2, drop_last=True))
    2
    """

    def __init__(self, dataset, batch_size=1, drop_last=False, indices=None):
        self.indices = _check_indices(indices)
        num = len(dataset) if indices is None else len(indices)
        super().__init__(dataset, batch_size, drop_last, num_samples=num, seed=0)

    def sample(self):
        return range(len(self.dataset)) if self.indices is None else list(self.indices)


class RandomSampler(MapSampler):
    """A new random permutation of the indices every epoch (sampling without replacement).

    >>> sampler = RandomSampler(range(6), batch_size=3, seed=0)
    >>> epoch1, epoch2 = list(sampler), list(sampler)
    >>> epoch1 != epoch2, sorted(sum(epoch1, []))
    (True, [0, 1, 2, 3, 4, 5])
    >>> list(RandomSampler(range(6), batch_size=3, seed=0)) == epoch1   # seeded: repeatable
    True
    """

    def __init__(self, dataset, batch_size=1, drop_last=False, indices=None, seed=None):
        self.indices = _check_indices(indices)
        num = len(dataset) if indices is None else len(indices)
        super().__init__(dataset, batch_size, drop_last, num_samples=num, seed=seed)

    def sample(self):
        if self.indices is None:
            return self.rng.permutation(len(self.dataset)).tolist()
        return self.rng.permutation(self.indices).tolist()


class ReplacementSampler(MapSampler):
    """``num_samples`` indices drawn with replacement, optionally with (unnormalised) ``weights``.

    >>> sampler = ReplacementSampler(range(3), batch_size=4, num_samples=8, weights=[0, 0, 1], seed=0)
    >>> list(sampler)
    [[2, 2, 2, 2], [2, 2, 2, 2]]
    """

    def __init__(self, dataset, batch_size=1, drop_last=False, num_samples=None, weights=None,
                 seed=None):
        super().__init__(dataset, batch_size, drop_last, num_samples=num_samples, seed=seed)
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (len(dataset),):
                raise ValueError(f"weights needs one entry per sample ({len(dataset)}), "
                                 f"got shape {weights.shape}")
            if (weights < 0).any() or weights.sum() <= 0:
                raise ValueError("weights must be non-negative with a positive sum")
            weights = weights / weights.sum()
        self.weights = weights

    def sample(self):
        return self.rng.choice(len(self.dataset), self.num_samples, p=self.weights).tolist()


class Infinite(Sampler):
    """Repeat a sampler forever: each pass through it starts a new epoch.

    >>> it = iter(Infinite(SequentialSampler(range(3), batch_size=2)))
    >>> [next(it) for _ in range(3)]
    [[0, 1], [2], [0, 1]]
    """

    def __init__(self, sampler):
        self.sampler = sampler
        self.dataset = getattr(sampler, "dataset", None)
        self.batch_size = getattr(sampler, "batch_size", None)

    def __iter__(self):
        while True:
            yield from self.sampler

    def __len__(self) -> int:
        return int(np.iinfo(np.int64).max)


class StreamSampler(Sampler):
    """For a ``StreamDataset``: the ``DataLoader`` groups every ``batch_size`` samples of the stream.

    Iterating it yields, forever, how many samples the next batch takes from the stream.

    >>> StreamSampler(batch_size=8).batch_size
    8
    """

    def __init__(self, batch_size=1):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        self.batch_size = batch_size

    def __iter__(self):
        while True:
            yield self.batch_size
