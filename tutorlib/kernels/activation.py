"""Activation kernels that numpy would do in several passes over memory.

``relu_backward`` is one pass (read g and y, write the result) where ``g * (y > 0)`` is two
(build the mask, then multiply); on the big activations of a CNN that is most of ReLU's cost.
"""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _relu_backward_flat(g, y, out):
    for i in range(g.size):
        out[i] = g[i] if y[i] > 0 else np.float32(0.0)
    return out


def relu_backward(g, y):
    """dL/dx of ``y = max(x, 0)``: ``g`` where ``y > 0``, else 0 (same shape and dtype as g).

    >>> relu_backward(np.ones(3, np.float32), np.array([0, 2, 0], np.float32))
    array([0., 1., 0.], dtype=float32)
    """
    if g.dtype != np.float32 or y.dtype != np.float32 or g.shape != y.shape:
        return g * (y > 0)  # other dtypes and broadcast gradients: the numpy way
    g, y = np.ascontiguousarray(g), np.ascontiguousarray(y)
    return _relu_backward_flat(g.reshape(-1), y.reshape(-1), np.empty(g.size, np.float32)).reshape(g.shape)
