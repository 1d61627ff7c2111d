"""Integer convolution and matrix multiply: int8 x int8 -> int32, int16 x int16 -> int64.

Quantized inference (``tutorlib.quantization``) and the Cambricon fixed-point scheme
(``tutorlib.quantization.fixed_point``, the MLU emulator) multiply small integers and add the
products in a wider accumulator, so no bit is lost::

    int8:  |q_x * q_w| <= 128 * 128 = 2^14, so an int32 sum of K products is exact for
           K <= 2^31 / 2^14 = 131072 (a 3x3 conv over 14563 channels);
    int16: |q_x * q_w| <= 2^30: the sum needs int64 (exact for K <= 2^33).

``accumulator_dtype`` picks the accumulator; the results are bit-exact against an int64 numpy
computation (``tests/test_quantization_kernels.py``). Convolution works image by image:
``im2col_chw`` gathers the patches as columns (one row per (c, kh, kw), like
``w.reshape(O, -1)``; padding holds ``pad_value``, a zero point when the input has one) and
``gemm_rows`` multiplies, so the result comes out in NCHW. Images (or a linear layer's output
rows) are split over the kernel threads (``blas.run_chunks``).

>>> x = np.arange(9, dtype=np.int8).reshape(1, 1, 3, 3)
>>> conv2d(x, np.ones((1, 1, 2, 2), np.int8))
array([[[[ 8, 12],
         [20, 24]]]], dtype=int32)
"""
import numpy as np
from numba import njit

from . import blas


def accumulator_dtype(a_dtype, b_dtype) -> np.dtype:
    """int32 when both operands are 8-bit, int64 when one is wider (int16).

    >>> accumulator_dtype(np.int8, np.int8), accumulator_dtype(np.int16, np.int16)
    (dtype('int32'), dtype('int64'))
    """
    if np.dtype(a_dtype).itemsize == 1 and np.dtype(b_dtype).itemsize == 1:
        return np.dtype(np.int32)
    if max(np.dtype(a_dtype).itemsize, np.dtype(b_dtype).itemsize) <= 2:
        return np.dtype(np.int64)
    raise ValueError(f"integer kernels: operands must be int8 or int16 (uint8 allowed), "
                     f"got {np.dtype(a_dtype)} and {np.dtype(b_dtype)}")


@njit(cache=True, nogil=True)
def gemm_rows(a, b, out, i0, i1):
    """Rows ``i0:i1`` of ``out = a @ b`` for integer ``a`` (I, K) and ``b`` (K, P); ``out``
    (int32 or int64) is returned.

    Each ``a[i, k]`` scales row ``k`` of ``b`` into the accumulator row ``out[i]``: the inner
    loop runs along P (the pixels of an image, or a batch), long and contiguous, which the
    compiler turns into SIMD integer multiply-adds; zeros in ``a`` are skipped. Products and
    sums are exact in the accumulator's width.

    >>> a = np.array([[1, -2], [3, 4]], np.int8)
    >>> gemm_rows(a, np.array([[127], [127]], np.int8), np.empty((2, 1), np.int32), 0, 2)
    array([[-127],
           [ 889]], dtype=int32)
    """
    K, P = b.shape
    for i in range(i0, i1):
        row = out[i]
        row[:] = 0
        for k in range(K):
            v = a[i, k]
            if v == 0:
                continue
            for p in range(P):
                row[p] += v * b[k, p]
    return out


@njit(cache=True, nogil=True)
def im2col_chw(x, kh, kw, sh, sw, ph, pw, dh, dw, pad_value, c0, c1, OH, OW):
    """Patches of channels ``c0:c1`` of one CHW image as columns, (Cg*kh*kw, OH*OW), rows
    ordered (c, kh, kw), in ``x``'s dtype; outside the image the value is ``pad_value``.

    >>> im2col_chw(np.arange(4, dtype=np.int8).reshape(1, 2, 2), 2, 2, 1, 1, 1, 1, 1, 1, 7,
    ...            0, 1, 3, 3)[:, 0]
    array([7, 7, 7, 0], dtype=int8)
    """
    H, W = x.shape[1], x.shape[2]
    cols = np.empty(((c1 - c0) * kh * kw, OH * OW), x.dtype)
    fill = x.dtype.type(pad_value)
    for c in range(c0, c1):
        for i in range(kh):
            for j in range(kw):
                r = ((c - c0) * kh + i) * kw + j
                for oh in range(OH):
                    h = oh * sh - ph + i * dh
                    base = oh * OW
                    if h < 0 or h >= H:
                        for ow in range(OW):
                            cols[r, base + ow] = fill
                        continue
                    for ow in range(OW):
                        w = ow * sw - pw + j * dw
                        cols[r, base + ow] = x[c, h, w] if 0 <= w < W else fill
    return cols


