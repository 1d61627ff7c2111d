"""Direct convolution loops, for inputs with very few channels (a grayscale or RGB first layer).

With C = 1, im2col would copy one float at a time and the GEMM would have K = KH*KW (25 for
LeNet): both run far below the machine's speed. The plain definition is faster there::

    y[n, o, oh, ow] = bias[o] + sum_{c, kh, kw} w[o, c, kh, kw] * x[n, c, oh + kh, ow + kw]

written so that the innermost loop runs along an output row (``ow``): contiguous in ``x``, ``y``
and the gradients, so LLVM vectorises it. Stride 1, dilation 1, one group; the input is
already zero-padded (NCHW). The loops are serial and release the GIL (see ``blas.py``).
"""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def direct_forward(xp, w, bias, y):
    """y (n, O, OH, OW) = bias + cross-correlation of padded NCHW ``xp`` with ``w``; returns y.

    >>> xp = np.ones((1, 1, 3, 3), np.float32); w = np.ones((1, 1, 2, 2), np.float32)
    >>> direct_forward(xp, w, np.ones(1, np.float32), np.empty((1, 1, 2, 2), np.float32))[0, 0]
    array([[5., 5.],
           [5., 5.]], dtype=float32)
    """
    N, C = xp.shape[:2]
    O, _, KH, KW = w.shape
    OH, OW = y.shape[2:]
    for n in range(N):
        for o in range(O):
            out = y[n, o]
            out[:] = bias[o]
            for c in range(C):
                for kh in range(KH):
                    for kw in range(KW):
                        wv = w[o, c, kh, kw]
                        for oh in range(OH):
                            src, dst = xp[n, c, oh + kh, kw:kw + OW], out[oh]
                            for ow in range(OW):
                                dst[ow] += wv * src[ow]
    return y


@njit(cache=True, nogil=True)
def direct_grad_weight(g, xp, KH, KW):
    """dL/dw (O, C, KH, KW) = sum over n, oh, ow of g[n, o, oh, ow] * xp[n, c, oh + kh, ow + kw].

    Each weight's sum is kept as OW partial sums (one per lane of the innermost loop, so it
    vectorises without reordering float additions) and added up at the end.

    >>> g = np.ones((1, 1, 2, 2), np.float32); xp = np.ones((1, 1, 3, 3), np.float32)
    >>> direct_grad_weight(g, xp, 2, 2)[0, 0]
    array([[4., 4.],
           [4., 4.]], dtype=float32)
    """
    N, O, OH, OW = g.shape
    C = xp.shape[1]
    gw = np.empty((O, C, KH, KW), np.float32)
    lanes = np.empty(OW, np.float32)
    for o in range(O):
        for c in range(C):
            for kh in range(KH):
                for kw in range(KW):
                    lanes[:] = 0.0
                    for n in range(N):
                        for oh in range(OH):
                            gr, xr = g[n, o, oh], xp[n, c, oh + kh, kw:kw + OW]
                            for ow in range(OW):
                                lanes[ow] += gr[ow] * xr[ow]
                    gw[o, c, kh, kw] = lanes.sum()
    return gw


@njit(cache=True, nogil=True)
def direct_grad_input(g, w, gxp):
    """Add dL/dxp to padded NCHW ``gxp``: each g[n, o, oh, ow] * w[o, c, kh, kw] goes back to
    the input pixel (oh + kh, ow + kw) it was multiplied with. Returns gxp.

    >>> gxp = np.zeros((1, 1, 3, 3), np.float32)
    >>> direct_grad_input(np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 2, 2), np.float32), gxp)[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
    """
    N, O, OH, OW = g.shape
    C, KH, KW = w.shape[1:]
    for n in range(N):
        for c in range(C):
            for o in range(O):
                for kh in range(KH):
                    for kw in range(KW):
                        wv = w[o, c, kh, kw]
                        for oh in range(OH):
                            src, dst = g[n, o, oh], gxp[n, c, oh + kh, kw:kw + OW]
                            for ow in range(OW):
                                dst[ow] += wv * src[ow]
    return gxp
