"""Integer convolution and matrix multiply: int8 x int8 -> int32, int16 x int16 -> int64.

Quantized inference (``tutorlib.quantization``) and the Cambricon fixed-point scheme
(``tutorlib.quantization.fixed_point``, the MLU emulator) multiply small integers and add the
products in a wider accumulator, so no bit is lost:

    int8:  |q_x * q_w| <= 128 * 128 = 2^14, so an int32 sum of K products is exact for
           K <= 2^31 / 2^14 = 131072 (a 3x3 conv over 14563 channels);
    int16: |q_x * q_w| <= 2^30: the sum needs int64 (exact for K <= 2^33).

``accumulator_dtype`` picks the accumulator; the results are bit-exact against an int64 numpy
computation (``tests/test_quantization_kernels.py``). Convolution is ``im2col`` (one row of
patch values per output pixel, columns ordered (c, kh, kw) like ``w.reshape(O, -1)``) followed
by ``gemm_tn``; padding is filled with ``pad_value`` (a zero point, when the input has one).

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
def gemm_tn(a, bt, out, m0, m1):
    """Rows ``m0:m1`` of ``out[m, n] = sum_k a[m, k] * bt[k, n]``; ``out`` (int32 or int64)
    is returned.

    Row by row, each ``a[m, k]`` scales row ``k`` of ``bt`` into the accumulator row (a loop
    the compiler turns into SIMD integer multiply-adds); zeros, frequent after a ReLU, are
    skipped. Products and sums are exact in the accumulator's width.

    >>> a = np.array([[1, -2], [3, 4]], np.int8)
    >>> gemm_tn(a, np.array([[127], [127]], np.int8), np.empty((2, 1), np.int32), 0, 2)
    array([[-127],
           [ 889]], dtype=int32)
    """
    K = a.shape[1]
    N = bt.shape[1]
    for m in range(m0, m1):
        row = out[m]
        row[:] = 0
        for k in range(K):
            v = a[m, k]
            if v == 0:
                continue
            for n in range(N):
                row[n] += v * bt[k, n]
    return out


def _gemm(a: np.ndarray, bt: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``gemm_tn`` over all rows, split into row chunks on the kernel threads (``blas``)."""
    M = a.shape[0]
    workers = blas.workers_for(M * a.shape[1] * bt.shape[1])
    step = -(-M // (4 * workers))
    chunks = [(m0, min(M, m0 + step)) for m0 in range(0, M, step)]
    blas.run_chunks(lambda m0, m1: gemm_tn(a, bt, out, m0, m1), chunks, workers)
    return out


@njit(cache=True, nogil=True)
def im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, pad_value):
    """Patches of NCHW ``x`` as rows (N*OH*OW, C*kh*kw), in ``x``'s dtype; outside the image
    the value is ``pad_value``.

    >>> im2col(np.arange(4, dtype=np.int8).reshape(1, 1, 2, 2), 2, 2, 1, 1, 1, 1, 1, 1, 7)[0]
    array([7, 7, 7, 0], dtype=int8)
    """
    N, C, H, W = x.shape
    OH = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((N * OH * OW, C * kh * kw), x.dtype)
    fill = x.dtype.type(pad_value)
    for n in range(N):
        for oh in range(OH):
            for ow in range(OW):
                r = (n * OH + oh) * OW + ow
                for c in range(C):
                    for i in range(kh):
                        h = oh * sh - ph + i * dh
                        for j in range(kw):
                            w = ow * sw - pw + j * dw
                            col = (c * kh + i) * kw + j
                            if 0 <= h < H and 0 <= w < W:
                                cols[r, col] = x[n, c, h, w]
                            else:
                                cols[r, col] = fill
    return cols


def _pair(v) -> tuple:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def conv2d(x: np.ndarray, w: np.ndarray, stride=1, padding=0, dilation=1, groups: int = 1,
           pad_value: int = 0) -> np.ndarray:
    """Integer cross-correlation of NCHW ``x`` with ``w`` (O, C/groups, kh, kw): the exact sums,
    (N, O, OH, OW) in ``accumulator_dtype``. No bias, no rescaling: the caller adds the bias in
    the accumulator's units and requantises.
    """
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    N = x.shape[0]
    O, Cg, kh, kw = w.shape
    cols = im2col(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, dh, dw, pad_value)
    OH = (x.shape[2] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (x.shape[3] + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    acc = np.empty((cols.shape[0], O), accumulator_dtype(x.dtype, w.dtype))
    Og, width = O // groups, Cg * kh * kw
    for g in range(groups):
        wg = np.ascontiguousarray(w[g * Og:(g + 1) * Og].reshape(Og, width).T)
        part = np.ascontiguousarray(cols[:, g * width:(g + 1) * width])
        acc[:, g * Og:(g + 1) * Og] = _gemm(part, wg, np.empty((cols.shape[0], Og), acc.dtype))
    return np.ascontiguousarray(acc.reshape(N, OH, OW, O).transpose(0, 3, 1, 2))


def linear(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w.T`` for integer ``x`` (M, K) and ``w`` (N, K), exact, in ``accumulator_dtype``.

    >>> linear(np.array([[100, 100]], np.int8), np.array([[100, 100]], np.int8))
    array([[20000]], dtype=int32)
    """
    out = np.empty((x.shape[0], w.shape[0]), accumulator_dtype(x.dtype, w.dtype))
    return _gemm(np.ascontiguousarray(x), np.ascontiguousarray(w.T), out)


def requantize(acc: np.ndarray, multiplier, qmin: int, qmax: int, dtype) -> np.ndarray:
    """``clip(round(acc * multiplier), qmin, qmax)`` as ``dtype`` (round half to even).

    ``multiplier`` = s_in * s_w / s_out (a scalar, or one per output channel shaped to broadcast
    against ``acc``): it turns the accumulator's units into the output's.

    >>> requantize(np.array([1000, -3, 90000], np.int32), 0.01, -128, 127, np.int8)
    array([ 10,   0, 127], dtype=int8)
    """
    scaled = np.rint(acc * np.asarray(multiplier, np.float64))
    return np.clip(scaled, qmin, qmax).astype(dtype)
