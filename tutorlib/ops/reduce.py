"""Reductions: sum, mean, max/min, prod and log-sum-exp, with their backward passes.

Backward re-inserts the reduced axes (``keepdims`` shape) so the gradient broadcasts back
over the input.
"""
from __future__ import annotations

import numpy as np

from .core import Op


def normalize_axis(axis, ndim: int, op: str):
    """``None`` or a tuple of non-negative axes; a clear error when out of range."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(set(out))) if ndim else ()     # axis 0 of a scalar: nothing to reduce


def _expand(g, shape, axes, keepdims):
    """Reshape a reduced gradient so it broadcasts against the input ``shape``."""
    if axes is None:
        return np.reshape(g, (1,) * len(shape))
    if keepdims:
        return g
    return np.expand_dims(g, axes)


class Reduce(Op):
    """Base: remembers the input shape, the axes and ``keepdims``."""

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def prepare(self, x):
        self.shape = x.shape
        self.axes = normalize_axis(self.axis, x.ndim, self.name)
        return self.axes


class Sum(Reduce):
    """y = Σ x over axes;  dy/dx = 1 (the gradient is broadcast back)."""

    def forward(self, x):
        axes = self.prepare(x)
        return np.sum(x, axis=axes, keepdims=self.keepdims)

    def backward(self, g):
        return (np.broadcast_to(_expand(g, self.shape, self.axes, self.keepdims), self.shape),)


class Mean(Reduce):
    """y = Σ x / n over axes;  dy/dx = 1/n."""

    def forward(self, x):
        axes = self.prepare(x)
        self.n = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
        dtype = None if np.issubdtype(x.dtype, np.floating) else np.float32   # ints -> float32
        return np.mean(x, axis=axes, keepdims=self.keepdims, dtype=dtype)

    def backward(self, g):
        g = _expand(g, self.shape, self.axes, self.keepdims) / np.float32(max(self.n, 1))
        return (np.broadcast_to(g, self.shape),)


class Max(Reduce):
    """y = max x over axes; the gradient goes to the maximal entries (shared on ties)."""

    def forward(self, x):
        axes = self.prepare(x)
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        self.x = x
        self.y = self.reduce(x, axis=axes, keepdims=True)
        return self.y if self.keepdims else np.squeeze(self.y, axis=axes) if axes is not None \
            else self.y.reshape(())

    reduce = staticmethod(np.max)

    def backward(self, g):
        hit = self.x == self.y
        count = hit.sum(axis=self.axes, keepdims=True)
        return (_expand(g, self.shape, self.axes, self.keepdims) * hit / count,)


class Min(Max):
    """y = min x over axes; the gradient goes to the minimal entries (shared on ties)."""

    reduce = staticmethod(np.min)


class Prod(Reduce):
    """y = Π x over axes;  dy/dxᵢ = Π_{j≠i} xⱼ (computed without dividing by zero)."""

    def forward(self, x):
        axes = self.prepare(x)
        self.x = x
        return np.prod(x, axis=axes, keepdims=self.keepdims)

    def backward(self, g):
        x, axes = self.x, self.axes
        flat_axes = axes if axes is not None else tuple(range(x.ndim))
        moved = np.moveaxis(x, flat_axes, tuple(range(-len(flat_axes), 0)))
        lead = moved.shape[:moved.ndim - len(flat_axes)]
        m = moved.reshape(lead + (-1,))
        ones = np.ones(lead + (1,), dtype=x.dtype)
        left = np.cumprod(np.concatenate([ones, m[..., :-1]], axis=-1), axis=-1)
        right = np.cumprod(np.concatenate([ones, m[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (left * right).reshape(moved.shape)
        others = np.moveaxis(others, tuple(range(-len(flat_axes), 0)), flat_axes)
        return (_expand(g, self.shape, axes, self.keepdims) * others,)


class LogSumExp(Reduce):
    """y = log Σ eˣ, stabilised by subtracting the (detached) max;  dy/dx = softmax(x)."""

    def forward(self, x):
        axes = self.prepare(x)
        m = np.max(x, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        e = np.exp(x - m)
        s = np.sum(e, axis=axes, keepdims=True)
        self.softmax = e / s
        y = np.log(s) + m
        return y if self.keepdims else (np.squeeze(y, axis=axes) if axes is not None else y.reshape(()))

    def backward(self, g):
        return (_expand(g, self.shape, self.axes, self.keepdims) * self.softmax,)


class CumSum(Op):
    """y_i = Σ_{j≤i} x_j along an axis;  dx_j = Σ_{i≥j} dy_i (a reversed cumulative sum)."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        normalize_axis(self.axis, x.ndim, "cumsum")
        return np.cumsum(x, axis=self.axis)

    def backward(self, g):
        flipped = np.flip(g, axis=self.axis)
        return (np.flip(np.cumsum(flipped, axis=self.axis), axis=self.axis),)
