"""The library's one seeded random generator (``tutorlib.random``).

Everything random in tutorlib (initialisation, dropout, samplers without an explicit seed,
random transforms) draws from :func:`generator`, so ``seed(n)`` makes a whole run repeatable.

>>> seed(20200325)
>>> a = normal(size=(2,))
>>> seed(20200325)
>>> bool((a == normal(size=(2,))).numpy().all())
True
"""
from __future__ import annotations

import time

import numpy as np

from .device import CPU
from .tensor import Tensor

_state = {"rng": np.random.default_rng(int(time.time()))}


def seed(seed: int) -> None:
    """Reset the library's generator to a fixed seed."""
    _state["rng"] = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The library-wide numpy Generator (for library code that needs randomness)."""
    return _state["rng"]


def _tensor(array) -> Tensor:
    return Tensor._wrap(array, CPU)


def normal(mean: float = 0.0, std: float = 1.0, size=None):
    """Samples from N(mean, std²) as a float32 Tensor.

    >>> normal(size=(2, 3)).shape
    (2, 3)
    """
    return _tensor(generator().normal(mean, std, size=size).astype(np.float32))


def uniform(low: float = 0.0, high: float = 1.0, size=None):
    """Samples from U[low, high) as a float32 Tensor."""
    return _tensor(generator().uniform(low, high, size=size).astype(np.float32))


def permutation(n, *, dtype: str = "int32"):
    """A random permutation of ``range(n)`` (or of a tensor's first axis) as a Tensor.

    >>> sorted(permutation(4).tolist())
    [0, 1, 2, 3]
    """
    if isinstance(n, int):
        return _tensor(generator().permutation(n).astype(dtype))
    data = np.asarray(n)
    return _tensor(data[generator().permutation(len(data))])


def shuffle(inp) -> None:
    """Shuffle a tensor's first axis in place."""
    inp._data = inp._data[generator().permutation(len(inp._data))]
