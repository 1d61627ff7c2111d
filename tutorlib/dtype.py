"""The dtype policy, in one place.

tutorlib follows MegEngine: tensors are float32 by default and integers are int32.
NumPy's 64-bit defaults are narrowed when data enters a Tensor or leaves an op; an integer that
does not fit int32 raises a ValueError instead of wrapping around. Only bool, integer and float
data is computed with: strings, objects and complex numbers raise a TypeError.

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
_KEEP = frozenset(np.dtype(t) for t in ("bool", "int8", "int16", "int32", "uint8", "uint16",
                                         "float16", "float32"))


def _refuse(dtype: np.dtype, what: str):
    kind = {"U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers"}.get(
        dtype.kind, f"dtype {dtype}")
    raise TypeError(f"{what}: cannot make a tensor from {kind} (dtype {dtype}); tutorlib "
                    "computes with bool, integer and float data")


def check_fits(array: np.ndarray, dtype: np.dtype, what: str = "tensor") -> None:
    """Raise ValueError if ``array`` has values that ``dtype`` (an integer dtype) cannot hold.

    >>> check_fits(np.array([2**31]), int32)
    Traceback (most recent call last):
    ...
    ValueError: tensor: value 2147483648 does not fit int32 (range -2147483648..2147483647); ...
    """
    if array.size == 0 or dtype.kind not in "iu" or array.dtype.kind not in "iuf":
        return
    info = np.iinfo(dtype)
    lo, hi = array.min(), array.max()
    if array.dtype.kind == "f" and not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{what}: cannot convert NaN or Inf to {dtype}")
    if lo < info.min or hi > info.max:
        bad = lo if lo < info.min else hi
        raise ValueError(f"{what}: value {bad} does not fit {dtype} (range {info.min}..{info.max}); "
                         "use a float dtype for values this large")


def canonical_dtype(dtype) -> np.dtype:
    """Map a dtype to the one tutorlib stores: float64 -> float32, int64/uint32/uint64 -> int32.

    >>> canonical_dtype("float64"), canonical_dtype("uint8")
    (dtype('float32'), dtype('uint8'))
    """
    dtype = np.dtype(dtype)
    return _NARROW.get(dtype, dtype)


def canonical(array: np.ndarray, what: str = "tensor") -> np.ndarray:
    """Return ``array`` with its dtype narrowed by :func:`canonical_dtype` (no copy if unchanged).

    >>> canonical(np.array([1j]))
    Traceback (most recent call last):
    ...
    TypeError: tensor: cannot make a tensor from complex numbers (dtype complex128); ...
    """
    target = _NARROW.get(array.dtype)
    if target is None:
        if array.dtype in _KEEP:
            return array
        if array.dtype.kind not in "biuf":
            _refuse(array.dtype, what)
        native = array.dtype.newbyteorder("=")
        if native != array.dtype:               # e.g. big-endian data from a file
            return canonical(array.astype(native), what)
        return array
    if target == array.dtype:
        return array
    if target.kind == "i":
        check_fits(array, target, what)
    return array.astype(target)


def as_array(value, dtype=None) -> np.ndarray:
    """Turn Python numbers, lists and arrays into a canonical numpy array.

    Python floats become float32, Python ints int32, bools bool.

    >>> as_array(1.5).dtype, as_array([1, 2]).dtype, as_array(True).dtype
    (dtype('float32'), dtype('int32'), dtype('bool'))
    """
    if dtype is not None:
        return to_dtype(value, dtype)
    return canonical(np.asarray(value))


def to_dtype(value, dtype, what: str = "tensor") -> np.ndarray:
    """``value`` as a new array of the canonical form of ``dtype``, refusing integers that do not
    fit it (no silent wrap-around) and dtypes tutorlib does not compute with.

    >>> to_dtype([1, 2], "int64").dtype
    dtype('int32')
    >>> to_dtype([300], "uint8")
    Traceback (most recent call last):
    ...
    ValueError: tensor: value 300 does not fit uint8 (range 0..255); use a float dtype for values this large
    """
    target = canonical_dtype(dtype)
    if target not in _KEEP:
        _refuse(target, what)
    source = value if isinstance(value, np.ndarray) else np.asarray(value)
    if source.dtype.kind not in "biuf":
        _refuse(source.dtype, what)
    if target.kind in "iu":
        check_fits(source, target, what)
    return np.array(source, dtype=target, copy=True)


def is_float(dtype) -> bool:
    """True for floating-point dtypes."""
    return np.issubdtype(dtype, np.floating)
