"""Row-shift convolution: im2col along the kernel *width* only, kernel rows become GEMM columns.

A stride-1 convolution sums KH kernel rows. Row ``kh`` of output row ``oh`` reads input row
``oh + kh*dh``: the same input rows, shifted. So instead of copying every KH x KW patch (im2col
makes KH*KW copies of the input), copy only the KW horizontal taps, for *every* padded input row::

    colsW (N*Hp*OW, KW*C)    colsW[(n, h, ow)] = xp[n, h, ow*sw : ow*sw + KW, :]   (KW copies)
    P     (N*Hp*OW, KH*O)  = colsW @ Wcat         Wcat[(kw, c), (kh, o)] = w[o, c, kh, kw]
    y[n, o, oh, ow]        = sum_kh P[(n, oh + kh*dh, ow), (kh, o)]                (the shift)

One GEMM, KH times wider than im2col's (O columns become KH*O) and Hp/OH times taller, does the
same multiply-adds as im2col's (plus the few extra rows at the padded border), and the patch
copy shrinks by a factor of KH. The shift-and-sum is cheap (it reads P once) and is fused with
the copy back to NCHW here (``shift_sum_to_nchw``).

Backward runs the same idea in reverse: ``spread_to_shifted`` lays dL/dy out as G (N*Hp*OW,
KH*O), each output gradient copied to the KH rows it was summed from (zeros elsewhere); then
``gWcat = colsW.T @ G`` and ``gcolsW = G @ Wcat.T``, whose KW taps ``col2im_rows_add`` adds back.

Loops are serial and release the GIL (``nogil``) like all kernels here (see ``blas.py``).
"""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def shift_sum_to_nchw(P, KH, dh, Hp, bias, y):
    """y[n, o, oh, ow] = bias[o] + sum_kh P[(n*Hp + oh + kh*dh)*OW + ow, kh*O + o]; returns y.

    ``y`` (n, O, OH, OW) is written whole. Each output row is summed in a small (OW, O) tile
    (contiguous over o, so the adds vectorise) and then transposed into NCHW.

    >>> P = np.arange(12, dtype=np.float32).reshape(6, 2)      # n=1, Hp=3, OW=2, KH=2, O=1
    >>> shift_sum_to_nchw(P, 2, 1, 3, np.zeros(1, np.float32), np.empty((1, 1, 2, 2), np.float32))[0, 0]
    array([[ 5.,  9.],
           [13., 17.]], dtype=float32)
    """
    n_img, O, OH, OW = y.shape
    tile = np.empty((OW, O), np.float32)
    for n in range(n_img):
        for oh in range(OH):
            base = (n * Hp + oh) * OW
            for ow in range(OW):
                t, p = tile[ow], P[base + ow]
                for o in range(O):
                    t[o] = bias[o] + p[o]
                for kh in range(1, KH):
                    p = P[base + kh * dh * OW + ow, kh * O:(kh + 1) * O]
                    for o in range(O):
                        t[o] += p[o]
            for o in range(O):
                row = y[n, o, oh]
                for ow in range(OW):
                    row[ow] = tile[ow, o]
    return y


@njit(cache=True, nogil=True)
def spread_to_shifted(g, KH, dh, Hp, G):
    """Adjoint of the shift-and-sum: G[(n*Hp + oh + kh*dh)*OW + ow, kh*O + o] = g[n, o, oh, ow],
    zero in the rows of each kh block that no output row reads. Returns G (N*Hp*OW, KH*O).

    >>> g = np.array([[[[1., 2.]]]], np.float32)               # n=1, O=1, OH=1, OW=2
    >>> spread_to_shifted(g, 2, 1, 2, np.empty((4, 2), np.float32))
    array([[1., 0.],
           [2., 0.],
           [0., 1.],
           [0., 2.]], dtype=float32)
    """
    n_img, O, OH, OW = g.shape
    tile = np.empty((OW, O), np.float32)
    for n in range(n_img):
        for h in range(Hp):  # zero each kh block's rows that lie outside its shifted window
            for kh in range(KH):
                if h < kh * dh or h >= kh * dh + OH:
                    for ow in range(OW):
                        G[(n * Hp + h) * OW + ow, kh * O:(kh + 1) * O] = 0.0
        for oh in range(OH):
            for o in range(O):  # transpose one NCHW output row into the (OW, O) tile
                row = g[n, o, oh]
                for ow in range(OW):
                    tile[ow, o] = row[ow]
            for kh in range(KH):
                base = (n * Hp + oh + kh * dh) * OW
                for ow in range(OW):
                    dst, t = G[base + ow, kh * O:(kh + 1) * O], tile[ow]
                    for o in range(O):
                        dst[o] = t[o]
    return G
