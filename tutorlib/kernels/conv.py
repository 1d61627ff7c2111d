"""2-D convolution (cross-correlation, NCHW) as im2col + one BLAS matrix multiply per chunk.

Forward, for a chunk of images (see ``im2col.py`` for the layouts)::

    cols (rows, KH*KW*C) = im2col(xp[chunk])          rows = images_in_chunk * OH * OW
    out  (rows, O)       = cols @ W2.T                W2 = w as (O, KH*KW*C), (kh, kw, c) order
    y[chunk]             = out as NCHW + bias

Backward, again chunk by chunk (the patches are recomputed rather than stored)::

    gW2 += g_rows.T @ cols                            g_rows = dL/dy as (rows, O)
    gcols = g_rows @ W2   ->  col2im_add into gxp     (adjoint of im2col)

Working in chunks of images bounds the extra memory (about ``CHUNK_BYTES`` of patches in all,
instead of KH*KW times the input). Everything for a chunk happens in one task: the NCHW -> padded
NHWC copy of its images (the padded input is recomputed in backward rather than kept, which saves
an input-sized buffer per layer), im2col, the GEMM, and the copy back to NCHW. Big convolutions
run their chunks on several Python threads with single-threaded GEMMs (``blas.run_chunks``: no
OpenBLAS thread pool fighting the serial loops), so there are at least as many chunks as
threads and each thread's workspaces take ``CHUNK_BYTES / threads``. With ``groups`` > 1 each
group is its own GEMM on its contiguous block of columns.

Paths (chosen by ``choose_path`` from the shapes and attributes):
    "pointwise"    1x1 kernel, stride 1, no padding, one group: the NHWC input already *is* the
                   column matrix, so no im2col/col2im at all (plain GEMM).
    "im2col_rows"  one group, no horizontal dilation: im2col copies whole kernel rows (KW*C floats).
    "im2col"       everything else (groups, horizontal dilation): the general gather loop.
"""
import threading

import numpy as np

