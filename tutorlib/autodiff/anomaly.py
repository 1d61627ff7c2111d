"""Anomaly mode: stop at the first op that turns finite numbers into NaN or Inf.

When a loss becomes ``nan``, every op after the first bad one is ``nan`` too, so the place to
look is the *first* op that produced it. Inside ``with detect_anomaly():`` (or on a function
decorated with ``@detect_anomaly()``), every op checks its output, and the backward of every op
recorded there checks the gradients it returns. The first NaN or Inf raises a
``FloatingPointError`` naming the op, the pass (forward or backward) and the line of your code
that called it. It scans every result, so it is off by default: switch it on to debug. Inside
it numpy's own overflow/invalid-value warnings are silenced, since the error says more.

>>> import tutorlib as tl, tutorlib.functional as F
>>> with detect_anomaly():
...     F.log(tl.Tensor([1.0, 0.0]))
Traceback (most recent call last):
...
FloatingPointError: detect_anomaly: forward of 'log' produced -Inf (1 of 2 values) from finite inputs, called at ...
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Self

import numpy as np

active = False      # read by tutorlib.ops.core.apply: True while some detect_anomaly is entered
_depth = [0]
_saved_errstate: list = []   # numpy's error settings, restored when the outermost mode exits
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class detect_anomaly(contextlib.ContextDecorator):
    """Context manager (and decorator) that makes the first NaN/Inf raise ``FloatingPointError``.

    Use it to find where training diverges; it slows every op down, so do not leave it on.
    Pair it with ``gm.backward(loss, check_finite=True)`` to stop as soon as the loss is not
    finite.

    >>> import tutorlib as tl
    >>> @detect_anomaly()
    ... def step(x):
    ...     return (x * 2.0).sum()
    >>> step(tl.Tensor([1.0, 2.0]))
    Tensor(6.0, device=cpu0)
    """

    def __enter__(self) -> Self:
        global active
        _depth[0] += 1
        active = True
        _saved_errstate.append(np.seterr(all="ignore"))
        return self

    def __exit__(self, *exc) -> None:
        global active
        _depth[0] -= 1
        active = _depth[0] > 0
        np.seterr(**_saved_errstate.pop())


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()``.

    >>> is_anomaly_enabled()
    False
    """
    return active


def _caller() -> str:
    """``file:line`` and source of the innermost frame outside tutorlib (the user's code)."""
    frame = sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "an unknown place"
    import linecache
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    filename = frame.f_code.co_filename
    if "ipykernel_" in filename or filename.startswith("<ipython-input"):
        where = f"line {frame.f_lineno} of a notebook cell"     # the file name changes every run
    else:
        where = f"{os.path.basename(filename)}:{frame.f_lineno}"
    return f"{where} ({line})" if line else where


def _bad(array) -> str | None:
    """A description of the NaN/Inf values in ``array``, or None if all are finite."""
    a = np.asarray(array)
    if a.dtype.kind != "f" or a.size == 0:
        return None
    finite = np.isfinite(a)
    if finite.all():
        return None
    bad = a[~finite]
    kind = "NaN" if np.isnan(bad).any() else ("Inf" if (bad > 0).all() else
                                             "-Inf" if (bad < 0).all() else "Inf and -Inf")
    return f"{kind} ({bad.size} of {a.size} values)"


def _inputs_state(arrays) -> str:
    return ("from finite inputs" if all(_bad(a) is None for a in arrays)
            else "from inputs that already held NaN/Inf")


def check_forward(op, arrays, out) -> None:
    """Raise if ``out`` (the result of ``op`` on ``arrays``) holds NaN or Inf; otherwise make
    ``op``'s backward check its gradients too (called by ``apply`` in anomaly mode)."""
    where = _caller()
    found = _bad(out)
    if found is not None:
        raise FloatingPointError(f"detect_anomaly: forward of {op.name!r} produced {found} "
                                 f"{_inputs_state(arrays)}, called at {where}")
    if "backward" in vars(op):      # already wrapped
        return
    backward = op.backward

    def checked_backward(grad):
        grads = backward(grad)
        for i, g in enumerate(grads if isinstance(grads, tuple) else (grads,)):
            found = None if g is None else _bad(g)
            if found is not None:
                raise FloatingPointError(
                    f"detect_anomaly: backward of {op.name!r} produced {found} in the gradient "
                    f"of input {i}, with an incoming gradient "
                    f"{'that was finite' if _bad(grad) is None else 'that already held NaN/Inf'}; "
                    f"the op was called at {where}")
        return grads

    op.backward = checked_backward
