"""Shape primitives: they move data around, so their backward moves the gradient back."""
from __future__ import annotations

import numpy as np

from .core import Op


class Reshape(Op):
    """y = x with a new shape;  the gradient is reshaped back."""

    def __init__(self, shape):
        self.target = tuple(int(s) for s in shape)

    def forward(self, x):
        self.shape = x.shape
        try:
            return x.reshape(self.target)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {self.target}") from None

    def backward(self, g):
        return (g.reshape(self.shape),)


class Transpose(Op):
    """y = x with permuted axes;  the gradient is permuted by the inverse permutation."""

    def __init__(self, pattern=None):
        self.pattern = None if pattern is None else tuple(int(p) for p in pattern)

    def forward(self, x):
        pattern = self.pattern or tuple(range(x.ndim))[::-1]
        if sorted(pattern) != list(range(x.ndim)):
            raise ValueError(f"transpose: pattern {pattern} is not a permutation of the "
                             f"{x.ndim} axes of shape {x.shape}")
        self.inverse = tuple(np.argsort(pattern))
        return x.transpose(pattern)

    def backward(self, g):
        return (g.transpose(self.inverse),)


class BroadcastTo(Op):
    """y = x repeated along broadcast axes;  the gradient is summed back (by the engine)."""

    def __init__(self, shape):
        self.target = tuple(int(s) for s in shape)

    def forward(self, x):
        try:
            return np.broadcast_to(x, self.target)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {self.target}") from None

    def backward(self, g):
        return (g,)


def _is_basic(index) -> bool:
    """True for ints, slices, None and Ellipsis only (no fancy indexing)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class Indexing(Op):
    """y = x[index];  the gradient is scattered back into zeros (added where indices repeat)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        try:
            return x[self.index]
        except IndexError as e:
            raise IndexError(f"indexing: {e} (tensor shape {x.shape})") from None

    def backward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            out[self.index] = g
        else:
            np.add.at(out, self.index, g)
        return (out,)


class SetSubtensor(Op):
    """y = x with y[index] = v;  dy/dx is 1 outside ``index``, dy/dv is the gradient at ``index``."""

    def __init__(self, index):
        self.index = index

    def forward(self, x, v):
        out = np.array(x, copy=True)
        try:
            out[self.index] = v
        except ValueError:
            raise ValueError(f"setitem: cannot assign a value of shape {np.shape(v)} to "
                             f"x[{self.index!r}] of shape {x[self.index].shape}") from None
        return out

    def backward(self, g):
        gx = np.array(g, copy=True)
        gx[self.index] = 0
        return gx, g[self.index]      # the engine sums a broadcast value's gradient back


class Concat(Op):
    """y = concatenation of inputs along ``axis``;  the gradient is split at the same places."""

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] if x.ndim else 0 for x in xs]
        try:
            return np.concatenate(xs, axis=self.axis)
        except (ValueError, np.exceptions.AxisError):
            raise ValueError(f"concat: shapes {[x.shape for x in xs]} cannot be joined along "
                             f"axis {self.axis}") from None

    def backward(self, g):
        return tuple(np.split(g, np.cumsum(self.sizes)[:-1], axis=self.axis))


class Stack(Op):
    """y = inputs stacked along a new ``axis``;  the gradient is unstacked."""

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *xs):
        try:
            return np.stack(xs, axis=self.axis)
        except ValueError:
            raise ValueError(f"stack: all shapes must be equal, got {[x.shape for x in xs]}") from None

    def backward(self, g):
        return tuple(np.moveaxis(g, self.axis, 0))


class Pad(Op):
    """y = x padded with a constant (or reflected/replicated borders);  the gradient is cropped."""

    def __init__(self, pad_width, mode: str = "constant", value: float = 0.0):
        self.pad_width = tuple(tuple(int(v) for v in p) for p in pad_width)
        self.mode = {"replicate": "edge"}.get(mode, mode)
        self.value = value

    def forward(self, x):
        if len(self.pad_width) != x.ndim:
            raise ValueError(f"pad: pad_width has {len(self.pad_width)} entries but the input has "
                             f"{x.ndim} dimensions (shape {x.shape})")
        self.shape = x.shape
        if self.mode == "constant":
            return np.pad(x, self.pad_width, mode="constant", constant_values=self.value)
        return np.pad(x, self.pad_width, mode=self.mode)

    def backward(self, g):
        if self.mode != "constant":
            return (self._fold_back(g),)
        crop = tuple(slice(b, b + n) for (b, _), n in zip(self.pad_width, self.shape))
        return (g[crop],)

    def _fold_back(self, g):
        """Reflect/edge modes copy input entries into the border: add those gradients back."""
        idx = np.arange(int(np.prod(self.shape))).reshape(self.shape)
        src = np.pad(idx, self.pad_width, mode=self.mode)
        out = np.zeros(idx.size, dtype=g.dtype)
        np.add.at(out, src.ravel(), g.ravel())
        return out.reshape(self.shape)
