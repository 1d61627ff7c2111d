"""Batch normalisation over axis 1 of an (N, C, L) array (L = H*W, or 1 for (N, C) input).

For each channel c, with M = N*L values x[:, c, :]::

    mean = sum(x) / M            var = sum((x - mean)^2) / M          (biased, two passes)
    xhat = (x - mean) * invstd   invstd = 1 / sqrt(var + eps)
    y    = xhat * weight + bias = x * scale + shift

Backward (training, so mean and var depend on x), with sg = sum(g), sgx = sum(g * xhat)::

    dweight = sgx    dbias = sg    dx = weight * invstd * (g - sg/M - xhat * sgx/M)

In eval mode mean/var are constants, so dx = g * weight * invstd. Nothing but x and two (C,)
vectors is kept for backward: xhat is recomputed on the fly. Each (n, c) row of L values is
summed in float32 by a vectorised loop (``_row_*``, fastmath: several partial sums), and the rows
are added up in float64; a single float64 running sum was latency-bound (one dependent add per
element) and made batch norm ~10% of a ResNet-20 step. The per-element work stays in float32
(per-channel constants are folded first).
Loops go channel by channel (one channel's values are N strips of L contiguous floats).
"""
import numpy as np
from numba import njit


@njit(cache=True, fastmath=True)
def _row_sum(row):
    s = np.float32(0.0)
    for i in range(row.size):
        s += row[i]
    return s


@njit(cache=True, fastmath=True)
def _row_sq_dev(row, m):
    """sum((row - m)^2) for float32 m."""
    s = np.float32(0.0)
    for i in range(row.size):
        d = row[i] - m
        s += d * d
    return s


@njit(cache=True, fastmath=True)
def _row_g_dev(grow, row, m):
    """(sum(g), sum(g * (row - m))) for float32 m."""
    sg = np.float32(0.0)
    sgd = np.float32(0.0)
    for i in range(row.size):
        sg += grow[i]
        sgd += grow[i] * (row[i] - m)
    return sg, sgd


@njit(cache=True)
def batch_stats(x):
    """Per-channel mean and biased variance of (N, C, L) ``x``, as float64 (C,) arrays.

    >>> batch_stats(np.array([[[1., 3.]], [[5., 7.]]], np.float32))
    (array([4.]), array([5.]))
    """
    N, C, L = x.shape
    mean = np.empty(C)
    var = np.empty(C)
    for c in range(C):
        s = 0.0
        for n in range(N):
            s += _row_sum(x[n, c])
        m = s / (N * L)
        s2 = 0.0
        m32 = np.float32(m)
        for n in range(N):
            s2 += _row_sq_dev(x[n, c], m32)
        s2 -= N * L * (m - m32) ** 2  # the rows were centred on m32, not m
        mean[c] = m
        var[c] = s2 / (N * L)
    return mean, var


@njit(cache=True)
def scale_shift(x, scale, shift):
    """y[:, c, :] = x[:, c, :] * scale[c] + shift[c] for (N, C, L) ``x``.

    >>> scale_shift(np.ones((1, 2, 1), np.float32), np.array([2., 3.], np.float32),
    ...             np.array([0., 1.], np.float32))[0, :, 0]
    array([2., 4.], dtype=float32)
    """
    N, C, L = x.shape
    y = np.empty_like(x)
    for p in range(N * C):
        n, c = p // C, p % C
        a, b = scale[c], shift[c]
        for i in range(L):
            y[n, c, i] = x[n, c, i] * a + b
    return y


@njit(cache=True)
def batch_norm_backward(g, x, mean, invstd, weight, training):
    """Gradients (dx, dweight, dbias) of y = (x - mean) * invstd * weight + bias.

    ``mean``, ``invstd``, ``weight`` are (C,) arrays; with ``training`` the batch statistics
    are treated as functions of x. dweight and dbias come back as float32 (C,) arrays.

    >>> x = np.array([[[1.]], [[3.]]], np.float32); g = np.array([[[1.]], [[0.]]], np.float32)
    >>> one = np.ones(1, np.float32)
    >>> dx, dw, db = batch_norm_backward(g, x, np.array([2.]), one, one, True); dx[:, 0, 0], dw, db
    (array([0., 0.], dtype=float32), array([-1.], dtype=float32), array([1.], dtype=float32))
    """
    N, C, L = x.shape
    M = N * L
    dx = np.empty_like(x)
    dweight = np.empty(C, np.float32)
    dbias = np.empty(C, np.float32)
    for c in range(C):
        m, s = np.float32(mean[c]), invstd[c]
        sg = 0.0
        sgd = 0.0  # sum(g * (x - mean)); sum(g * xhat) = sgd * invstd
        for n in range(N):
            a, b = _row_g_dev(g[n, c], x[n, c], m)
            sg += a
            sgd += b
        dweight[c] = sgd * s
        dbias[c] = sg
        # dx = k*g - k*sg/M - k*s*s*sgd/M * (x - mean), evaluated in float32
        k = np.float32(weight[c] * s)
        if training:
            shift = np.float32(-weight[c] * s * sg / M)
            slope = np.float32(-weight[c] * s * s * s * sgd / M)
            for n in range(N):
                for i in range(L):
                    dx[n, c, i] = k * g[n, c, i] + slope * (x[n, c, i] - m) + shift
        else:
            for n in range(N):
                for i in range(L):
                    dx[n, c, i] = k * g[n, c, i]
    return dx, dweight, dbias
