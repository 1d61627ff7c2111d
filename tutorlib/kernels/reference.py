"""Teaching references: the fused ops written as plain loops, forward and backward, in float64.

The fast kernels beside this module (``conv``, ``pool``, ``norm``, ``softmax``) reorder, fuse and
split these computations to be quick; the functions here compute the same numbers the way a
textbook writes them, one output position (or channel, or row) per loop step. They are what the
tests compare every fast path against, and what the ops run inside :func:`use_reference` (or with
``TUTORLIB_REFERENCE=1``), so that a student can step through a convolution's backward in a
debugger:

>>> import numpy as np, tutorlib as tl, tutorlib.functional as F
>>> x = tl.Tensor(np.ones((1, 1, 3, 3), np.float32))
>>> w = tl.Tensor(np.ones((1, 1, 2, 2), np.float32))
>>> with use_reference():
...     F.conv2d(x, w)                      # runs conv2d_forward below, not kernels/conv.py
Tensor([[[[4. 4.]
   [4. 4.]]]], device=cpu0)

Every backward here is the adjoint of its forward: where the forward reads ``x[i]`` into an
output, the backward adds that output's gradient times the same factor into ``gx[i]``. Results
are float64 (the ops cast them back to float32).
"""
import contextlib
import os

import numpy as np

_enabled = os.environ.get("TUTORLIB_REFERENCE", "0") == "1"


def enabled() -> bool:
    """True while the ops run on these references instead of the fast kernels.

    >>> enabled()
    False
    """
    return _enabled


@contextlib.contextmanager
def use_reference(on: bool = True):
    """Run the fused ops (conv2d, pools, batch norm, cross-entropy, ReLU) on the references
    inside the block. An op recorded inside the block also runs its backward on them.

    >>> with use_reference():
    ...     enabled()
    True
    """
    global _enabled
    before, _enabled = _enabled, bool(on)
    try:
        yield
    finally:
        _enabled = before


# --- convolution --------------------------------------------------------------------------------

