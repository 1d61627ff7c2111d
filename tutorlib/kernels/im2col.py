"""im2col / col2im: turn a convolution into one matrix multiply.

A convolution output pixel is a dot product between the weights and the input *patch* under the
kernel. ``im2col`` copies every patch into one row of a matrix, so the whole convolution becomes
``cols @ W.T``; ``col2im`` is its adjoint (scatter-add each row back onto the patch it came from).

Layouts (all C-contiguous float32):

    xp   (N, Hp, Wp, C)  the input, channels-last (NHWC) and already zero-padded
    cols (N*OH*OW, G*KH*KW*Cg)  one row per output pixel (n, oh, ow), columns ordered
                         (g, kh, kw, cg): group-major so each group's block of columns is
                         contiguous, and channel-minor so each (kh, kw) tap copies C/G contiguous
                         floats.

    row (n, oh, ow) = [ xp[n, oh*sh + kh*dh, ow*sw + kw*dw, g*Cg:(g+1)*Cg]  for g, kh, kw ]

With one group and no horizontal dilation, the KW*C values of one kernel row (kh, all kw, all c)
are also contiguous in ``xp``: ``im2col_rows`` / ``col2im_rows_add`` copy those blocks whole, which
matters when C is small (a first layer with C=1 would otherwise copy one float at a time).
``im2col`` / ``col2im_add`` are the general loops (any groups and dilation).

Channels-last keeps the innermost copy contiguous, which is what makes these loops fast;
``to_padded_nhwc`` / ``from_padded_nhwc`` convert from and to tutorlib's NCHW tensors.

Like all kernels here these loops are single-threaded; they release the GIL (``nogil``) so that
``conv.py`` can run them, chunk by chunk, on several Python threads at once (see ``blas.py``).
"""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def to_padded_nhwc(x, ph, pw):
    """NCHW ``x`` -> zero-padded NHWC copy of shape (N, H + 2ph, W + 2pw, C).

    >>> to_padded_nhwc(np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2), 1, 0)[0, :, :, 0]
    array([[0., 0.],
           [0., 1.],
           [2., 3.],
           [0., 0.]], dtype=float32)
    """
    N, C, H, W = x.shape
    return pad_into_nhwc(x, ph, pw, np.zeros((N, H + 2 * ph, W + 2 * pw, C), np.float32))


@njit(cache=True, nogil=True)
def pad_into_nhwc(x, ph, pw, xp):
    """Write NCHW ``x`` into the interior of NHWC ``xp`` (N, H + 2ph, W + 2pw, C); the border
    is left as it is (zero if ``xp`` came from ``np.zeros``). Returns ``xp``.

    >>> pad_into_nhwc(np.ones((1, 1, 1, 2), np.float32), 0, 1, np.zeros((1, 1, 4, 1), np.float32))[0, 0, :, 0]
    array([0., 1., 1., 0.], dtype=float32)
    """
    N, C, H, W = x.shape
    for r in range(N * H):
        n, h = r // H, r % H
        # one image row: read C contiguous rows of W floats, write into one (Wp, C) block,
        # which stays in L1 cache while it is filled column by column
        for c in range(C):
            for w in range(W):
                xp[n, h + ph, w + pw, c] = x[n, c, h, w]
    return xp


@njit(cache=True, nogil=True)
def from_padded_nhwc(xp, ph, pw, out):
    """Crop the padding off NHWC ``xp`` and write it into NCHW ``out`` (returned).

    >>> xp = to_padded_nhwc(np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2), 1, 1)
    >>> from_padded_nhwc(xp, 1, 1, np.empty((1, 1, 2, 2), np.float32))[0, 0]
    array([[0., 1.],
           [2., 3.]], dtype=float32)
    """
    N, C, H, W = out.shape
    for r in range(N * H):
        n, h = r // H, r % H
        for c in range(C):
            for w in range(W):
                out[n, c, h, w] = xp[n, h + ph, w + pw, c]
    return out


@njit(cache=True, nogil=True)
def im2col(xp, groups, KH, KW, sh, sw, dh, dw, OH, OW, cols):
    """Fill ``cols`` (N*OH*OW, G*KH*KW*Cg) with the patches of padded NHWC ``xp``.

    >>> xp = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> im2col(xp, 1, 2, 2, 1, 1, 1, 1, 2, 2, np.empty((4, 4), np.float32))
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]], dtype=float32)
    """
    N, C = xp.shape[0], xp.shape[3]
    Cg = C // groups
    for r in range(N * OH):
        n, oh = r // OH, r % OH
        for ow in range(OW):
            row = r * OW + ow
            col = 0
            for g in range(groups):
                for kh in range(KH):
                    ih = oh * sh + kh * dh
                    for kw in range(KW):
                        iw = ow * sw + kw * dw
                        for cg in range(Cg):
                            cols[row, col + cg] = xp[n, ih, iw, g * Cg + cg]
                        col += Cg
    return cols


