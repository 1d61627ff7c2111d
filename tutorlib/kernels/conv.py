"""2-D convolution (cross-correlation, NCHW) as im2col + one BLAS matrix multiply per chunk.

Forward, for a chunk of images (see ``im2col.py`` for the layouts)::

    cols (rows, KH*KW*C) = im2col(xp[chunk])          rows = images_in_chunk * OH * OW
    out  (rows, O)       = cols @ W2.T                W2 = w as (O, KH*KW*C), (kh, kw, c) order
    y[chunk]             = out as NCHW + bias

Backward, again chunk by chunk (the patches are recomputed rather than stored)::

    gW2 += g_rows.T @ cols                            g_rows = dL/dy as (rows, O)
    gcols = g_rows @ W2   ->  col2im_add into gxp     (adjoint of im2col)

Working in chunks of about ``CHUNK_BYTES`` of patches bounds the extra memory to tens of MB
instead of KH*KW times the input, while keeping the number of (threaded) GEMM calls small: on a
busy 2-core machine every threaded BLAS call pays a scheduling cost, and 4 MB chunks (one image
of a 64-channel 32x32 layer) measured several times slower than 32 MB ones. With ``groups`` > 1
each group is its own GEMM on its contiguous block of columns.

Paths (chosen by ``choose_path`` from the shapes and attributes):
    "pointwise"    1x1 kernel, stride 1, no padding, one group: the NHWC input already *is* the
                   column matrix, so no im2col/col2im at all (plain GEMM).
    "im2col_rows"  one group, no horizontal dilation: im2col copies whole kernel rows (KW*C floats).
    "im2col"       everything else (groups, horizontal dilation): the general gather loop.
"""
import threading

import numpy as np

from tutorlib.kernels.blas import gemm_threads
from tutorlib.kernels.im2col import (
    col2im_add,
    col2im_rows_add,
    from_padded_nhwc,
    im2col,
    im2col_rows,
    to_padded_nhwc,
)

CHUNK_BYTES = 32 << 20  # size of the column-matrix workspace per chunk
_scratch = threading.local()  # per-thread reusable workspaces, see _workspace


def _workspace(name, rows, cols):
    """A reusable (rows, cols) float32 scratch matrix, one per name and thread.

    A fresh multi-MB array is page-faulted in on every call, which measured as much as the copy
    itself; the chunk workspaces never escape a call, so they are kept and reused instead.
    """
    buf = getattr(_scratch, name, None)
    if buf is None or buf.size < rows * cols:
        buf = np.empty(rows * cols, np.float32)
        setattr(_scratch, name, buf)
    return buf[:rows * cols].reshape(rows, cols)