def _pad(x, padding):
    """Zero-pad the two spatial axes of NCHW ``x`` by ``padding`` = (ph, pw) on each side."""
    ph, pw = padding
    return np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv2d_output_shape(H, W, KH, KW, stride, padding, dilation):
    """(OH, OW): how many kernel positions fit, e.g. (H + 2p - KH) // s + 1 without dilation.

    >>> conv2d_output_shape(32, 32, 5, 5, (1, 1), (0, 0), (1, 1))
    (28, 28)
    """
    OH = (H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    OW = (W + 2 * padding[1] - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    return OH, OW


def _patch(i, j, KH, KW, stride, dilation):
    """Index of the input window of output pixel (i, j): rows and columns of the padded input."""
    (sh, sw), (dh, dw) = stride, dilation
    return (slice(i * sh, i * sh + dh * (KH - 1) + 1, dh),
            slice(j * sw, j * sw + dw * (KW - 1) + 1, dw))


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """y = conv2d(x, w) + b, one output pixel at a time.

    x (N, C, H, W), w (O, C/groups, KH, KW), b (O,) or None. Output pixel (i, j) of channel o is
    the dot product of filter o with the input window under it (its group's channels only)::

        y[n, o, i, j] = b[o] + sum_{c, kh, kw} xpad[n, c, i*sh + kh*dh, j*sw + kw*dw]
                                               * w[o, c, kh, kw]

    >>> x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
    >>> conv2d_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    array([[[[4., 4.],
             [4., 4.]]]])
    """
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    OH, OW = conv2d_output_shape(H, W, KH, KW, stride, padding, dilation)
    xp, w = _pad(x, padding), w.astype(np.float64)
    Og = O // groups                                   # output channels per group
    y = np.zeros((N, O, OH, OW))
    for gr in range(groups):
        cs, os_ = slice(gr * Cg, (gr + 1) * Cg), slice(gr * Og, (gr + 1) * Og)
        for i in range(OH):
            for j in range(OW):
                rows, cols = _patch(i, j, KH, KW, stride, dilation)
                window = xp[:, cs, rows, cols]                        # (N, Cg, KH, KW)
                # sum over (c, kh, kw) of window * filter, for every image and filter at once
                y[:, os_, i, j] = np.tensordot(window, w[os_], axes=([1, 2, 3], [1, 2, 3]))
    if b is not None:
        y += np.reshape(b, (1, O, 1, 1))
    return y


def conv2d_backward(g, x, w, stride, padding, dilation, groups):
    """(gx, gw, gb): gradients of L given g = dL/dy, by running the forward loop in reverse.

    Each output pixel used one input window and the whole filter bank, so it sends gradient to
    both::

        gw[o, c, kh, kw] = sum_{n, i, j} g[n, o, i, j] * xpad[n, c, i*sh + kh*dh, j*sw + kw*dw]
        gxpad[n, c, i*sh + kh*dh, j*sw + kw*dw] += sum_o g[n, o, i, j] * w[o, c, kh, kw]
        gb[o] = sum_{n, i, j} g[n, o, i, j]

    and gx is gxpad without its padding.

    >>> gx, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)),
    ...                              np.ones((1, 1, 2, 2)), (1, 1), (0, 0), (1, 1), 1)
    >>> gx[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    _, _, H, W = x.shape
    O, Cg, KH, KW = w.shape
    ph, pw = padding
    xp, w, g = _pad(x, padding), w.astype(np.float64), g.astype(np.float64)
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    Og = O // groups
    for gr in range(groups):
        cs, os_ = slice(gr * Cg, (gr + 1) * Cg), slice(gr * Og, (gr + 1) * Og)
        for i in range(g.shape[2]):
            for j in range(g.shape[3]):
                rows, cols = _patch(i, j, KH, KW, stride, dilation)
                gy = g[:, os_, i, j]                                       # (N, Og)
                gw[os_] += np.tensordot(gy, xp[:, cs, rows, cols], axes=([0], [0]))
                gxp[:, cs, rows, cols] += np.tensordot(gy, w[os_], axes=([1], [0]))
    gx = gxp[:, :, ph:ph + H, pw:pw + W]
    return gx, gw, g.sum(axis=(0, 2, 3))


# --- pooling ------------------------------------------------------------------------------------

def pool_windows(H, W, kernel, stride, padding):
    """Yield (i, j, rows, cols, area): output pixel (i, j) pools x[..., rows, cols].

    A window may hang over the zero padding: ``rows``/``cols`` are clipped to the input and
    ``area`` = kh*kw is the full window's size (mode "average" divides by it).

    >>> [(i, j, r, c) for i, j, r, c, _ in pool_windows(2, 2, (2, 2), (2, 2), (1, 1))][:2]
    [(0, 0, slice(0, 1, None), slice(0, 1, None)), (0, 1, slice(0, 1, None), slice(1, 2, None))]
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    OH, OW = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    for i in range(OH):
        for j in range(OW):
            h0, w0 = i * sh - ph, j * sw - pw
            rows = slice(max(h0, 0), min(h0 + kh, H))
            cols = slice(max(w0, 0), min(w0 + kw, W))
            yield i, j, rows, cols, kh * kw


def adaptive_windows(H, W, oshp):
    """Yield (i, j, rows, cols, area) for adaptive pooling to ``oshp``: bin i spans
    floor(i*H/OH) to ceil((i+1)*H/OH), so the bins cover the input and may overlap.

    >>> [(r, c) for _, _, r, c, _ in adaptive_windows(3, 1, (2, 1))]
    [(slice(0, 2, None), slice(0, 1, None)), (slice(1, 3, None), slice(0, 1, None))]
    """
    OH, OW = oshp
    for i in range(OH):
        for j in range(OW):
            rows = slice(i * H // OH, -(-(i + 1) * H // OH))
            cols = slice(j * W // OW, -(-(j + 1) * W // OW))
            yield i, j, rows, cols, (rows.stop - rows.start) * (cols.stop - cols.start)


def _out_shape(x_shape, windows):
    """(N, C, OH, OW) of pooling x over ``windows`` (a list)."""
    i, j = windows[-1][:2]
    return x_shape[:2] + (i + 1, j + 1)


def max_pool2d_forward(x, windows):
    """y[n, c, i, j] = max of x[n, c] over window (i, j) (padding never wins).

    >>> x = np.arange(16.).reshape(1, 1, 4, 4)
    >>> max_pool2d_forward(x, list(pool_windows(4, 4, (2, 2), (2, 2), (0, 0))))[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    y = np.zeros(_out_shape(x.shape, windows))
    for i, j, rows, cols, _ in windows:
        y[:, :, i, j] = x[:, :, rows, cols].max(axis=(2, 3))
    return y


def max_pool2d_backward(g, x, windows):
    """dL/dx: each window's gradient goes to the one input that was its maximum (the first, if
    several tie); every other input of the window gets nothing from it.

    >>> x = np.array([[[[1., 3.], [2., 0.]]]])
    >>> windows = list(pool_windows(2, 2, (2, 2), (2, 2), (0, 0)))
    >>> max_pool2d_backward(np.ones((1, 1, 1, 1)), x, windows)
    array([[[[0., 1.],
             [0., 0.]]]])
    """
    gx = np.zeros(x.shape)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i, j, rows, cols, _ in windows:
                window = x[n, c, rows, cols]
                kh, kw = np.unravel_index(np.argmax(window), window.shape)
                gx[n, c, rows.start + kh, cols.start + kw] += g[n, c, i, j]
    return gx


def avg_pool2d_forward(x, windows, count_padding=False):
    """y[n, c, i, j] = sum of window (i, j) / its size: the inputs it covers, or the full
    kh*kw (padding counted as zeros) with ``count_padding``.

    >>> x = np.ones((1, 1, 2, 2))
    >>> avg_pool2d_forward(x, list(pool_windows(2, 2, (2, 2), (2, 2), (1, 1))), True)[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    y = np.zeros(_out_shape(x.shape, windows))
    for i, j, rows, cols, area in windows:
        window = x[:, :, rows, cols]
        divisor = area if count_padding else window.shape[2] * window.shape[3]
        y[:, :, i, j] = window.sum(axis=(2, 3)) / divisor
    return y


def avg_pool2d_backward(g, x_shape, windows, count_padding=False):
    """dL/dx: every input of window (i, j) gets g[..., i, j] / (the window's divisor).

    >>> avg_pool2d_backward(np.ones((1, 1, 1, 1)), (1, 1, 2, 2),
    ...                     list(pool_windows(2, 2, (2, 2), (2, 2), (0, 0))))[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    gx = np.zeros(x_shape)
    for i, j, rows, cols, area in windows:
        divisor = area if count_padding else (rows.stop - rows.start) * (cols.stop - cols.start)
        gx[:, :, rows, cols] += g[:, :, i, j][:, :, None, None] / divisor
    return gx


# --- batch normalisation ------------------------------------------------------------------------

def batch_stats(x):
    """Per-channel mean and biased variance of x (N, C, ...) over every axis but 1.

    >>> batch_stats(np.array([[1.], [3.]]))
    (array([2.]), array([1.]))
    """
    C = x.shape[1]
    mean, var = np.zeros(C), np.zeros(C)
    for c in range(C):
        values = x[:, c].astype(np.float64)              # all M = N*H*W values of channel c
        mean[c] = values.mean()
        var[c] = ((values - mean[c]) ** 2).mean()
    return mean, var


def batch_norm_forward(x, weight, bias, mean, var, eps):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, channel by channel (axis 1).

    >>> batch_norm_forward(np.array([[1.], [3.]]), np.ones(1), np.zeros(1), [2.], [1.], 0.0)
    array([[-1.],
           [ 1.]])
    """
    y = np.zeros(x.shape)
    for c in range(x.shape[1]):
        xhat = (x[:, c] - mean[c]) / np.sqrt(var[c] + eps)
        y[:, c] = xhat * weight[c] + bias[c]
    return y


def batch_norm_backward(g, x, weight, mean, var, eps, batch_statistics=True):
    """(gx, gweight, gbias) of batch norm, channel by channel.

    With xhat = (x - mean) * invstd, invstd = 1 / sqrt(var + eps) and M values per channel::

        gweight = sum(g * xhat)           gbias = sum(g)
        gx = weight * invstd * (g - sum(g) / M - xhat * sum(g * xhat) / M)

    The two subtracted terms are the paths through the batch mean and variance; with running
    statistics (``batch_statistics=False``) they are constants and gx = weight * invstd * g.

    >>> gx, gw, gb = batch_norm_backward(np.array([[1.], [1.]]), np.array([[1.], [3.]]),
    ...                                  np.ones(1), [2.], [1.], 0.0)
    >>> gx.ravel(), gw, gb
    (array([0., 0.]), array([0.]), array([2.]))
    """
    C = x.shape[1]
    gx, gw, gb = np.zeros(x.shape), np.zeros(C), np.zeros(C)
    for c in range(C):
        invstd = 1.0 / np.sqrt(var[c] + eps)
        xhat = (x[:, c] - mean[c]) * invstd
        gc = g[:, c].astype(np.float64)
        gw[c], gb[c] = (gc * xhat).sum(), gc.sum()
        if batch_statistics:
            M = gc.size
            gx[:, c] = weight[c] * invstd * (gc - gb[c] / M - xhat * gw[c] / M)
        else:
            gx[:, c] = weight[c] * invstd * gc
    return gx, gw, gb


# --- softmax cross-entropy ----------------------------------------------------------------------

def softmax_cross_entropy_forward(logits, labels, label_smooth=0.0):
    """Per-row loss of logits (M, K) against integer labels (M,), row by row::

        logZ = max(x) + log(sum(exp(x - max(x))))        (log-sum-exp, shifted: never overflows)
        loss = logZ - ls * mean(x) - (1 - ls) * x[label]

    i.e. -log softmax(x)[label] mixed with the uniform target by label smoothing ``ls``.

    >>> softmax_cross_entropy_forward(np.zeros((1, 4)), np.array([2]))
    array([1.38629436])
    """
    loss = np.zeros(len(logits))
    for r, (x, label) in enumerate(zip(logits.astype(np.float64), labels)):
        log_z = x.max() + np.log(np.exp(x - x.max()).sum())
        loss[r] = log_z - label_smooth * x.mean() - (1 - label_smooth) * x[label]
    return loss


def softmax_cross_entropy_backward(logits, labels, label_smooth, g):
    """d(sum_r g[r] * loss[r]) / dlogits, row by row::

        dloss/dx = softmax(x) - ls / K - (1 - ls) * onehot(label)

    >>> softmax_cross_entropy_backward(np.zeros((1, 4)), np.array([2]), 0.0, np.ones(1))
    array([[ 0.25,  0.25, -0.75,  0.25]])
    """
    dx = np.zeros(logits.shape)
    K = logits.shape[1]
    for r, (x, label) in enumerate(zip(logits.astype(np.float64), labels)):
        p = np.exp(x - x.max())
        p /= p.sum()                                   # softmax(x)
        target = np.full(K, label_smooth / K)
        target[label] += 1 - label_smooth
        dx[r] = (p - target) * g[r]
    return dx
