"""The dataset protocols: index-able ``Dataset``, iterable ``StreamDataset``, and two helpers."""
from __future__ import annotations

import bisect
from abc import ABC, abstractmethod

import numpy as np

from ..collator import Collator


class Dataset(ABC):
    """A map-style dataset: ``ds[i]`` is one sample (usually a tuple ``(data, label)``).

    Subclasses define ``__getitem__`` and ``__len__``.

    >>> class Squares(Dataset):
    ...     def __getitem__(self, i): return (i, i * i)
    ...     def __len__(self): return 4
    >>> Squares()[3], len(Squares())
    ((3, 9), 4)
    """

    @abstractmethod
    def __getitem__(self, index):
        ...

    @abstractmethod
    def __len__(self) -> int:
        ...


class StreamDataset(ABC):
    """An iterable dataset with no length or indexing (e.g. data read from a socket).

    Load it with ``DataLoader(ds, sampler=StreamSampler(batch_size))``.

    >>> class Count(StreamDataset):
    ...     def __iter__(self): return iter([(0,), (1,), (2,)])
    >>> list(Count())
    [(0,), (1,), (2,)]
    """

    @abstractmethod
    def __iter__(self):
        ...

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is a StreamDataset: iterate it, don't index it")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} is a StreamDataset: it has no length")


class ArrayDataset(Dataset):
    """Samples are rows of equally long arrays: ``ds[i] == tuple(a[i] for a in arrays)``.

    >>> ds = ArrayDataset(np.zeros((5, 2)), np.arange(5))
    >>> len(ds), ds[4]
    (5, (array([0., 0.]), np.int64(4)))
    >>> [a.shape for a in ds.get_batch([0, 3])]
    [(2, 2), (2,)]
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"ArrayDataset needs arrays of equal length, got lengths {lengths}")
        self.arrays = arrays

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def get_batch(self, indices):
        """The samples at ``indices`` already stacked: one array per column.

        Equals collating ``[self[i] for i in indices]`` with the default ``Collator``, but a numpy
        column is gathered with one fancy-indexing call. The ``DataLoader`` uses it to build
        batches without a Python loop over samples.
        """
        return tuple(a[indices] if isinstance(a, np.ndarray)
                     else Collator().apply([a[i] for i in indices]) for a in self.arrays)


class ConcatDataset(Dataset):
    """Several datasets one after the other.

    >>> ds = ConcatDataset([ArrayDataset(np.arange(3)), ArrayDataset(np.arange(10, 12))])
    >>> len(ds), ds[3]
    (5, (np.int64(10),))
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        for ds in self.datasets:
            if isinstance(ds, StreamDataset):
                raise TypeError("ConcatDataset cannot hold a StreamDataset")
        self.cumulative_sizes = np.cumsum([len(ds) for ds in self.datasets]).tolist()

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index out of range for ConcatDataset of length {len(self)}")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]


class SupervisedDataset(ArrayDataset):
    """An ``ArrayDataset`` of ``(data, target)`` pairs that also exposes the whole arrays.

    ``.data`` and ``.targets`` are the arrays themselves (no copy): train on all of them at once,
    or slice them.

    >>> ds = SupervisedDataset(np.zeros((4, 2, 2, 1), np.uint8), np.arange(4, dtype=np.int32))
    >>> ds.data.shape, ds.targets[1:3]
    ((4, 2, 2, 1), array([1, 2], dtype=int32))
    """

    def __init__(self, data, targets):
        super().__init__(data, targets)

    @property
    def data(self) -> np.ndarray:
        """All inputs, stacked on axis 0."""
        return self.arrays[0]

    @property
    def targets(self) -> np.ndarray:
        """All targets (labels), stacked on axis 0."""
        return self.arrays[1]
