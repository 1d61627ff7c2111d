"""Convolution as one GEMM per kernel tap on a shifted view of the image ("shift_gemm", see
``conv.py``): no patch matrix at all, as one parallel loop over images.

**Stride 1.** Lay the zero-padded image out flat, rows ``Wp`` floats apart and channels
``Hp*Wp`` apart. Read from offset ``kh*Wp + kw`` with rows ``Hp*Wp`` apart, the same buffer *is*
the (C, OH*Wp) matrix of the inputs that kernel tap (kh, kw) meets at every output position, if
every output row is computed ``Wp`` wide and its last ``Wp - OW`` values (which wrap around into
the next image row) are thrown away. So each tap is one GEMM on a strided view of one buffer
(``gemm.sgemm_strided``), all accumulating into a "wide" output::

    wide (O, OH*Wp) = sum over taps k of  W_k (O, C) @ xp_flat[off_k:] (C rows, Hp*Wp apart)
    y[n]            = wide without the last Wp - OW columns of each row, + bias

**Stride s.** Tap (kh, kw) then meets every s-th pixel, which no strided view can express. But
split the padded image into its s*s *phases* (the pixels whose row is a mod s and whose column is
b mod s, each a (C, Hq, Wq) image, Hq = ceil(Hp/s)): tap (kh, kw) reads phase (kh mod s, kw mod
s) shifted by (kh // s, kw // s), again a plain strided view, of a buffer ``Wq`` wide. Building
the phases is one copy of the image; for s = 1 it is just the padding.

Backward, with ``G`` = dL/dy[n] laid out the same width, zeros in the thrown-away columns::

    gW_k += G @ X_k.T                (O, C) per tap: the same views as the forward pass
    gX_k += W_k.T @ G                accumulated into the phases' buffer, then copied back
                                     to gx[n] (the inverse of building the phases)

The multiply-adds are the convolution's plus the thrown-away columns ((KW - 1) // s of every
``Wq``); no patch is copied, where im2col writes and reads KH*KW times the image. OpenBLAS packs
the strided views as it packs any matrix. Each tap's GEMM is only C deep, so this pays from about
16 input channels (``conv.SHIFT_MIN_CHANNELS``). Measurements: ``benchmarks/README.md``.

Threads as in ``conv_images.py``: images t, t + T, ... on thread t, each with its own buffers;
the caller (``conv.py``) sets OpenBLAS to one thread around these calls.
"""
from numba import njit, prange

from tutorlib.kernels.gemm import sgemm_strided


