"""The channels-first convolution ("im2col_chw", see ``conv.py``) as one parallel loop over images.

For each image ``n`` a thread pads it, gathers its patches channels-first and multiplies::

    xp   = x[n] zero-padded                      (C, Hp, Wp)
    cols = im2col_chw(xp)                        (C*KH*KW, OH*OW)
    y[n] = W2 @ cols + bias                      (O, OH*OW): already NCHW

    backward:  gW += G_n @ cols.T    gb += G_n summed over pixels    (G_n = dL/dy[n], (O, OH*OW))
               gcols = W2.T @ G_n    gx[n] = col2im_chw_add(gcols) cropped to (C, H, W)

The images are split over ``T`` threads (thread t takes images t, t + T, ...), each with its own
workspaces (``xp_ws[t]``, ``cols_ws[t]``; backward reuses them for the input gradient's padded
image and gcols) and, in backward, its own gW and gb accumulators, summed at the end. The whole
loop is one numba call (``prange``) and the GEMMs are ``gemm.sgemm`` calls from inside it, so no
Python runs between the images: with the narrow layers of a CIFAR ResNet (16 channels, a GEMM
of 2.4 M multiply-adds per image) the per-image Python of a thread pool, and the GIL hand-offs it
needs, cost about a third of a convolution's time (figures in ``benchmarks/README.md``).

The caller (``conv.py``) sets OpenBLAS to one thread around these calls: the threads are numba's.
"""
from numba import njit, prange

from tutorlib.kernels.gemm import sgemm
from tutorlib.kernels.im2col import col2im_chw_add, im2col_chw


@njit(cache=True, nogil=True)
def _pad_image(x, ph, pw, xp):
    """Write image ``x`` (C, H, W) into the middle of ``xp`` (C, H + 2ph, W + 2pw), zero border."""
    if ph or pw:
        xp[:] = 0.0
    C, H, W = x.shape
    for c in range(C):
        for h in range(H):
            for w in range(W):
                xp[c, h + ph, w + pw] = x[c, h, w]


@njit(parallel=True, nogil=True, cache=True)
def forward(x, w2, bias, KH, KW, sh, sw, ph, pw, dh, dw, y, xp_ws, cols_ws):
    """y (N, O, OH, OW) = conv(x, w2 (O, C*KH*KW)) + bias, on ``len(xp_ws)`` threads.

    >>> import numpy as np
    >>> x = np.ones((2, 1, 3, 3), np.float32); y = np.empty((2, 1, 2, 2), np.float32)
    >>> forward(x, np.ones((1, 4), np.float32), np.zeros(1, np.float32), 2, 2, 1, 1, 0, 0, 1, 1,
    ...         y, np.empty((1, 1, 3, 3), np.float32), np.empty((1, 4, 4), np.float32))[1, 0]
    array([[4., 4.],
           [4., 4.]], dtype=float32)
    """
    N, T = x.shape[0], xp_ws.shape[0]
    O, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    for t in prange(T):
        xp, cols = xp_ws[t:t + 1], cols_ws[t:t + 1]
        for n in range(t, N, T):
            _pad_image(x[n], ph, pw, xp[0])
            im2col_chw(xp, KH, KW, sh, sw, dh, dw, OH, OW, cols)
            out = y[n].reshape(O, OH * OW)
            sgemm(w2, cols[0], out, 0.0, False, False)
            for o in range(O):
                out[o] += bias[o]
    return y


@njit(parallel=True, nogil=True, cache=True)
def backward(g, x, w2, KH, KW, sh, sw, ph, pw, dh, dw, gx, need_gx, gw_ws, gb_ws, xp_ws, cols_ws):
    """Per-thread (gW, gb) in ``gw_ws`` (T, O, C*KH*KW) and ``gb_ws`` (T, O); gx (N, C, H, W)
    too if ``need_gx``. ``g`` is dL/dy (N, O, OH, OW), C-contiguous.

    >>> import numpy as np
    >>> x = np.ones((1, 1, 3, 3), np.float32); g = np.ones((1, 1, 2, 2), np.float32)
    >>> gx, gw, gb = np.empty_like(x), np.empty((1, 1, 4), np.float32), np.empty((1, 1), np.float32)
    >>> _ = backward(g, x, np.ones((1, 4), np.float32), 2, 2, 1, 1, 0, 0, 1, 1, gx, True, gw, gb,
    ...              np.empty((1, 1, 3, 3), np.float32), np.empty((1, 4, 4), np.float32))
    >>> gx[0, 0], gw[0, 0], gb[0]
    (array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32), array([4., 4., 4., 4.], dtype=float32), array([4.], dtype=float32))
    """
    N, C, H, W = x.shape
    T = xp_ws.shape[0]
    O, OH, OW = g.shape[1], g.shape[2], g.shape[3]
    for t in prange(T):
        xp, cols = xp_ws[t:t + 1], cols_ws[t:t + 1]
        gw_ws[t] = 0.0
        gb_ws[t] = 0.0
        for n in range(t, N, T):
            _pad_image(x[n], ph, pw, xp[0])
            im2col_chw(xp, KH, KW, sh, sw, dh, dw, OH, OW, cols)
            G = g[n].reshape(O, OH * OW)
            sgemm(G, cols[0], gw_ws[t], 1.0, False, True)       # gW += G_n @ cols.T
            for o in range(O):
                gb_ws[t, o] += G[o].sum()
            if need_gx:
                sgemm(w2, G, cols[0], 0.0, True, False)         # gcols = W2.T @ G_n (reuses cols)
                xp[0] = 0.0
                col2im_chw_add(cols, KH, KW, sh, sw, dh, dw, OH, OW, xp)
                gx[n] = xp[0, :, ph:ph + H, pw:pw + W]
    return gw_ws, gb_ws