from tutorlib.kernels import blas
from tutorlib.kernels.im2col import (
    col2im_add,
    col2im_rows_add,
    from_padded_nhwc,
    im2col,
    im2col_rows,
    pad_into_nhwc,
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


def _chunks(N, rows_per_image, row_bytes, workers=1):
    """Split range(N) into at least ``workers`` chunks whose column matrices, one per worker,
    add up to about CHUNK_BYTES.

    >>> _chunks(64, 1024, 4 * 576, 2)[:2], len(_chunks(64, 1024, 4 * 576, 2))
    ([(0, 7), (7, 14)], 10)
    """
    step = CHUNK_BYTES // max(1, workers * rows_per_image * row_bytes)
    step = max(1, min(step, -(-N // workers)))
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
        self.Hp, self.Wp = self.H + 2 * padding[0], self.W + 2 * padding[1]
        macs = self.N * self.OH * self.OW * self.K * self.O
        self.workers = blas.workers_for(macs)
        self.chunks = _chunks(self.N, self.OH * self.OW, 4 * self.K * groups, self.workers)
        self.rows_max = (self.chunks[0][1] - self.chunks[0][0]) * self.OH * self.OW

    def padded(self, x, n0, n1):
        """Padded NHWC copy of images n0:n1 of NCHW ``x``, in this thread's workspace."""
        ph, pw = self.padding
        xp = _workspace("xp", self.chunks[0][1] - self.chunks[0][0], self.Hp * self.Wp * self.C)
        xp = xp[:n1 - n0].reshape(n1 - n0, self.Hp, self.Wp, self.C)
        if ph or pw:
            xp.fill(0.0)  # the border (the workspace holds an older chunk)
        return pad_into_nhwc(x[n0:n1], ph, pw, xp)

    def patches(self, xp):
        """Column matrix of padded NHWC chunk ``xp`` (a view for "pointwise", else im2col into
        this thread's workspace)."""
        if self.path == "pointwise":
            return xp.reshape(-1, self.C)
        out = _workspace("cols", self.rows_max, self.K * self.groups)[:len(xp) * self.OH * self.OW]
        (sh, sw), (dh, dw) = self.stride, self.dilation
        if self.path == "im2col_rows":
            return im2col_rows(xp, self.KH, self.KW, sh, sw, dh, self.OH, self.OW, out)
        return im2col(xp, self.groups, self.KH, self.KW, sh, sw, dh, dw, self.OH, self.OW, out)

    def add_patches(self, gcols, gxp):
        """Scatter-add a column-matrix gradient onto padded NHWC chunk ``gxp`` (adjoint of patches)."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        if self.path == "im2col_rows":
            col2im_rows_add(gcols, self.KH, self.KW, sh, sw, dh, self.OH, self.OW, gxp)
        else:
            col2im_add(gcols, self.groups, self.KH, self.KW, sh, sw, dh, dw, self.OH, self.OW, gxp)

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

    Returns ``(y, saved)``: the NCHW output and what ``conv2d_backward`` needs (the input itself:
    its padded copy is recomputed chunk by chunk). ``path`` overrides ``choose_path`` (tests use
    it to force each algorithm).

    >>> x = np.ones((1, 1, 3, 3), np.float32); w = np.ones((1, 1, 2, 2), np.float32)
    >>> conv2d_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)[0]
    array([[[[4., 4.],
             [4., 4.]]]], dtype=float32)
    """
    geo = _Geometry(x.shape, w.shape, stride, padding, dilation, groups, path)
    W2 = _weight_matrix(w)
    bias = np.zeros(geo.O, np.float32) if bias is None else bias.reshape(geo.O)
    y = np.empty((geo.N, geo.O, geo.OH, geo.OW), np.float32)

    def chunk(n0, n1):  # one task: its own images in, its own slice of y out
        cols = geo.patches(geo.padded(x, n0, n1))
        rows = _workspace("out", geo.rows_max, geo.O)[:cols.shape[0]]
        if groups == 1:
            np.matmul(cols, W2.T, out=rows)
        else:
            for g in range(groups):
                np.matmul(geo.block(cols, g, geo.K), W2[g * geo.Og:(g + 1) * geo.Og].T,
                          out=rows[:, g * geo.Og:(g + 1) * geo.Og])
        _rows_to_nchw(rows, bias, y[n0:n1])

    blas.run_chunks(chunk, geo.chunks, geo.workers)
    return y, x


def conv2d_backward(g, x, w, x_shape, stride, padding, dilation, groups, path=None,
                    need_gx=True):
    """Gradients ``(gx, gw, gb)`` of ``conv2d_forward`` given dL/dy ``g`` (N, O, OH, OW).

    ``x`` is what the forward pass returned as ``saved``; ``path`` as in the forward.
    With ``need_gx=False`` (e.g. a first layer, whose input needs no gradient) ``gx`` is None and
    its GEMM and col2im are skipped.

    >>> x = np.ones((1, 1, 3, 3), np.float32); w = np.ones((1, 1, 2, 2), np.float32)
    >>> y, saved = conv2d_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    >>> gx, gw, gb = conv2d_backward(np.ones_like(y), saved, w, x.shape, (1, 1), (0, 0), (1, 1), 1)
    >>> gx[0, 0], gw[0, 0], gb
    (array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32), array([[4., 4.],
           [4., 4.]], dtype=float32), array([4.], dtype=float32))
    """
    geo = _Geometry(x_shape, w.shape, stride, padding, dilation, groups, path)
    W2 = _weight_matrix(w)
    gx = np.empty(x_shape, np.float32) if need_gx else None
    n_max = geo.chunks[0][1] - geo.chunks[0][0]

    def chunk(n0, n1):  # returns this chunk's share of (gW2, gb); writes gx[n0:n1]
        cols = geo.patches(geo.padded(x, n0, n1))
        g_img = _workspace("g", n_max, geo.OH * geo.OW * geo.O)[:n1 - n0]
        g_rows = pad_into_nhwc(g[n0:n1], 0, 0, g_img.reshape(n1 - n0, geo.OH, geo.OW, geo.O))
        g_rows = g_rows.reshape(-1, geo.O)  # dL/dy of the chunk as (rows, O)
        gW2 = np.empty_like(W2)
        for gi in range(groups):
            o = slice(gi * geo.Og, (gi + 1) * geo.Og)
            np.matmul(geo.block(g_rows, gi, geo.Og).T, geo.block(cols, gi, geo.K), out=gW2[o])
        if need_gx:
            gxp = _workspace("gxp", n_max, geo.Hp * geo.Wp * geo.C)[:n1 - n0]
            gxp = gxp.reshape(n1 - n0, geo.Hp, geo.Wp, geo.C)
            if geo.path == "pointwise":
                np.matmul(g_rows, W2, out=gxp.reshape(-1, geo.C))
            else:
                gxp.fill(0.0)
                gcols = _workspace("gcols", geo.rows_max, geo.K * groups)[:cols.shape[0]]
                for gi in range(groups):
                    np.matmul(geo.block(g_rows, gi, geo.Og), W2[gi * geo.Og:(gi + 1) * geo.Og],
                              out=geo.block(gcols, gi, geo.K))
                geo.add_patches(gcols, gxp)
            from_padded_nhwc(gxp, padding[0], padding[1], gx[n0:n1])
        return gW2, g_rows.sum(axis=0)

    parts = blas.run_chunks(chunk, geo.chunks, geo.workers)
    gW2 = np.sum([p[0] for p in parts], axis=0, dtype=np.float32)
    gb = np.sum([p[1] for p in parts], axis=0, dtype=np.float32)
    gw = np.ascontiguousarray(gW2.reshape(geo.O, geo.KH, geo.KW, geo.Cg).transpose(0, 3, 1, 2))
    return gx, gw, gb
