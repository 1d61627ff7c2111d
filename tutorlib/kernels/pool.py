"""2-D pooling on NCHW arrays: max, average and adaptive average, forward and backward.

Every pooling flavour is "reduce each output window", and a window is just a pair of row bounds
and a pair of column bounds on one (H, W) plane. So the kernels take the bounds as arrays,
computed once in Python::

    regular pool  (kernel k, stride s, padding p):  start = o*s - p,  end = start + k
    adaptive pool (output size O from size I):      start = floor(o*I/O),  end = ceil((o+1)*I/O)

both clipped to [0, size) -- the clipped part is the zero padding, which max pooling ignores and
"average_count_exclude_padding" leaves out of the count (``divisor=0``); mode "average" divides by
the full window ``kh*kw`` instead. Each (n, c) plane is handled independently, one after the
other (see ``tutorlib/kernels/__init__.py`` for why the kernels are single-threaded).
"""
import numpy as np
from numba import njit


def window_bounds(size, out, kernel, stride, pad):
    """Clipped [start, end) of each of ``out`` windows along an axis of length ``size``.

    >>> window_bounds(4, 3, 2, 2, 1)
    (array([0, 1, 3], dtype=int32), array([1, 3, 4], dtype=int32))
    """
    start = np.arange(out, dtype=np.int32) * stride - pad
    return np.clip(start, 0, size).astype(np.int32), np.clip(start + kernel, 0, size).astype(np.int32)


