"""Compare a student's value with the expected one and say, in words, what differs.

Everything here is deterministic text (no memory addresses, no timings), so feedback can be
stored in notebooks and compared by nbval.

>>> describe(np.zeros((2, 3)))
'float64 array of shape (2, 3): [[0., 0., 0.], [0., 0., 0.]]'
>>> mismatch(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0]))
'1 of 3 entries differ (rtol=1e-05, atol=1e-08); at [1]: expected 2.5, got 2'
>>> mismatch(np.ones(3), np.ones((3, 1))) is None
False
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_MAX_SHOWN = 3


def as_array(value: Any) -> np.ndarray:
    """``value`` as a numpy array; objects with a ``.numpy()`` method (tensors) are converted."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    return np.asarray(value)


def describe(value: Any, limit: int = 12) -> str:
    """A short, address-free description: dtype, shape and (if small) the values of an array.

    >>> describe(2 / 3), describe(None), describe(np.arange(20))
    ('0.666667', 'None', 'int64 array of shape (20,)')
    """
    if hasattr(value, "numpy") and callable(value.numpy):
        return type(value).__name__ + " holding " + describe(value.numpy(), limit)
    if isinstance(value, np.ndarray):
        text = f"{value.dtype} array of shape {value.shape}"
        if 0 < value.size <= limit:
            body = np.array2string(value, precision=4, separator=", ", threshold=limit)
            text += ": " + " ".join(body.split())
        return text
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text if any(c in text for c in ".ein") else text + ".0"
    return clean(repr(value), 80)


def clean(text: str, limit: int = 200) -> str:
    """``text`` without memory addresses, cut to ``limit`` characters.

    >>> clean("<function f at 0x7f3a2b>")
    '<function f>'
    """
    text = _ADDRESS.sub("", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def mismatch(got: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-8) -> str | None:
    """``None`` if ``got`` matches ``expected`` within tolerances, else what differs.

    Arrays must have the expected shape; numbers are compared with ``np.isclose``; anything
    else with ``==``. The first differing entries are named by index.

    >>> mismatch(2.0, 2.0 + 1e-9) is None
    True
    >>> mismatch("abc", "abd")
    "expected 'abd', got 'abc'"
    """
    want = np.asarray(expected)
    if want.dtype.kind not in "biufc":
        return None if _equal(got, expected) else f"expected {describe(expected)}, got {describe(got)}"
    try:
        have = as_array(got)
    except Exception as error:  # a value numpy cannot even convert
        return f"expected a number or array, got {describe(got)} ({type(error).__name__})"
    if have.dtype.kind not in "biufc":
        return f"expected numbers, got {describe(got)}"
    if have.shape != want.shape:
        return f"shape {have.shape}, expected shape {want.shape}"
    close = np.isclose(have, want, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    if want.ndim == 0:
        return f"off by {_number(abs(have - want))} (rtol={rtol:g}, atol={atol:g})"
    wrong = np.argwhere(~close)
    text = f"{len(wrong)} of {want.size} entries differ (rtol={rtol:g}, atol={atol:g})"
    for index in wrong[:_MAX_SHOWN]:
        at = tuple(int(i) for i in index)
        text += (f"; at {list(at)}: expected {_number(want[at])}, got {_number(have[at])}")
    return text


def _equal(got: Any, expected: Any) -> bool:
    try:
        return bool(got == expected)
    except Exception:  # e.g. an array compared with a string
        return False


def _number(value: Any) -> str:
    return f"{np.asarray(value).item():.6g}"
