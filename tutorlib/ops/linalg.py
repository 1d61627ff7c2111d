"""Matrix multiplication (BLAS through numpy) and its backward."""
from __future__ import annotations

import numpy as np

from .core import Op


class Matmul(Op):
    """C = A @ B (optionally transposing A or B);  dA = dC @ Bᵀ, dB = Aᵀ @ dC.

    1-D inputs follow numpy: a vector on the left is a row, on the right a column;
    3-D and higher inputs are batches (broadcast over the leading axes).
    """

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False):
        self.ta, self.tb = transpose_a, transpose_b

    def forward(self, a, b):
        a = np.asarray(a)
        b = np.asarray(b)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: inputs must have at least one dimension, got shapes "
                             f"{a.shape} and {b.shape}")
        if self.ta and a.ndim >= 2:
            a = np.swapaxes(a, -1, -2)
        if self.tb and b.ndim >= 2:
            b = np.swapaxes(b, -1, -2)
        self.a, self.b = a, b
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        try:
            return np.matmul(a, b)
        except ValueError:
            raise ValueError(f"matmul: batch shapes of {a.shape} and {b.shape} cannot be "
                             f"broadcast together") from None

    def backward(self, g):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a            # treat vectors as 1-row / 1-column
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = np.asarray(g)                                 # re-insert the axes matmul dropped
        if b.ndim == 1:
            g2 = g2[..., None]                            # (first: g is 0-d for vector·vector)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
        gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
        ga = _unbatch(ga, a2.shape)
        gb = _unbatch(gb, b2.shape)
        if a.ndim == 1:
            ga = ga.reshape(a.shape)
        if b.ndim == 1:
            gb = gb.reshape(b.shape)
        if self.ta and a.ndim >= 2:
            ga = np.swapaxes(ga, -1, -2)
        if self.tb and b.ndim >= 2:
            gb = np.swapaxes(gb, -1, -2)
        return ga, gb


def _unbatch(g, shape):
    """Sum a batched gradient over leading axes that broadcasting added or stretched."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead > 0:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape[:-2]) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g