def adaptive_bounds(size, out):
    """[start, end) of adaptive-pooling bin o: floor(o*size/out) to ceil((o+1)*size/out).

    >>> adaptive_bounds(5, 3)
    (array([0, 1, 3], dtype=int32), array([2, 4, 5], dtype=int32))
    """
    o = np.arange(out, dtype=np.int64)
    return (o * size // out).astype(np.int32), (-((-(o + 1) * size) // out)).astype(np.int32)


@njit(cache=True)
def max_pool2d_forward(x, hs, he, ws, we):
    """Window maxima of NCHW ``x`` and the flat (h*W + w) index of each, for backward.

    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> b = window_bounds(4, 2, 2, 2, 0)
    >>> y, arg = max_pool2d_forward(x, b[0], b[1], b[0], b[1]); y[0, 0], arg[0, 0]
    (array([[ 5.,  7.],
           [13., 15.]], dtype=float32), array([[ 5,  7],
           [13, 15]], dtype=int32))
    """
    N, C, W = x.shape[0], x.shape[1], x.shape[3]
    OH, OW = hs.size, ws.size
    y = np.empty((N, C, OH, OW), np.float32)
    arg = np.empty((N, C, OH, OW), np.int32)
    for p in range(N * C):
        n, c = p // C, p % C
        for oh in range(OH):
            for ow in range(OW):
                best, best_i = -np.inf, -1
                for h in range(hs[oh], he[oh]):
                    for w in range(ws[ow], we[ow]):
                        v = x[n, c, h, w]
                        if v > best or best_i < 0:
                            best, best_i = v, h * W + w
                y[n, c, oh, ow] = best
                arg[n, c, oh, ow] = best_i
    return y, arg


def max_pool2d_tiles_forward(x, kh, kw, OH, OW):
    """``max_pool2d_forward`` for windows that tile the input (kernel == stride, no padding).

    Window (oh, ow) is rows ``oh*kh ..`` and columns ``ow*kw ..``, so no bounds arrays are read
    and the first element seeds the maximum; the results (first maximum wins) are identical.
    The common 2x2 window has a loop of its own (``_max_pool2x2``): with the four reads
    written out, numba compiles it to straight-line code, several times faster than the loops
    over a window of any size (``_max_pool_tiles``).

    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> y, arg = max_pool2d_tiles_forward(x, 2, 2, 2, 2); y[0, 0], arg[0, 0]
    (array([[ 5.,  7.],
           [13., 15.]], dtype=float32), array([[ 5,  7],
           [13, 15]], dtype=int32))
    """
    if (kh, kw) == (2, 2):
        return _max_pool2x2(x, OH, OW)
    return _max_pool_tiles(x, kh, kw, OH, OW)


@njit(cache=True, nogil=True)
def _max_pool2x2(x, OH, OW):
    """``max_pool2d_tiles_forward`` for 2x2 windows: rows 2*oh and 2*oh + 1, in reading order."""
    N, C, W = x.shape[0], x.shape[1], x.shape[3]
    y = np.empty((N, C, OH, OW), np.float32)
    arg = np.empty((N, C, OH, OW), np.int32)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                top, bottom = x[n, c, 2 * oh], x[n, c, 2 * oh + 1]
                y_row, arg_row = y[n, c, oh], arg[n, c, oh]
                i0 = 2 * oh * W  # flat index of the window row's first element
                for ow in range(OW):
                    w = 2 * ow
                    best, best_i = top[w], i0 + w
                    if top[w + 1] > best:
                        best, best_i = top[w + 1], i0 + w + 1
                    if bottom[w] > best:
                        best, best_i = bottom[w], i0 + W + w
                    if bottom[w + 1] > best:
                        best, best_i = bottom[w + 1], i0 + W + w + 1
                    y_row[ow] = best
                    arg_row[ow] = best_i
    return y, arg


@njit(cache=True)
def _max_pool_tiles(x, kh, kw, OH, OW):
    """``max_pool2d_tiles_forward`` for any window size."""
    N, C, W = x.shape[0], x.shape[1], x.shape[3]
    y = np.empty((N, C, OH, OW), np.float32)
    arg = np.empty((N, C, OH, OW), np.int32)
    for n in range(N):
        for c in range(C):
            plane = x[n, c]
            for oh in range(OH):
                h0 = oh * kh
                for ow in range(OW):
                    w0 = ow * kw
                    best, best_i = plane[h0, w0], h0 * W + w0
                    for i in range(kh):
                        for j in range(kw):
                            v = plane[h0 + i, w0 + j]
                            if v > best:
                                best, best_i = v, (h0 + i) * W + w0 + j
                    y[n, c, oh, ow] = best
                    arg[n, c, oh, ow] = best_i
    return y, arg


@njit(cache=True, nogil=True)
def max_pool2d_backward(g, arg, H, W):
    """Route each output gradient to the input element that was the window's max.

    Each (n, c) plane is addressed flat, as ``arg`` stores it (h*W + w): no division per element.

    >>> max_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), np.array([[[[3]]]], np.int32), 2, 2)
    array([[[[0., 0.],
             [0., 1.]]]], dtype=float32)
    """
    N, C, OH, OW = g.shape
    gx = np.zeros((N, C, H * W), np.float32)
    for n in range(N):
        for c in range(C):
            plane = gx[n, c]
            for oh in range(OH):
                for ow in range(OW):
                    plane[arg[n, c, oh, ow]] += g[n, c, oh, ow]
    return gx.reshape(N, C, H, W)


@njit(cache=True)
def avg_pool2d_forward(x, hs, he, ws, we, divisor):
    """Window means of NCHW ``x``; ``divisor=0`` divides by the count of real (unpadded) inputs.

    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> b = adaptive_bounds(4, 1)
    >>> avg_pool2d_forward(x, b[0], b[1], b[0], b[1], 0.0)
    array([[[[7.5]]]], dtype=float32)
    """
    N, C = x.shape[:2]
    OH, OW = hs.size, ws.size
    y = np.empty((N, C, OH, OW), np.float32)
    for p in range(N * C):
        n, c = p // C, p % C
        for oh in range(OH):
            for ow in range(OW):
                s = np.float32(0.0)
                for h in range(hs[oh], he[oh]):
                    for w in range(ws[ow], we[ow]):
                        s += x[n, c, h, w]
                count = (he[oh] - hs[oh]) * (we[ow] - ws[ow])
                y[n, c, oh, ow] = s / np.float32(divisor if divisor > 0 else max(count, 1))
    return y


@njit(cache=True)
def avg_pool2d_backward(g, hs, he, ws, we, divisor, H, W):
    """Spread each output gradient evenly (÷ the same divisor) over its window.

    >>> b = adaptive_bounds(2, 1)
    >>> avg_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), b[0], b[1], b[0], b[1], 0.0, 2, 2)
    array([[[[0.25, 0.25],
             [0.25, 0.25]]]], dtype=float32)
    """
    N, C, OH, OW = g.shape
    gx = np.zeros((N, C, H, W), np.float32)
    for p in range(N * C):
        n, c = p // C, p % C
        for oh in range(OH):
            for ow in range(OW):
                count = (he[oh] - hs[oh]) * (we[ow] - ws[ow])
                v = g[n, c, oh, ow] / np.float32(divisor if divisor > 0 else max(count, 1))
                for h in range(hs[oh], he[oh]):
                    for w in range(ws[ow], we[ow]):
                        gx[n, c, h, w] += v
    return gx


def global_avg_pool_forward(x):
    """Mean of every (H, W) plane of NCHW ``x``, shaped (N, C, 1, 1): average pooling with one
    window covering the plane (ResNet's last pooling). numpy's sum over the contiguous plane is
    vectorised; the window loop of ``avg_pool2d_forward`` adds one float at a time.

    >>> global_avg_pool_forward(np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2))[:, :, 0, 0]
    array([[1.5, 5.5]], dtype=float32)
    """
    return x.mean(axis=(2, 3), keepdims=True, dtype=np.float32)


def global_avg_pool_backward(g, H, W):
    """dL/dx of ``global_avg_pool_forward``: every input of plane (n, c) gets g[n, c] / (H*W).

    >>> global_avg_pool_backward(np.ones((1, 1, 1, 1), np.float32), 1, 2)
    array([[[[0.5, 0.5]]]], dtype=float32)
    """
    gx = np.empty(g.shape[:2] + (H, W), np.float32)
    gx[...] = g / np.float32(H * W)
    return gx