def conv2d_output_shape(x_shape, w_shape, stride, padding, dilation):
    """(OH, OW) of a convolution, or a non-positive size if the kernel does not fit.

    >>> conv2d_output_shape((1, 3, 32, 32), (8, 3, 5, 5), (1, 1), (0, 0), (1, 1))
    (28, 28)
    """
    (_, _, H, W), (_, _, KH, KW) = x_shape, w_shape
    OH = (H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    OW = (W + 2 * padding[1] - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    return OH, OW


def choose_path(w_shape, stride, padding, dilation, groups):
    """Which algorithm the convolution uses: "pointwise", "im2col_rows" or "im2col".

    >>> choose_path((64, 32, 1, 1), (1, 1), (0, 0), (1, 1), 1)
    'pointwise'
    >>> choose_path((64, 32, 3, 3), (1, 1), (1, 1), (1, 1), 1), choose_path((64, 8, 3, 3), (1, 1), (1, 1), (1, 1), 4)
    ('im2col_rows', 'im2col')
    """
    if groups != 1:
        return "im2col"
    if w_shape[2:] == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0):
        return "pointwise"
    return "im2col_rows" if dilation[1] == 1 else "im2col"


def _weight_matrix(w):
    """(O, Cg, KH, KW) -> W2 (O, KH*KW*Cg), columns in im2col's (kh, kw, c) order."""
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(w.shape[0], -1)


def _chunks(N, rows_per_image, row_bytes):
    """Split range(N) into chunks whose column matrix is about CHUNK_BYTES."""
    step = max(1, min(N, CHUNK_BYTES // max(1, rows_per_image * row_bytes)))
    return [(n0, min(N, n0 + step)) for n0 in range(0, N, step)]


class _Geometry:
    """Everything the chunk loops need, derived once from the shapes and attributes."""

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, path=None):
        self.N, self.C, self.H, self.W = x_shape
        self.O, self.Cg, self.KH, self.KW = w_shape
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.OH, self.OW = conv2d_output_shape(x_shape, w_shape, stride, padding, dilation)
        self.K = self.KH * self.KW * self.Cg  # columns per group
        self.Og = self.O // groups
        self.path = path or choose_path(w_shape, stride, padding, dilation, groups)
        self.chunks = _chunks(self.N, self.OH * self.OW, 4 * self.K * groups)

    def patches(self, xp, n0, n1, ws):
        """Column matrix of images n0:n1 (a view for "pointwise", else im2col into ``ws``)."""
        if self.path == "pointwise":
            return xp[n0:n1].reshape(-1, self.C)
        out = ws[:(n1 - n0) * self.OH * self.OW]
        (sh, sw), (dh, dw) = self.stride, self.dilation
        if self.path == "im2col_rows":
            return im2col_rows(xp[n0:n1], self.KH, self.KW, sh, sw, dh, self.OH, self.OW, out)
        return im2col(xp[n0:n1], self.groups, self.KH, self.KW, sh, sw, dh, dw, self.OH, self.OW, out)

    def add_patches(self, gcols, gxp, n0, n1):
        """Scatter-add a column-matrix gradient of images n0:n1 onto ``gxp`` (adjoint of patches)."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        if self.path == "im2col_rows":
            col2im_rows_add(gcols, self.KH, self.KW, sh, sw, dh, self.OH, self.OW, gxp[n0:n1])
        else:
            col2im_add(gcols, self.groups, self.KH, self.KW, sh, sw, dh, dw, self.OH, self.OW,
                       gxp[n0:n1])

    def block(self, a, g, width):
        """Columns of group g of a (rows, groups*width) matrix (the whole matrix if 1 group)."""
        return a if self.groups == 1 else a[:, g * width:(g + 1) * width]


def _rows_to_nchw(rows, bias, out):
    """out (n, O, OH, OW) = rows (n*OH*OW, O) transposed, plus bias (O,)."""
    n_img, O, OH, OW = out.shape
    np.add(rows.reshape(n_img, OH * OW, O).transpose(0, 2, 1), bias[:, None],
           out=out.reshape(n_img, O, OH * OW))


def conv2d_forward(x, w, bias, stride, padding, dilation, groups, path=None):
    """Cross-correlate NCHW ``x`` with ``w`` (O, C/groups, KH, KW) and add ``bias`` (O,) or None.

    Returns ``(y, xp)``: the NCHW output and the padded NHWC input that ``conv2d_backward`` needs.
    ``path`` overrides ``choose_path`` (tests use it to force each algorithm).

    >>> x = np.ones((1, 1, 3, 3), np.float32); w = np.ones((1, 1, 2, 2), np.float32)
    >>> conv2d_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)[0]
    array([[[[4., 4.],
             [4., 4.]]]], dtype=float32)
    """
    geo = _Geometry(x.shape, w.shape, stride, padding, dilation, groups, path)
    xp = to_padded_nhwc(x, padding[0], padding[1])
    W2 = _weight_matrix(w)
    bias = np.zeros(geo.O, np.float32) if bias is None else bias.reshape(geo.O)
    y = np.empty((geo.N, geo.O, geo.OH, geo.OW), np.float32)
    rows_max = (geo.chunks[0][1] - geo.chunks[0][0]) * geo.OH * geo.OW
    ws = None if geo.path == "pointwise" else _workspace("cols", rows_max, geo.K * groups)
    out = _workspace("out", rows_max, geo.O)
    with gemm_threads(rows_max, geo.Og, geo.K):  # 1 BLAS thread for small GEMMs (blas.py)
        for n0, n1 in geo.chunks:
            cols = geo.patches(xp, n0, n1, ws)
            rows = out[:cols.shape[0]]
            if groups == 1:
                np.matmul(cols, W2.T, out=rows)
            else:
                for g in range(groups):
                    rows[:, g * geo.Og:(g + 1) * geo.Og] = (
                        geo.block(cols, g, geo.K) @ W2[g * geo.Og:(g + 1) * geo.Og].T)
            _rows_to_nchw(rows, bias, y[n0:n1])
    return y, xp


def conv2d_backward(g, xp, w, x_shape, stride, padding, dilation, groups, path=None,
                    need_gx=True):
    """Gradients ``(gx, gw, gb)`` of ``conv2d_forward`` given dL/dy ``g`` (N, O, OH, OW).

    ``xp`` is the padded NHWC input returned by the forward pass; ``path`` as in the forward.
    With ``need_gx=False`` (e.g. a first layer, whose input needs no gradient) ``gx`` is None and
    its GEMM and col2im are skipped.

    >>> x = np.ones((1, 1, 3, 3), np.float32); w = np.ones((1, 1, 2, 2), np.float32)
    >>> y, xp = conv2d_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    >>> gx, gw, gb = conv2d_backward(np.ones_like(y), xp, w, x.shape, (1, 1), (0, 0), (1, 1), 1)
    >>> gx[0, 0], gw[0, 0], gb
    (array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32), array([[4., 4.],
           [4., 4.]], dtype=float32), array([4.], dtype=float32))
    """
    geo = _Geometry(x_shape, w.shape, stride, padding, dilation, groups, path)
    g_rows = to_padded_nhwc(g, 0, 0).reshape(-1, geo.O)  # (N*OH*OW, O)
    gb = g_rows.sum(axis=0)
    W2 = _weight_matrix(w)
    gW2 = np.zeros_like(W2)
    gxp = np.zeros(xp.shape, np.float32) if need_gx else None
    rows_max = (geo.chunks[0][1] - geo.chunks[0][0]) * geo.OH * geo.OW
    pointwise = geo.path == "pointwise"
    ws = None if pointwise else _workspace("cols", rows_max, geo.K * groups)
    gcols_ws = None if pointwise or not need_gx else _workspace("gcols", rows_max, geo.K * groups)
    with gemm_threads(rows_max, geo.Og, geo.K):  # 1 BLAS thread for small GEMMs (blas.py)
        for n0, n1 in geo.chunks:
            cols = geo.patches(xp, n0, n1, ws)
            g_chunk = g_rows[n0 * geo.OH * geo.OW:n1 * geo.OH * geo.OW]
            for gi in range(groups):
                o = slice(gi * geo.Og, (gi + 1) * geo.Og)
                gW2[o] += geo.block(g_chunk, gi, geo.Og).T @ geo.block(cols, gi, geo.K)
            if not need_gx:
                continue
            if pointwise:
                np.matmul(g_chunk, W2, out=gxp[n0:n1].reshape(-1, geo.C))
                continue
            gcols = gcols_ws[:cols.shape[0]]
            if groups == 1:
                np.matmul(g_chunk, W2, out=gcols)
            else:
                for gi in range(groups):
                    gcols[:, gi * geo.K:(gi + 1) * geo.K] = (
                        geo.block(g_chunk, gi, geo.Og) @ W2[gi * geo.Og:(gi + 1) * geo.Og])
            geo.add_patches(gcols, gxp, n0, n1)
    gw = np.ascontiguousarray(gW2.reshape(geo.O, geo.KH, geo.KW, geo.Cg).transpose(0, 3, 1, 2))
    gx = None if not need_gx else from_padded_nhwc(gxp, padding[0], padding[1],
                                                   np.empty(x_shape, np.float32))
    return gx, gw, gb