@njit(cache=True, nogil=True)
def conv2d_images(x, w2, kh, kw, sh, sw, ph, pw, dh, dw, pad_value, groups, out, n0, n1):
    """Images ``n0:n1`` of an integer convolution into ``out`` (N, O, OH*OW): per group,
    ``w2`` (O, C/groups*kh*kw) @ the image's patch columns."""
    C = x.shape[1]
    O, P = out.shape[1], out.shape[2]
    OH = (x.shape[2] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = P // OH
    Cg, Og = C // groups, O // groups
    for n in range(n0, n1):
        for g in range(groups):
            cols = im2col_chw(x[n], kh, kw, sh, sw, ph, pw, dh, dw, pad_value, g * Cg,
                              (g + 1) * Cg, OH, OW)
            gemm_rows(w2[g * Og:(g + 1) * Og], cols, out[n, g * Og:(g + 1) * Og], 0, Og)
    return out


def _pair(v) -> tuple:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def _split(count: int, macs: int) -> tuple:
    """(chunks, workers): ``count`` items in equal chunks for the kernel threads (``blas``)."""
    workers = blas.workers_for(macs)
    step = max(1, -(-count // (2 * workers)))
    return [(i, min(count, i + step)) for i in range(0, count, step)], workers


def conv2d(x: np.ndarray, w: np.ndarray, stride=1, padding=0, dilation=1, groups: int = 1,
           pad_value: int = 0) -> np.ndarray:
    """Integer cross-correlation of NCHW ``x`` with ``w`` (O, C/groups, kh, kw): the exact sums,
    (N, O, OH, OW) in ``accumulator_dtype``. No bias, no rescaling: the caller adds the bias in
    the accumulator's units and requantises.
    """
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    N, _, H, W = x.shape
    O, Cg, kh, kw = w.shape
    OH = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.empty((N, O, OH * OW), accumulator_dtype(x.dtype, w.dtype))
    x, w2 = np.ascontiguousarray(x), np.ascontiguousarray(w.reshape(O, -1))
    chunks, workers = _split(N, N * O * OH * OW * Cg * kh * kw)
    blas.run_chunks(lambda n0, n1: conv2d_images(x, w2, kh, kw, sh, sw, ph, pw, dh, dw,
                                                 pad_value, groups, out, n0, n1), chunks, workers)
    return out.reshape(N, O, OH, OW)


def linear(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w.T`` for integer ``x`` (M, K) and ``w`` (N, K), exact, in ``accumulator_dtype``.

    Computed as ``(w @ x.T).T`` so that the long inner loop runs along the batch.

    >>> linear(np.array([[100, 100]], np.int8), np.array([[100, 100]], np.int8))
    array([[20000]], dtype=int32)
    """
    M, K = x.shape
    out_t = np.empty((w.shape[0], M), accumulator_dtype(x.dtype, w.dtype))
    x_t, w = np.ascontiguousarray(x.T), np.ascontiguousarray(w)
    chunks, workers = _split(w.shape[0], M * K * w.shape[0])
    blas.run_chunks(lambda i0, i1: gemm_rows(w, x_t, out_t, i0, i1), chunks, workers)
    return np.ascontiguousarray(out_t.T)


def requantize(acc: np.ndarray, multiplier, qmin: int, qmax: int, dtype) -> np.ndarray:
    """``clip(round(acc * multiplier), qmin, qmax)`` as ``dtype`` (round half to even).

    ``multiplier`` = s_in * s_w / s_out (a scalar, or one per output channel shaped to broadcast
    against ``acc``): it turns the accumulator's units into the output's.

    >>> requantize(np.array([1000, -3, 90000], np.int32), 0.01, -128, 127, np.int8)
    array([ 10,   0, 127], dtype=int8)
    """
    scaled = np.rint(acc * np.asarray(multiplier, np.float64))
    return np.clip(scaled, qmin, qmax).astype(dtype)
