"""Cambricon's fixed-point quantization (CNNL "定点量化"): a power of two, a scale and an offset.

With n the bit-width (8, 16 or 31) and D the data the statistics come from::

    position                absmax = max|D|
                            position = floor(log2(absmax)) - (n - 2)
                            q = round(x / 2^position)              x ~ q · 2^position
    position_scale          position as above
                            scale = 2^position · (2^(n-1) - 1) / absmax
                            q = round(x · scale / 2^position)      x ~ q · 2^position / scale
    position_scale_offset   lo = min(0, min D), hi = max(0, max D)
                            position = floor(log2(hi - lo)) - (n - 1)
                            scale = 2^position · (2^n - 1) / (hi - lo)
                            offset = round(-2^(n-1) - lo · (2^n - 1) / (hi - lo))
                            q = round(x · scale / 2^position + offset)
                                                         x ~ (q - offset) · 2^position / scale

q is clamped to [-2^(n-1), 2^(n-1) - 1]. The position carries the power of two and the scale
the rest (it lies in (0.99, 1.98] for int8), so ``scale / 2^position = 127 / absmax`` is exactly
torch_mlu's multiplier ``qmax / absmax``. In ``position`` mode ``|q|`` stays below 2^(n-1)
but may use only half the range: absmax = 3 in int8 gives position -5 and ``max |q|`` = 96.

The reference example (int8, absmax 3.0): position -5, scale = 2^-5 · 127 / 3 ≈ 1.3229, and
x = 1.0 → q = round(1.0 · 1.3229 · 32) = 42 → 42 · 2^-5 / 1.3229 ≈ 0.9921.

>>> p = params(np.array([-3.0, 0.5]), bitwidth=8, mode="position_scale")
>>> p.position, round(p.scale, 4), p.offset
(-5, 1.3229, 0)
>>> q = quantize(np.array([1.0]), p)
>>> q, dequantize(q, p).round(4)
(array([42], dtype=int8), array([0.9921], dtype=float32))

In a convolution the input's and the filter's positions add: the int8 (int32-accumulated) or
int16 (int64-accumulated) sum of products is rescaled once, by
``2^(position_x + position_w) / (scale_x · scale_w)`` (:func:`conv2d`, :func:`linear`).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..kernels import integer

MODES = ("position", "position_scale", "position_scale_offset")
ROUNDINGS = ("half_even", "half_away", "half_up")
STORAGE = {8: np.int8, 16: np.int16, 31: np.int32}


class FixedPointParams(NamedTuple):
    """What ``params`` computed: ``q`` stands for ``(q - offset) · 2^position / scale``."""

    position: int
    scale: float
    offset: int
    bitwidth: int
    mode: str


def _check_bitwidth(bitwidth: int, mode: str) -> None:
    if bitwidth not in STORAGE:
        raise ValueError(f"fixed_point: bitwidth must be 8, 16 or 31, got {bitwidth!r}")
    if mode not in MODES:
        raise ValueError(f"fixed_point: mode must be one of {MODES}, got {mode!r}")
    if bitwidth == 31 and mode != "position":
        raise ValueError(f"fixed_point: int31 supports only mode='position', got {mode!r}")


def params(data, bitwidth: int = 8, mode: str = "position") -> FixedPointParams:
    """Position, scale and offset of ``data`` for ``bitwidth`` (8, 16, 31) and ``mode``.

    >>> params(np.array([3.0]), 8)
    FixedPointParams(position=-5, scale=1.0, offset=0, bitwidth=8, mode='position')
    >>> p = params(np.array([-1.0, 3.0]), 8, "position_scale_offset")
    >>> p.position, round(p.scale, 4), p.offset
    (-5, 1.9922, -64)
    >>> params(np.zeros(3), 16, "position_scale")
    FixedPointParams(position=0, scale=1.0, offset=0, bitwidth=16, mode='position_scale')
    """
    _check_bitwidth(bitwidth, mode)
    d = np.asarray(data, np.float64)
    if not np.all(np.isfinite(d)):
        raise ValueError("fixed_point.params: data holds inf or nan")
    n = bitwidth
    if mode == "position_scale_offset":
        lo, hi = min(0.0, float(d.min(initial=0.0))), max(0.0, float(d.max(initial=0.0)))
        span = hi - lo
        if span == 0:
            return FixedPointParams(0, 1.0, 0, n, mode)
        position = math.floor(math.log2(span)) - (n - 1)
        scale = 2.0 ** position * (2 ** n - 1) / span
        offset = round(-2 ** (n - 1) - lo * (2 ** n - 1) / span)
        return FixedPointParams(position, scale, int(offset), n, mode)
    absmax = float(np.abs(d).max(initial=0.0))
    if absmax == 0:
        return FixedPointParams(0, 1.0, 0, n, mode)
    position = math.floor(math.log2(absmax)) - (n - 2)
    scale = 1.0 if mode == "position" else 2.0 ** position * (2 ** (n - 1) - 1) / absmax
    return FixedPointParams(position, scale, 0, n, mode)


def round_half(x: np.ndarray, rounding: str = "half_even") -> np.ndarray:
    """Round to the nearest integer; ties go to even, away from zero, or up.

    >>> x = np.array([-2.5, -1.5, 0.5, 1.5, 2.5])
    >>> round_half(x, "half_even"), round_half(x, "half_away"), round_half(x, "half_up")
    (array([-2., -2.,  0.,  2.,  2.]), array([-3., -2.,  1.,  2.,  3.]), array([-2., -1.,  1.,  2.,  3.]))
    """
    if rounding == "half_even":
        return np.rint(x)
    if rounding == "half_away":
        return np.sign(x) * np.floor(np.abs(x) + 0.5)
    if rounding == "half_up":
        return np.floor(x + 0.5)
    raise ValueError(f"fixed_point: rounding must be one of {ROUNDINGS}, got {rounding!r}")


def quantize(x, p: FixedPointParams, bitwidth: int | None = None,
             rounding: str = "half_even") -> np.ndarray:
    """``clamp(round(x · scale / 2^position + offset))`` as int8, int16 or int32 (for int31).

    ``bitwidth`` defaults to the one ``p`` was computed for (a different one is an error).

    >>> p = params(np.array([3.0]), 8)                    # position -5: q = round(32 x)
    >>> quantize(np.array([1.0, 3.0, 100.0, -100.0]), p)
    array([  32,   96,  127, -128], dtype=int8)
    """
    n = p.bitwidth if bitwidth is None else bitwidth
    if n != p.bitwidth:
        raise ValueError(f"fixed_point.quantize: bitwidth {n} differs from the params' {p.bitwidth}")
    _check_bitwidth(n, p.mode)
    y = np.asarray(x, np.float64) * (p.scale / 2.0 ** p.position) + p.offset
    q = np.clip(round_half(y, rounding), -2 ** (n - 1), 2 ** (n - 1) - 1)
    return q.astype(STORAGE[n])


def dequantize(q, p: FixedPointParams) -> np.ndarray:
    """``(q - offset) · 2^position / scale`` as float32.

    >>> p = params(np.array([3.0]), 16)                   # position -13
    >>> dequantize(quantize(np.array([1.0001]), p), p)
    array([1.0001221], dtype=float32)
    """
    q = np.asarray(q, np.float64)
    return ((q - p.offset) * (2.0 ** p.position / p.scale)).astype(np.float32)


def _rescale(acc, px: FixedPointParams, pw: FixedPointParams, bias):
    if pw.offset:
        raise ValueError("fixed_point: weights must be symmetric (mode 'position' or "
                         "'position_scale', offset 0)")
    y = acc * (2.0 ** (px.position + pw.position) / (px.scale * pw.scale))
    return y.astype(np.float32) if bias is None else (y + bias).astype(np.float32)


def conv2d(qx: np.ndarray, px: FixedPointParams, qw: np.ndarray, pw: FixedPointParams,
           bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> np.ndarray:
    """Float result of a convolution of fixed-point input ``qx`` (NCHW) and weight ``qw``.

    The integer sum ``Σ (qx - offset_x) · qw`` is exact (int8 → int32, int16 → int64; the padding
    holds ``offset_x``, i.e. the real value 0), then scaled by ``2^(px+pw) / (sx·sw)``; ``bias``
    (float, per output channel) is added last.

    >>> x, w = np.ones((1, 1, 2, 2)), np.full((1, 1, 2, 2), 0.5)
    >>> px, pw = params(x, 8, "position_scale"), params(w, 8, "position_scale")
    >>> conv2d(quantize(x, px), px, quantize(w, pw), pw)
    array([[[[2.]]]], dtype=float32)
    """
    acc = integer.conv2d(qx, qw, stride, padding, dilation, groups, pad_value=px.offset)
    if px.offset:
        acc = acc - px.offset * qw.reshape(qw.shape[0], -1).astype(np.int64).sum(1)[:, None, None]
    b = None if bias is None else np.asarray(bias, np.float64).reshape(1, -1, 1, 1)
    return _rescale(acc, px, pw, b)


def linear(qx: np.ndarray, px: FixedPointParams, qw: np.ndarray, pw: FixedPointParams,
           bias=None) -> np.ndarray:
    """Float result of ``x @ w.T + bias`` from fixed-point ``qx`` (M, K) and ``qw`` (N, K).

    >>> x, w = np.array([[1.0, -2.0]]), np.array([[0.25, 0.25]])
    >>> px, pw = params(x, 16, "position_scale"), params(w, 16, "position_scale")
    >>> linear(quantize(x, px), px, quantize(w, pw), pw, bias=np.array([1.0]))
    array([[0.75]], dtype=float32)
    """
    acc = integer.linear(qx, qw)
    if px.offset:
        acc = acc - px.offset * qw.astype(np.int64).sum(1)[None, :]
    b = None if bias is None else np.asarray(bias, np.float64).reshape(1, -1)
    return _rescale(acc, px, pw, b)
