"""The channels-first convolution ("im2col_chw", see ``conv.py``) as one parallel loop over images.

For each image ``n`` a thread pads it, gathers its patches channels-first and multiplies::

    xp   = x[n] zero-padded                      (C, Hp, Wp)
    cols = im2col_chw(xp)                        (C*KH*KW, OH*OW)
    y[n] = W2 @ cols + bias                      (O, OH*OW): already NCHW

    backward:  gW += G_n @ cols.T    gb += G_n summed over pixels    (G_n = dL/dy[n], (O, OH*OW))
               gcols = W2.T @ G_n    gx[n] = col2im_chw_add(gcols) cropped to (C, H, W)

The images are split over ``T`` threads (thread t takes images t, t + T, ...), each with its own
workspaces (``xp_ws[t]``, ``cols_ws[t]``; backward reuses them for the input gradient's padded
image and gcols) and, in backward, its own gW and gb accumulators, summed at the end. The whole loop is one numba call (``prange``) and the GEMMs are
``gemm.sgemm`` calls from inside it, so no Python runs between the images: with the narrow layers
of a CIFAR ResNet (16 channels, a GEMM of 2.4 M multiply-adds per image) the per-image Python of
a thread pool, and the GIL hand-offs it needs, cost about a third of a convolution's time
(figures in ``benchmarks/README.md``).

Stride-1 convolutions ("shift_gemm") skip the patch matrix altogether. Laid out flat, with
rows ``Wp`` floats apart and channels ``Hp*Wp`` apart, the padded image read from offset
``kh*Wp + kw`` *is* the (C, OH*Wp) matrix of inputs that kernel tap (kh, kw) meets at every output
position, if each output row is computed ``Wp`` wide and its last ``Wp - OW`` values (which
wrap around into the next row) are thrown away. So each tap is one GEMM on a strided view
(``gemm.sgemm_strided``), accumulated into a "wide" output::

    wide (O, OH*Wp) = sum over taps k of  W_k (O, C) @ xp_flat[off_k:] (C rows, stride Hp*Wp)
    y[n]            = wide without its last Wp - OW columns of every row, + bias

    backward (G_wide = dL/dy[n] laid out Wp wide, zeros in the thrown-away columns):
        gW_k += G_wide @ xp_flat[off_k:].T          (O, C) per tap
        gxp_flat[off_k:] += W_k.T @ G_wide          (C rows, stride Hp*Wp), then cropped to gx[n]

The multiply-adds are those of the convolution plus the thrown-away columns ((KW - 1) of every
Wp); no patch is ever copied, where im2col writes and reads KH*KW times the image. OpenBLAS packs
the strided views as it packs any matrix. On 16- to 64-channel ResNet layers this forward pass
ran 1.4-3.7 times faster than im2col and one GEMM (``benchmarks/README.md``).

The caller (``conv.py``) sets OpenBLAS to one thread around these calls: the threads are numba's.
"""
from numba import njit, prange

from tutorlib.kernels.gemm import sgemm, sgemm_strided
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


@njit(cache=True, nogil=True)
def _pad_flat(x, ph, pw, xp):
    """``_pad_image`` into flat ``xp`` (C*Hp*Wp, then a zeroed tail that the last taps overrun)."""
    C, H, W = x.shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    _pad_image(x, ph, pw, xp[:C * Hp * Wp].reshape(C, Hp, Wp))
    xp[C * Hp * Wp:] = 0.0


