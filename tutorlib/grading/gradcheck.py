"""Numerical gradients by central finite differences, for checking analytic gradients.

>>> numerical_grad(lambda x: (x ** 2).sum(), np.array([1.0, -2.0]))
array([ 2., -4.])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f(x) / d x for a scalar-valued ``f``, entry by entry: (f(x+eps) - f(x-eps)) / 2 eps.

    ``x`` is copied to float64 first, so ``f`` sees float64 inputs; ``f`` may return a
    0-d array or anything ``float()`` accepts. Cost: two calls of ``f`` per entry of ``x``.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = float(np.asarray(f(x)))
        flat[i] = keep - eps
        down = float(np.asarray(f(x)))
        flat[i] = keep
        out[i] = (up - down) / (2 * eps)
    return grad