@njit(cache=True, nogil=True)
def col2im_add(cols, groups, KH, KW, sh, sw, dh, dw, OH, OW, gxp):
    """Scatter-add the rows of ``cols`` back onto padded NHWC ``gxp`` (adjoint of im2col).

    >>> gxp = np.zeros((1, 3, 3, 1), np.float32)
    >>> col2im_add(np.ones((4, 4), np.float32), 1, 2, 2, 1, 1, 1, 1, 2, 2, gxp)[0, :, :, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
    """
    N, C = gxp.shape[0], gxp.shape[3]
    Cg = C // groups
    for n in range(N):
        for oh in range(OH):
            for ow in range(OW):
                row = (n * OH + oh) * OW + ow
                col = 0
                for g in range(groups):
                    for kh in range(KH):
                        ih = oh * sh + kh * dh
                        for kw in range(KW):
                            iw = ow * sw + kw * dw
                            for cg in range(Cg):
                                gxp[n, ih, iw, g * Cg + cg] += cols[row, col + cg]
                            col += Cg
    return gxp


@njit(cache=True, nogil=True)
def im2col_rows(xp, KH, KW, sh, sw, dh, OH, OW, cols):
    """``im2col`` for one group and horizontal dilation 1: one KW*C block copy per kernel row.

    >>> xp = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> im2col_rows(xp, 2, 2, 1, 1, 1, 2, 2, np.empty((4, 4), np.float32))[3]
    array([4., 5., 7., 8.], dtype=float32)
    """
    N, Hp, C = xp.shape[0], xp.shape[1], xp.shape[3]
    rows = xp.reshape(N, Hp, -1)  # (N, Hp, Wp*C): a kernel row is a contiguous run
    block = KW * C
    for r in range(N * OH):
        n, oh = r // OH, r % OH
        for ow in range(OW):
            row = r * OW + ow
            start = ow * sw * C
            for kh in range(KH):
                ih = oh * sh + kh * dh
                for j in range(block):  # explicit loop: cheaper than a slice view per block
                    cols[row, kh * block + j] = rows[n, ih, start + j]
    return cols


@njit(cache=True, nogil=True)
def col2im_rows_add(cols, KH, KW, sh, sw, dh, OH, OW, gxp):
    """Adjoint of ``im2col_rows``: add each KW*C block back onto its kernel row of ``gxp``.

    >>> gxp = np.zeros((1, 3, 3, 1), np.float32)
    >>> col2im_rows_add(np.ones((4, 4), np.float32), 2, 2, 1, 1, 1, 2, 2, gxp)[0, :, :, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
    """
    N, Hp, C = gxp.shape[0], gxp.shape[1], gxp.shape[3]
    rows = gxp.reshape(N, Hp, -1)
    block = KW * C
    for r in range(N * OH):
        n, oh = r // OH, r % OH
        for ow in range(OW):
            row = r * OW + ow
            start = ow * sw * C
            for kh in range(KH):
                ih = oh * sh + kh * dh
                for j in range(block):
                    rows[n, ih, start + j] += cols[row, kh * block + j]
    return gxp


@njit(cache=True, nogil=True)
def im2col_chw(xp, KH, KW, sh, sw, dh, dw, OH, OW, cols):
    """Channels-first patches (Caffe's layout), one matrix per image: for padded NCHW ``xp``
    (n, C, Hp, Wp) fill ``cols`` (n, C*KH*KW, OH*OW) with

        cols[n, (c, kh, kw), (oh, ow)] = xp[n, c, oh*sh + kh*dh, ow*sw + kw*dw]

    so that ``w.reshape(O, -1) @ cols[n]`` is image n's output, already in NCHW order. Each row
    of ``cols`` is filled from OH runs of OW input floats (contiguous when sw == 1).

    >>> xp = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> im2col_chw(xp, 2, 2, 1, 1, 1, 1, 2, 2, np.empty((1, 4, 4), np.float32))[0]
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]], dtype=float32)
    """
    N, C = xp.shape[:2]
    for n in range(N):
        for c in range(C):
            for kh in range(KH):
                for kw in range(KW):
                    row = cols[n, (c * KH + kh) * KW + kw]
                    for oh in range(OH):
                        src = xp[n, c, oh * sh + kh * dh]
                        if sw == 1:  # a contiguous run: a separate loop so that it vectorises
                            run = src[kw * dw:kw * dw + OW]
                            for ow in range(OW):
                                row[oh * OW + ow] = run[ow]
                        else:
                            for ow in range(OW):
                                row[oh * OW + ow] = src[ow * sw + kw * dw]
    return cols


@njit(cache=True, nogil=True)
def col2im_chw_add(cols, KH, KW, sh, sw, dh, dw, OH, OW, gxp):
    """Adjoint of ``im2col_chw``: add every entry of ``cols`` back onto the pixel of padded NCHW
    ``gxp`` it was copied from. Returns gxp.

    >>> gxp = np.zeros((1, 1, 3, 3), np.float32)
    >>> col2im_chw_add(np.ones((1, 4, 4), np.float32), 2, 2, 1, 1, 1, 1, 2, 2, gxp)[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
    """
    N, C = gxp.shape[:2]
    for n in range(N):
        for c in range(C):
            for kh in range(KH):
                for kw in range(KW):
                    row = cols[n, (c * KH + kh) * KW + kw]
                    for oh in range(OH):
                        dst = gxp[n, c, oh * sh + kh * dh]
                        if sw == 1:
                            run = dst[kw * dw:kw * dw + OW]
                            for ow in range(OW):
                                run[ow] += row[oh * OW + ow]
                        else:
                            for ow in range(OW):
                                dst[ow * sw + kw * dw] += row[oh * OW + ow]
    return gxp