@njit(cache=True, nogil=True)
def _tap_offset(k, KW, dh, dw, Wp):
    """Where tap k = kh*KW + kw starts in the flat padded image: kh*dh rows and kw*dw floats in."""
    return (k // KW) * dh * Wp + (k % KW) * dw


@njit(parallel=True, nogil=True, cache=True)
def shift_forward(x, wk, bias, KH, KW, ph, pw, dh, dw, y, xp_ws, wide_ws):
    """y (N, O, OH, OW) = stride-1 conv(x, w) + bias, one GEMM per tap; ``wk`` (KH*KW, O, C) is
    w[:, :, kh, kw] for tap k = kh*KW + kw. Workspaces per thread: ``xp_ws`` (T, C*Hp*Wp +
    (KW-1)*dw), ``wide_ws`` (T, O, OH*Wp).

    >>> import numpy as np
    >>> x = np.ones((2, 1, 3, 3), np.float32); y = np.empty((2, 1, 2, 2), np.float32)
    >>> shift_forward(x, np.ones((4, 1, 1), np.float32), np.zeros(1, np.float32), 2, 2, 0, 0,
    ...               1, 1, y, np.empty((1, 10), np.float32), np.empty((1, 1, 6), np.float32))[1, 0]
    array([[4., 4.],
           [4., 4.]], dtype=float32)
    """
    N, C, H, W = x.shape
    T = xp_ws.shape[0]
    O, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    Hp, Wp = H + 2 * ph, W + 2 * pw
    P = OH * Wp
    for t in prange(T):
        xp, wide = xp_ws[t], wide_ws[t]
        for n in range(t, N, T):
            _pad_flat(x[n], ph, pw, xp)
            for k in range(KH * KW):
                sgemm_strided(False, False, O, P, C, wk[k], C, xp[_tap_offset(k, KW, dh, dw, Wp):],
                              Hp * Wp, 0.0 if k == 0 else 1.0, wide, P)
            for o in range(O):
                for h in range(OH):
                    for w in range(OW):
                        y[n, o, h, w] = wide[o, h * Wp + w] + bias[o]
    return y


@njit(parallel=True, nogil=True, cache=True)
def shift_backward(g, x, wk, KH, KW, ph, pw, dh, dw, gx, need_gx, gw_ws, gb_ws, xp_ws, wide_ws):
    """Per-thread gW in ``gw_ws`` (T, KH*KW, O, C) and gb in ``gb_ws`` (T, O); gx (N, C, H, W)
    too if ``need_gx``. Arguments as ``shift_forward``'s; ``g`` is dL/dy, C-contiguous.

    >>> import numpy as np
    >>> x = np.ones((1, 1, 3, 3), np.float32); g = np.ones((1, 1, 2, 2), np.float32)
    >>> gx, gw, gb = np.empty_like(x), np.empty((1, 4, 1, 1), np.float32), np.empty((1, 1), np.float32)
    >>> _ = shift_backward(g, x, np.ones((4, 1, 1), np.float32), 2, 2, 0, 0, 1, 1, gx, True, gw, gb,
    ...                    np.empty((1, 10), np.float32), np.empty((1, 1, 6), np.float32))
    >>> gx[0, 0], gw[0, :, 0, 0], gb[0]
    (array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32), array([4., 4., 4., 4.], dtype=float32), array([4.], dtype=float32))
    """
    N, C, H, W = x.shape
    T = xp_ws.shape[0]
    O, OH, OW = g.shape[1], g.shape[2], g.shape[3]
    Hp, Wp = H + 2 * ph, W + 2 * pw
    P = OH * Wp
    for t in prange(T):
        xp, G = xp_ws[t], wide_ws[t]
        G[:] = 0.0                      # the thrown-away columns stay 0
        gw_ws[t] = 0.0
        gb_ws[t] = 0.0
        for n in range(t, N, T):
            _pad_flat(x[n], ph, pw, xp)
            for o in range(O):
                s = 0.0
                for h in range(OH):
                    for w in range(OW):
                        G[o, h * Wp + w] = g[n, o, h, w]
                        s += g[n, o, h, w]
                gb_ws[t, o] += s
            for k in range(KH * KW):                               # gW_k += G @ X_k.T
                sgemm_strided(False, True, O, C, P, G, P, xp[_tap_offset(k, KW, dh, dw, Wp):],
                              Hp * Wp, 1.0, gw_ws[t, k], C)
            if need_gx:
                xp[:] = 0.0             # now the padded input gradient
                for k in range(KH * KW):                           # gX_k += W_k.T @ G
                    sgemm_strided(True, False, C, P, O, wk[k], C, G, P, 1.0,
                                  xp[_tap_offset(k, KW, dh, dw, Wp):], Hp * Wp)
                gx[n] = xp[:C * Hp * Wp].reshape(C, Hp, Wp)[:, ph:ph + H, pw:pw + W]
    return gw_ws, gb_ws
