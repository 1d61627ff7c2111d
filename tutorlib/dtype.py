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


# ---- quantized dtypes (MegEngine's core/tensor/dtype.py) ---------------------------------------
# A quantized dtype is a numpy integer dtype whose metadata carries the scale (and zero point):
# real = scale * (q - zero_point). Arrays keep the metadata through reshapes and copies, so a
# quantized tensor knows its own scale.
from typing import NamedTuple


class QuantDtypeMeta(NamedTuple):
    """Name, MegEngine C name, storage dtype and integer range of a quantized dtype."""

    name: str
    cname: str
    np_dtype: str
    qmin: int
    qmax: int


QUANT_DTYPES = {m.name: m for m in (
    QuantDtypeMeta("qint8", "QuantizedS8", "int8", -128, 127),
    QuantDtypeMeta("qint8_narrow", "QuantizedS8", "int8", -127, 127),
    QuantDtypeMeta("quint8", "Quantized8Asymm", "uint8", 0, 255),
    QuantDtypeMeta("qint4", "QuantizedS4", "int8", -8, 7),
    QuantDtypeMeta("quint4", "Quantized4Asymm", "uint8", 0, 15),
    QuantDtypeMeta("qint32", "QuantizedS32", "int32", -2**31, 2**31 - 1),
)}


def _quantized_dtype(name: str, scale: float, zero_point: int | None = None) -> np.dtype:
    meta = QUANT_DTYPES[name]
    info = {"name": meta.cname, "scale": float(scale), "qmin": meta.qmin, "qmax": meta.qmax,
            "quant_name": name}
    if zero_point is not None:
        if not meta.qmin <= zero_point <= meta.qmax:
            raise ValueError(f"{name}: zero_point {zero_point} is outside [{meta.qmin}, {meta.qmax}]")
        info["zero_point"] = int(zero_point)
    return np.dtype(meta.np_dtype, metadata={"mgb_dtype": info})


def qint8(scale: float) -> np.dtype:
    """Signed 8-bit, real = scale * q, q in [-128, 127].

    >>> dt = qint8(0.5)
    >>> dt, get_scale(dt), is_quantize(dt), is_quantize(np.dtype("int8"))
    (dtype('int8'), 0.5, True, False)
    """
    return _quantized_dtype("qint8", scale)


def qint8_narrow(scale: float) -> np.dtype:
    """Signed 8-bit on the symmetric range [-127, 127] (weights), real = scale * q."""
    return _quantized_dtype("qint8_narrow", scale)


def quint8(scale: float, zero_point: int) -> np.dtype:
    """Unsigned 8-bit, real = scale * (q - zero_point), q in [0, 255].

    >>> get_zero_point(quint8(0.1, 128)), quantized_range(quint8(0.1, 128))
    (128, (0, 255))
    """
    return _quantized_dtype("quint8", scale, zero_point)


def qint4(scale: float) -> np.dtype:
    """Signed 4-bit values [-8, 7], stored one per int8."""
    return _quantized_dtype("qint4", scale)


def quint4(scale: float, zero_point: int) -> np.dtype:
    """Unsigned 4-bit values [0, 15] with a zero point, stored one per uint8."""
    return _quantized_dtype("quint4", scale, zero_point)


def qint32(scale: float) -> np.dtype:
    """Signed 32-bit (accumulators and biases: scale = s_input * s_weight)."""
    return _quantized_dtype("qint32", scale)


def _mgb(dtype) -> dict:
    info = (np.dtype(dtype).metadata or {}).get("mgb_dtype")
    if info is None:
        raise ValueError(f"{np.dtype(dtype)} is not a quantized dtype (use dtype.qint8(scale), ...)")
    return info


def is_quantize(dtype) -> bool:
    """True for the quantized dtypes made by ``qint8``, ``quint8``, ... (MegEngine's name)."""
    return isinstance(dtype, np.dtype) and "mgb_dtype" in (dtype.metadata or {})


def get_scale(dtype) -> float:
    """The scale of a quantized dtype."""
    return _mgb(dtype)["scale"]


def get_zero_point(dtype) -> int:
    """The zero point of a quantized dtype (0 for the signed, symmetric ones)."""
    return _mgb(dtype).get("zero_point", 0)


def quantized_range(dtype) -> tuple:
    """``(qmin, qmax)`` of a quantized dtype."""
    info = _mgb(dtype)
    return info["qmin"], info["qmax"]


def convert_to_quantized(array, dtype) -> np.ndarray:
    """``clip(round(x / scale) + zero_point, qmin, qmax)`` stored as ``dtype`` (half to even).

    >>> q = convert_to_quantized(np.array([0.26, -1.0, 99.0]), qint8(0.5))
    >>> q, convert_from_quantized(q)
    (array([  1,  -2, 127], dtype=int8), array([ 0.5, -1. , 63.5], dtype=float32))
    """
    qmin, qmax = quantized_range(dtype)
    q = np.rint(np.asarray(array, np.float64) / get_scale(dtype)) + get_zero_point(dtype)
    return np.clip(q, qmin, qmax).astype(dtype)


def convert_from_quantized(array: np.ndarray) -> np.ndarray:
    """``scale * (q - zero_point)`` as float32, reading scale and zero point from the dtype."""
    return ((array.astype(np.float64) - get_zero_point(array.dtype))
            * get_scale(array.dtype)).astype(np.float32)