@njit(cache=True, nogil=True)
def phase_shape(H, W, sh, sw, ph, pw):
    """(Hq, Wq): the size of each of the sh*sw phases of the image padded by (ph, pw).

    >>> phase_shape(32, 32, 1, 1, 1, 1), phase_shape(32, 32, 2, 2, 1, 1)
    ((34, 34), (17, 17))
    """
    return -(-(H + 2 * ph) // sh), -(-(W + 2 * pw) // sw)


def buffer_floats(C, H, W, KW, stride, padding, dilation):
    """Length of the flat phases buffer: every phase, plus the tail the last taps read past.

    >>> buffer_floats(16, 32, 32, 3, (1, 1), (1, 1), (1, 1))   # 16 * 34 * 34 + 2
    18498
    """
    Hq, Wq = phase_shape(H, W, *stride, *padding)
    return stride[0] * stride[1] * C * Hq * Wq + (KW - 1) * dilation[1] // stride[1]


@njit(cache=True, nogil=True)
def _to_phases(x, sh, sw, ph, pw, Hq, Wq, xq):
    """Zero ``xq`` and write image ``x`` (C, H, W), padded by (ph, pw), into it as phases:
    padded pixel (hp, wp) goes to phase (hp % sh, wp % sw) at (hp // sh, wp // sw)."""
    C, H, W = x.shape
    xq[:] = 0.0
    if sh == 1 and sw == 1:                         # one phase: the padded image
        for c in range(C):
            for h in range(H):
                start = (c * Hq + h + ph) * Wq + pw
                for w in range(W):
                    xq[start + w] = x[c, h, w]
        return
    for c in range(C):
        for h in range(H):
            hp = h + ph
            row = ((hp % sh) * sw * C + c) * Hq * Wq + (hp // sh) * Wq
            for b in range(sw):
                w0 = (b - pw) % sw                  # the first column of x in phase b
                start = row + b * C * Hq * Wq + (w0 + pw) // sw
                for j in range((W - w0 + sw - 1) // sw):
                    xq[start + j] = x[c, h, w0 + j * sw]


@njit(cache=True, nogil=True)
def _from_phases(xq, sh, sw, ph, pw, Hq, Wq, x):
    """The inverse of ``_to_phases``: image ``x`` (C, H, W) read back out of the phases."""
    C, H, W = x.shape
    if sh == 1 and sw == 1:
        for c in range(C):
            for h in range(H):
                start = (c * Hq + h + ph) * Wq + pw
                for w in range(W):
                    x[c, h, w] = xq[start + w]
        return
    for c in range(C):
        for h in range(H):
            hp = h + ph
            row = ((hp % sh) * sw * C + c) * Hq * Wq + (hp // sh) * Wq
            for b in range(sw):
                w0 = (b - pw) % sw
                start = row + b * C * Hq * Wq + (w0 + pw) // sw
                for j in range((W - w0 + sw - 1) // sw):
                    x[c, h, w0 + j * sw] = xq[start + j]


@njit(cache=True, nogil=True)
def _tap_offset(k, KW, sh, sw, dh, dw, C, Hq, Wq):
    """Where tap k = kh*KW + kw starts in the phases buffer: row r = kh*dh and column
    q = kw*dw of the padded image are in phase (r % sh, q % sw), shifted by (r // sh, q // sw)."""
    r, q = (k // KW) * dh, (k % KW) * dw
    return ((r % sh) * sw + q % sw) * C * Hq * Wq + (r // sh) * Wq + q // sw


@njit(parallel=True, nogil=True, cache=True)
def forward(x, wk, bias, KH, KW, sh, sw, ph, pw, dh, dw, y, xq_ws, wide_ws):
    """y (N, O, OH, OW) = conv(x, w) + bias, one GEMM per tap; ``wk`` (KH*KW, O, C) holds
    w[:, :, kh, kw] for tap k = kh*KW + kw. Per-thread buffers: ``xq_ws`` (T, ``buffer_floats``)
    and ``wide_ws`` (T, O, OH*Wq).

    >>> import numpy as np
    >>> x = np.ones((2, 1, 3, 3), np.float32); y = np.empty((2, 1, 2, 2), np.float32)
    >>> forward(x, np.ones((4, 1, 1), np.float32), np.zeros(1, np.float32), 2, 2, 1, 1, 0, 0,
    ...         1, 1, y, np.empty((1, 10), np.float32), np.empty((1, 1, 6), np.float32))[1, 0]
    array([[4., 4.],
           [4., 4.]], dtype=float32)
    """
    N, C, H, W = x.shape
    T = xq_ws.shape[0]
    O, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    Hq, Wq = phase_shape(H, W, sh, sw, ph, pw)
    P = OH * Wq
    for t in prange(T):
        xq, wide = xq_ws[t], wide_ws[t]
        for n in range(t, N, T):
            _to_phases(x[n], sh, sw, ph, pw, Hq, Wq, xq)
            for k in range(KH * KW):                               # wide += W_k @ X_k
                X_k = xq[_tap_offset(k, KW, sh, sw, dh, dw, C, Hq, Wq):]
                sgemm_strided(False, False, O, P, C, wk[k], C, X_k, Hq * Wq,
                              0.0 if k == 0 else 1.0, wide, P)
            for o in range(O):
                for h in range(OH):
                    for w in range(OW):
                        y[n, o, h, w] = wide[o, h * Wq + w] + bias[o]
    return y


@njit(parallel=True, nogil=True, cache=True)
def backward(g, x, wk, KH, KW, sh, sw, ph, pw, dh, dw, gx, need_gx, gw_ws, gb_ws, xq_ws, wide_ws):
    """Per-thread gW in ``gw_ws`` (T, KH*KW, O, C) and gb in ``gb_ws`` (T, O); gx (N, C, H, W)
    too if ``need_gx``. Arguments as ``forward``'s; ``g`` is dL/dy, C-contiguous.

    >>> import numpy as np
    >>> x = np.ones((1, 1, 3, 3), np.float32); g = np.ones((1, 1, 2, 2), np.float32)
    >>> gx, gw, gb = np.empty_like(x), np.empty((1, 4, 1, 1), np.float32), np.empty((1, 1), np.float32)
    >>> _ = backward(g, x, np.ones((4, 1, 1), np.float32), 2, 2, 1, 1, 0, 0, 1, 1, gx, True, gw, gb,
    ...              np.empty((1, 10), np.float32), np.empty((1, 1, 6), np.float32))
    >>> gx[0, 0], gw[0, :, 0, 0], gb[0]
    (array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32), array([4., 4., 4., 4.], dtype=float32), array([4.], dtype=float32))
    """
    N, C, H, W = x.shape
    T = xq_ws.shape[0]
    O, OH, OW = g.shape[1], g.shape[2], g.shape[3]
    Hq, Wq = phase_shape(H, W, sh, sw, ph, pw)
    P = OH * Wq
    for t in prange(T):
        xq, G = xq_ws[t], wide_ws[t]
        G[:] = 0.0                                                 # thrown-away columns stay 0
        gw_ws[t] = 0.0
        gb_ws[t] = 0.0
        for n in range(t, N, T):
            _to_phases(x[n], sh, sw, ph, pw, Hq, Wq, xq)
            for o in range(O):
                s = 0.0
                for h in range(OH):
                    for w in range(OW):
                        G[o, h * Wq + w] = g[n, o, h, w]
                        s += g[n, o, h, w]
                gb_ws[t, o] += s
            for k in range(KH * KW):                               # gW_k += G @ X_k.T
                X_k = xq[_tap_offset(k, KW, sh, sw, dh, dw, C, Hq, Wq):]
                sgemm_strided(False, True, O, C, P, G, P, X_k, Hq * Wq, 1.0, gw_ws[t, k], C)
            if need_gx:
                xq[:] = 0.0                                        # now the phases of gx[n]
                for k in range(KH * KW):                           # gX_k += W_k.T @ G
                    gX_k = xq[_tap_offset(k, KW, sh, sw, dh, dw, C, Hq, Wq):]
                    sgemm_strided(True, False, C, P, O, wk[k], C, G, P, 1.0, gX_k, Hq * Wq)
                _from_phases(xq, sh, sw, ph, pw, Hq, Wq, gx[n])
    return gw_ws, gb_ws
