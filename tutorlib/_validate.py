"""Checks of Python arguments at the public boundary, each raising an error that names the op,
the argument and the value.

Functions, layers and optimizers call these on their *scalar* arguments (a stride, a learning
rate, an axis) before any kernel runs, so a mistake reads ``conv2d: stride must be a positive
int or a pair of them, got 0`` instead of a ZeroDivisionError from deep inside. They never look
at tensor elements, so they cost nothing per element.

>>> positive_int("Linear", "in_features", 784)
784
>>> real("SGD", "lr", float("nan"), low=0.0)
Traceback (most recent call last):
...
ValueError: SGD: lr must be a finite number >= 0, got nan
"""
from __future__ import annotations

import math
import numbers


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(op: str, arg: str, value, low: int | None = None) -> int:
    """``value`` as an int, refusing bools, floats and anything below ``low``.

    >>> integer("split", "nsplits", 3, low=1)
    3
    >>> integer("split", "nsplits", 2.0)
    Traceback (most recent call last):
    ...
    TypeError: split: nsplits must be an int, got 2.0 (float)
    """
    if not _is_int(value):
        raise TypeError(f"{op}: {arg} must be an int, got {value!r} ({type(value).__name__})")
    if low is not None and value < low:
        raise ValueError(f"{op}: {arg} must be an int >= {low}, got {value!r}")
    return int(value)


def positive_int(op: str, arg: str, value) -> int:
    """An int >= 1 (sizes, counts, strides)."""
    return integer(op, arg, value, low=1)


def int_pair(op: str, arg: str, value, low: int = 1) -> tuple:
    """An int or a pair of ints, each >= ``low``, as a pair (kernel sizes, strides, padding).

    >>> int_pair("max_pool2d", "kernel_size", 2), int_pair("conv2d", "padding", (0, 1), low=0)
    ((2, 2), (0, 1))
    >>> int_pair("conv2d", "stride", 0)
    Traceback (most recent call last):
    ...
    ValueError: conv2d: stride must be an int >= 1 or a pair of them, got 0
    """
    pair = (value, value) if _is_int(value) else value
    try:
        pair = tuple(pair)
    except TypeError:
        raise TypeError(f"{op}: {arg} must be an int or a pair of ints, got {value!r}") from None
    if len(pair) != 2 or not all(_is_int(v) for v in pair):
        raise TypeError(f"{op}: {arg} must be an int or a pair of ints, got {value!r}")
    if min(pair) < low:
        raise ValueError(f"{op}: {arg} must be an int >= {low} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def real(op: str, arg: str, value, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float in the given range (open ends exclude the bound).

    >>> real("Adam", "beta1", 0.9, low=0.0, high=1.0, high_open=True)
    0.9
    >>> real("SGD", "lr", "0.1", low=0.0)
    Traceback (most recent call last):
    ...
    TypeError: SGD: lr must be a number, got '0.1' (str)
    """
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{op}: {arg} must be a number, got {value!r} ({type(value).__name__})")
    x = float(value)
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if not math.isfinite(x) or too_low or too_high:
        if low is not None and high is not None:
            rng = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            rng = f"{'>' if low_open else '>='} {low:g}"
        elif high is not None:
            rng = f"{'<' if high_open else '<='} {high:g}"
        else:
            rng = ""
        raise ValueError(f"{op}: {arg} must be a finite number {rng}".rstrip() + f", got {value!r}")
    return x


def axis(op: str, arg: str, value, ndim: int) -> int:
    """An axis of an ``ndim``-D tensor (negative counts from the end), as a non-negative int.

    >>> axis("flatten", "start_axis", -1, 4)
    3
    >>> axis("flatten", "start_axis", 5, 4)
    Traceback (most recent call last):
    ...
    ValueError: flatten: start_axis 5 is out of range for a 4-D tensor (valid: -4..3)
    """
    integer(op, arg, value)
    n = max(ndim, 1)
    if not -n <= value < n:
        raise ValueError(f"{op}: {arg} {value} is out of range for a {ndim}-D tensor "
                         f"(valid: {-n}..{n - 1})")
    return int(value) % n


def one_of(op: str, arg: str, value, options: tuple):
    """``value`` if it is one of ``options``.

    >>> one_of("hinge_loss", "norm", "L3", ("L1", "L2"))
    Traceback (most recent call last):
    ...
    ValueError: hinge_loss: norm must be one of 'L1', 'L2', got 'L3'
    """
    if not isinstance(value, str) or value not in options:
        choices = ", ".join(repr(o) for o in options)
        raise ValueError(f"{op}: {arg} must be one of {choices}, got {value!r}")
    return value
