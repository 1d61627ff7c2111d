"""The dtype policy, in one place.

tutorlib follows MegEngine: tensors are float32 by default and integers are int32.
NumPy's 64-bit defaults are narrowed when data enters a Tensor or leaves an op.

>>> import numpy as np
>>> canonical(np.zeros(2)).dtype, canonical(np.arange(3)).dtype
(dtype('float32'), dtype('int32'))
"""
from __future__ import annotations

import numpy as np

float32 = np.dtype("float32")
int32 = np.dtype("int32")

_NARROW = {np.dtype("float64"): float32, np.dtype("int64"): int32, np.dtype("uint64"): int32,
           np.dtype("uint32"): int32, np.dtype("float16"): np.dtype("float16")}


def canonical_dtype(dtype) -> np.dtype:
    """Map a dtype to the one tutorlib stores: float64 -> float32, int64/uint32/uint64 -> int32.

    >>> canonical_dtype("float64"), canonical_dtype("uint8")
    (dtype('float32'), dtype('uint8'))
    """
    dtype = np.dtype(dtype)
    return _NARROW.get(dtype, dtype)


def canonical(array: np.ndarray) -> np.ndarray:
    """Return ``array`` with its dtype narrowed by :func:`canonical_dtype` (no copy if unchanged)."""
    target = _NARROW.get(array.dtype)
    if target is None or target == array.dtype:
        return array
    return array.astype(target)


def as_array(value, dtype=None) -> np.ndarray:
    """Turn Python numbers, lists and arrays into a canonical numpy array.

    Python floats become float32, Python ints int32, bools bool.

    >>> as_array(1.5).dtype, as_array([1, 2]).dtype, as_array(True).dtype
    (dtype('float32'), dtype('int32'), dtype('bool'))
    """
    if dtype is not None:
        return np.asarray(value, dtype=canonical_dtype(dtype))
    return canonical(np.asarray(value))


def is_float(dtype) -> bool:
    """True for floating-point dtypes."""
    return np.issubdtype(dtype, np.floating)
