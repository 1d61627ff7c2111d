"""2-D convolution (cross-correlation, NCHW): a few algorithms, one chosen per shape.

Every algorithm turns the work into BLAS matrix multiplies on chunks of images; they differ in
how the input is laid out for them. Paths (``choose_path`` picks one from the shapes and
attributes):

    "pointwise"    1x1 kernel, stride 1, no padding, one group: the NHWC input already *is* the
                   column matrix, so the convolution is one plain GEMM.
    "shift_gemm"   single-group convolutions with at least ``SHIFT_MIN_CHANNELS`` (16) input
                   channels and a kernel bigger than 1x1 or stride 1 (every 3x3 layer of a
                   ResNet after its stem), when numba can call numpy's BLAS: no patches at all,
                   one GEMM per kernel tap on the padded image read at a shifted offset (for
                   stride s, on one of its s*s phases; ``conv_shift.py`` explains the trick).
                   Each tap's GEMM is only C deep, so thinner layers (LeNet-5's second, 6
                   channels) stay on "im2col_chw", whose single GEMM is C*KH*KW deep; so do
                   strided 1x1 layers (ResNet's shortcuts), which use one pixel in s*s.
    "im2col_chw"   other single-group convolutions with at most 3 input channels (a grayscale or
                   RGB first layer, any stride or dilation; except those "row_shift" takes, below),
                   with vertical stride 1 and a kernel taller than one row (LeNet-5's second
                   layer; all stride-1 layers without numba's BLAS), and, when it runs on
                   ``conv_images`` (below), the strided ones too (ResNet's 1x1 shortcuts; its
                   strided 3x3 layers without numba's BLAS), forward and backward: channels-first patches per image (Caffe's layout,
                   ``im2col_chw``) and ``W2 @ cols[n]``, whose result is already NCHW, so no
                   layout copy is needed on either side. Each patch row is a run of OH*OW floats
                   and the GEMM's long side is OH*OW; the channels-last paths copy C floats at a
                   time and multiply by matrices only O columns wide, which the narrow layers (6
                   to 64 channels) make inefficient.
    "row_shift"    a first layer (at most 3 channels, vertical stride 1, no horizontal dilation)
                   whose patches are long for its few filters (C*KH*KW >= ``ROW_SHIFT_RATIO``
                   * O: LeNet-5 on RGB copies 75 floats per output pixel for 6 multiply-adds
                   each): channels-first patches of the kernel *width* only, one GEMM KH times
                   taller, and a shifted sum (``rowshift.py``): KH times fewer copies.
    "im2col_rows"  other single-group convolutions without horizontal dilation (strided ones
                   when ``conv_images`` is not available): im2col copying whole kernel rows
                   (KW*C floats).
    "im2col"       everything else (groups, horizontal dilation): the general gather loop.

The im2col paths, for a chunk of images (layouts in ``im2col.py``)::

    cols (rows, KH*KW*C) = im2col(xp[chunk])          rows = images_in_chunk * OH * OW
    out  (rows, O)       = cols @ W2.T                W2 = w as (O, KH*KW*C), (kh, kw, c) order
    y[chunk]             = out as NCHW + bias

    backward:  gW2 += g_rows.T @ cols;   gcols = g_rows @ W2  ->  col2im_add into gxp

Working in chunks of images bounds the extra memory (about ``CHUNK_BYTES`` of workspace in all,
instead of KH*KW times the input). Everything for a chunk happens in one task: the NCHW ->
padded NHWC copy of its images (recomputed in backward rather than kept, which saves an
input-sized buffer per layer), the patches, the GEMM, and the copy back to NCHW. Big
convolutions run their chunks on several Python threads with single-threaded GEMMs
(``blas.run_chunks``: no OpenBLAS thread pool fighting the serial loops), so there are at least
as many chunks as threads and each thread's workspaces take ``CHUNK_BYTES / threads``. With
``groups`` > 1 each group is its own GEMM on its contiguous block of columns.

"shift_gemm" always, and "im2col_chw" when numba can call numpy's BLAS, run differently (``gemm.AVAILABLE``, true for
numpy's OpenBLAS wheels; ``PARALLEL_IMAGES``): the whole loop over images is one numba call
(``conv_images.forward`` / ``backward``, ``conv_shift.forward`` / ``backward``), which shares the images out over numba's threads, each
padding, gathering and multiplying its images with single-threaded GEMMs called from inside
numba. No Python runs between images, so no thread waits for the GIL: for the narrow layers
(a 16-channel ResNet layer is one 2.4 M multiply-add GEMM per image) that makes the convolution
a fifth to a third faster than the same work as chunks on Python threads, and steadier
(``benchmarks/README.md``). The chunk loops below remain for the other paths and as the
fallback.

Each path computes the same sums in a different order, so results agree to float32 rounding
(the tests force every path on the same inputs).
"""
import contextlib
import threading

import numba
import numpy as np

from tutorlib.kernels import blas, gemm
from tutorlib.kernels.im2col import (
    col2im_add,
    col2im_chw_add,
    col2im_rows_add,
    from_padded_nhwc,
    im2col,
    im2col_chw,
    im2col_rows,
    pad_into_nhwc,
)
from tutorlib.kernels.rowshift import shift_sum, spread_shifted

CHW_MAX_CHANNELS = 3  # grayscale and RGB first layers, any stride (measured: benchmarks/conv_paths.py)
ROW_SHIFT_RATIO = 8  # ... on "row_shift" when a patch holds this many floats per filter (same)
SHIFT_MIN_CHANNELS = 16  # layers this wide on "shift_gemm": a tap's GEMM is C deep (same)
CHUNK_BYTES = 2 << 20  # the biggest workspace matrix, over all threads (1 MB each: L2-sized)
PARALLEL_IMAGES = gemm.AVAILABLE  # "im2col_chw" on conv_images (False: chunks on Python threads)
PATHS = ("pointwise", "shift_gemm", "im2col_chw", "row_shift", "im2col_rows", "im2col")
_scratch = threading.local()  # per-thread reusable workspaces, see _workspace


def _workspace(name, rows, cols):
    """A reusable (rows, cols) float32 scratch matrix, one per name and thread.

    A fresh multi-MB array is page-faulted in on every call, which costs about as much as the
    copy into it; the chunk workspaces never escape a call, so they are kept and reused instead.
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
    """Which algorithm the convolution uses (one of ``PATHS``), forward and backward alike.

    >>> one = (1, 1)
    >>> choose_path((64, 32, 1, 1), one, (0, 0), one, 1), choose_path((6, 1, 5, 5), one, (0, 0), one, 1)
    ('pointwise', 'im2col_chw')
    >>> choose_path((64, 32, 3, 3), one, one, one, 1) == ("shift_gemm" if PARALLEL_IMAGES else "im2col_chw")
    True
    >>> choose_path((16, 6, 5, 5), one, (0, 0), one, 1)
    'im2col_chw'
    >>> choose_path((64, 32, 1, 1), (2, 2), (0, 0), one, 1) == ("im2col_chw" if PARALLEL_IMAGES else "im2col_rows")
    True
    >>> choose_path((64, 8, 3, 3), one, one, one, 4), choose_path((6, 3, 5, 5), one, (0, 0), one, 1)
    ('im2col', 'row_shift')
    """
    if groups != 1:
        return "im2col"
    O, C, KH, KW = w_shape
    if (KH, KW) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0):
        return "pointwise"
    if C <= CHW_MAX_CHANNELS:
        long_patches = C * KH * KW >= ROW_SHIFT_RATIO * O
        if long_patches and stride[0] == 1 and KH > 1 and dilation[1] == 1:
            return "row_shift"
        return "im2col_chw"
    if PARALLEL_IMAGES and C >= SHIFT_MIN_CHANNELS and (KH * KW > 1 or tuple(stride) == (1, 1)):
        return "shift_gemm"   # (a strided 1x1 layer would copy s*s phases to use one)
    if dilation[1] != 1:
        return "im2col"
    if PARALLEL_IMAGES or (stride[0] == 1 and KH > 1):
        return "im2col_chw"
    return "im2col_rows"


def _chunks(N, image_bytes, workers=1):
    """Split range(N) into chunks of nearly equal size (differing by at most one image) whose
    workspaces, at ``image_bytes`` per image, take about ``CHUNK_BYTES / workers`` each; their
    count is a multiple of ``workers`` when there are enough images, so no thread idles at the end.

    >>> _chunks(10, 1 << 19, 2)
    [(0, 1), (1, 3), (3, 5), (5, 6), (6, 8), (8, 10)]
    >>> _chunks(64, 1 << 10, 2)
    [(0, 32), (32, 64)]
    """
    per_chunk = max(1, (CHUNK_BYTES // workers) // max(1, image_bytes))
    count = -(-N // per_chunk)
    count = min(N, -(-count // workers) * workers)
    bounds = [i * N // count for i in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


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
        if self.path not in PATHS:
            raise ValueError(f"conv2d: unknown path {self.path!r}; expected one of {PATHS}")
        if self.path == "shift_gemm" and not (PARALLEL_IMAGES and groups == 1):
            raise ValueError("conv2d: path 'shift_gemm' needs one group and numpy's OpenBLAS "
                             "callable from numba (kernels/gemm.py)")
        self.Hp, self.Wp = self.H + 2 * padding[0], self.W + 2 * padding[1]
        if self.path == "shift_gemm":  # the wide output (O, OH*Wq) per image
            from tutorlib.kernels import conv_shift  # needs gemm.AVAILABLE, checked above
            self.Hq, self.Wq = conv_shift.phase_shape(self.H, self.W, *stride, *padding)
            self.rows_per_image, self.row_floats = self.O, self.OH * self.Wq
        elif self.path == "row_shift":  # cols (C*KW, Hp*OW) and P / G (KH*O, Hp*OW) per image
            self.rows_per_image = max(self.C * self.KW, self.KH * self.O)
            self.row_floats = self.Hp * self.OW
        elif self.path == "im2col_chw":  # cols (C*KH*KW, OH*OW) per image
            self.rows_per_image, self.row_floats = self.K, self.OH * self.OW
        else:  # cols (OH*OW, G*K) per image
            self.rows_per_image, self.row_floats = self.OH * self.OW, self.K * groups
        macs = self.N * self.OH * self.OW * self.K * self.O
        self.workers = blas.workers_for(macs)
        self.chunks = _chunks(self.N, 4 * self.rows_per_image * self.row_floats, self.workers)
        self.n_max = max(n1 - n0 for n0, n1 in self.chunks)
        self.rows_max = self.n_max * self.rows_per_image

    # --- weights in the layout each path multiplies by -----------------------------------------

    def weight_matrix(self, w):
        """w (O, Cg, KH, KW) in the path's layout: W2 (O, C*KH*KW) ("im2col_chw"), Wc
        (KH*O, C*KW) ("row_shift"), one (O, C) matrix per tap, (KH*KW, O, C) ("shift_gemm"),
        else W2 (O, KH*KW*Cg) in im2col's (kh, kw, c) order."""
        if self.path == "im2col_chw":
            return w.reshape(self.O, -1)
        if self.path == "shift_gemm":
            return np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(self.KH * self.KW, self.O, -1)
        if self.path == "row_shift":
            return np.ascontiguousarray(w.transpose(2, 0, 1, 3)).reshape(self.KH * self.O, -1)
        return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(self.O, -1)

    def weight_grad(self, gmat):
        """Inverse of ``weight_matrix`` for a gradient: back to (O, Cg, KH, KW)."""
        if self.path == "im2col_chw":
            return gmat.reshape(self.O, self.Cg, self.KH, self.KW)
        if self.path == "shift_gemm":
            return np.ascontiguousarray(gmat.reshape(self.KH, self.KW, self.O, self.C).transpose(2, 3, 0, 1))
        if self.path == "row_shift":
            g4 = gmat.reshape(self.KH, self.O, self.C, self.KW).transpose(1, 2, 0, 3)
        else:
            g4 = gmat.reshape(self.O, self.KH, self.KW, self.Cg).transpose(0, 3, 1, 2)
        return np.ascontiguousarray(g4)

    # --- the input of a chunk ---------------------------------------------------------------

    def padded(self, x, n0, n1):
        """Padded copy of images n0:n1 of NCHW ``x`` in this thread's workspace: NCHW for the
        channels-first paths (``x`` itself if there is no padding), NHWC for the others."""
        ph, pw = self.padding
        n = n1 - n0
        if self.path in ("im2col_chw", "row_shift"):
            if not (ph or pw):
                return x[n0:n1]
            xp = _workspace("xp", self.n_max, self.C * self.Hp * self.Wp)[:n]
            xp = xp.reshape(n, self.C, self.Hp, self.Wp)
            xp.fill(0.0)
            xp[:, :, ph:ph + self.H, pw:pw + self.W] = x[n0:n1]
            return xp
        xp = _workspace("xp", self.n_max, self.Hp * self.Wp * self.C)[:n]
        xp = xp.reshape(n, self.Hp, self.Wp, self.C)
        if ph or pw:
            xp.fill(0.0)  # the border (the workspace holds an older chunk)
        return pad_into_nhwc(x[n0:n1], ph, pw, xp)

    def patches(self, xp):
        """Column matrix of padded chunk ``xp`` (a view for "pointwise", else a gather into
        this thread's workspace: full patches for the im2col paths; one matrix per image for the
        channels-first paths, (K, OH*OW) for "im2col_chw", the KW taps (C*KW, Hp*OW) for
        "row_shift")."""
        if self.path == "pointwise":
            return xp.reshape(-1, self.C)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        out = _workspace("cols", self.rows_max, self.row_floats)
        if self.path == "im2col_chw":
            out = out[:len(xp) * self.K].reshape(len(xp), self.K, -1)
            return im2col_chw(xp, self.KH, self.KW, sh, sw, dh, dw, self.OH, self.OW, out)
        if self.path == "row_shift":
            out = out.reshape(-1)[:len(xp) * self.C * self.KW * self.row_floats]
            out = out.reshape(len(xp), self.C * self.KW, self.row_floats)
            return im2col_chw(xp, 1, self.KW, 1, sw, 1, 1, self.Hp, self.OW, out)
        out = out[:len(xp) * self.rows_per_image]
        if self.path == "im2col_rows":
            return im2col_rows(xp, self.KH, self.KW, sh, sw, dh, self.OH, self.OW, out)
        return im2col(xp, self.groups, self.KH, self.KW, sh, sw, dh, dw, self.OH, self.OW, out)

    def add_patches(self, gcols, gxp):
        """Scatter-add a column-matrix gradient onto padded chunk ``gxp`` (NCHW for the
        channels-first paths, else NHWC): the adjoint of ``patches``."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        if self.path == "im2col_chw":
            col2im_chw_add(gcols, self.KH, self.KW, sh, sw, dh, dw, self.OH, self.OW, gxp)
        elif self.path == "row_shift":
            col2im_chw_add(gcols, 1, self.KW, 1, sw, 1, 1, self.Hp, self.OW, gxp)
        elif self.path == "im2col_rows":
            col2im_rows_add(gcols, self.KH, self.KW, sh, sw, dh, self.OH, self.OW, gxp)
        else:
            col2im_add(gcols, self.groups, self.KH, self.KW, sh, sw, dh, dw, self.OH, self.OW, gxp)

    def block(self, a, g, width):
        """Columns of group g of a (rows, groups*width) matrix (the whole matrix if 1 group)."""
        return a if self.groups == 1 else a[:, g * width:(g + 1) * width]


def _on_images(geo):
    """Whether this convolution runs as one of ``conv_images``' parallel loops over images
    ("shift_gemm" always; "im2col_chw" when numba can call numpy's BLAS) instead of chunks on
    Python threads."""
    return geo.path == "shift_gemm" or (geo.path == "im2col_chw" and PARALLEL_IMAGES)


@contextlib.contextmanager
def _numba_threads(n):
    """numba's parallel loops inside the block use ``n`` threads (a team of exactly as many
    threads as there are pieces of work: no idle thread spin-waits next to the others)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@contextlib.contextmanager
def _image_threads(geo):
    """For ``conv_images`` / ``conv_shift``: per-thread workspaces, T = the threads the
    convolution may use (at most one per image): the padded image (T, C, Hp, Wp) and the columns
    (T, C*KH*KW, OH*OW) for "im2col_chw"; the flat phases of the padded image
    (T, ``conv_shift.buffer_floats``) and the wide output (T, O, OH*Wq) for "shift_gemm". Inside
    the block OpenBLAS runs on 1 thread and numba's parallel loops on T."""
    T = max(1, min(geo.workers, geo.N, numba.get_num_threads()))
    if geo.path == "shift_gemm":
        from tutorlib.kernels import conv_shift
        xp = _workspace("image_xp", T, conv_shift.buffer_floats(
            geo.C, geo.H, geo.W, geo.KW, geo.stride, geo.padding, geo.dilation))
        cols = _workspace("image_cols", T, geo.O * geo.OH * geo.Wq).reshape(T, geo.O, -1)
    else:
        xp = _workspace("image_xp", T, geo.C * geo.Hp * geo.Wp).reshape(T, geo.C, geo.Hp, geo.Wp)
        cols = _workspace("image_cols", T, geo.K * geo.OH * geo.OW).reshape(T, geo.K, -1)
    with blas.single_threaded(), _numba_threads(T):
        yield xp, cols


def _rows_to_nchw(rows, bias, out):
    """out (n, O, OH, OW) = rows (n*OH*OW, O) transposed, plus bias (O,)."""
    n_img, O, OH, OW = out.shape
    np.add(rows.reshape(n_img, OH * OW, O).transpose(0, 2, 1), bias[:, None],
           out=out.reshape(n_img, O, OH * OW))


def _forward_chunk(geo, x, wmat, bias, y, n0, n1):
    """y[n0:n1] for images n0:n1 (one task of ``conv2d_forward``)."""
    cols = geo.patches(geo.padded(x, n0, n1))
    if geo.path == "im2col_chw":  # one (O, K) @ (K, OH*OW) product per image, straight into y
        out = y[n0:n1].reshape(n1 - n0, geo.O, -1)
        np.matmul(wmat, cols, out=out)
        out += bias[:, None]
        return
    if geo.path == "row_shift":  # P = Wc @ cols[n], then the shifted sum straight into y
        n = n1 - n0
        P = _workspace("out", geo.n_max * geo.KH * geo.O, geo.row_floats)[:n * geo.KH * geo.O]
        P = np.matmul(wmat, cols, out=P.reshape(n, geo.KH * geo.O, -1))
        shift_sum(P, geo.KH, geo.dilation[0], geo.OH, geo.OW, bias, y[n0:n1].reshape(n, geo.O, -1))
        return
    rows = _workspace("out", geo.rows_max, geo.O)[:cols.shape[0]]
    if geo.groups == 1:
        np.matmul(cols, wmat.T, out=rows)
    else:
        for g in range(geo.groups):
            np.matmul(geo.block(cols, g, geo.K), wmat[g * geo.Og:(g + 1) * geo.Og].T,
                      out=rows[:, g * geo.Og:(g + 1) * geo.Og])
    _rows_to_nchw(rows, bias, y[n0:n1])


def _backward_chunk(geo, g, x, wmat, gx, n0, n1):
    """(weight-matrix gradient, bias gradient) of images n0:n1; writes gx[n0:n1] unless gx is
    None (one task of ``conv2d_backward``)."""
    n = n1 - n0
    cols = geo.patches(geo.padded(x, n0, n1))
    gb = g[n0:n1].sum(axis=(0, 2, 3), dtype=np.float32)
    if geo.path in ("im2col_chw", "row_shift"):  # per image: gW += G_n @ cols_n.T
        G = g[n0:n1].reshape(n, geo.O, -1)  # "row_shift": spread over the KH shifted blocks
        if geo.path == "row_shift":
            G_ws = _workspace("g", geo.n_max * geo.KH * geo.O, geo.row_floats)
            G = spread_shifted(G, geo.KH, geo.dilation[0], geo.OW,
                               G_ws[:n * geo.KH * geo.O].reshape(n, geo.KH * geo.O, -1))
        gmat = np.matmul(G, cols.transpose(0, 2, 1)).sum(axis=0, dtype=np.float32)
        if gx is not None:  # gcols_n = W.T @ G_n, added back onto the padded NCHW input
            ph, pw = geo.padding
            gxp = _workspace("gxp", geo.n_max, geo.C * geo.Hp * geo.Wp)[:n]
            gxp = gxp.reshape(n, geo.C, geo.Hp, geo.Wp)
            gxp.fill(0.0)
            gcols = _workspace("gcols", geo.rows_max, geo.row_floats).reshape(-1)[:cols.size]
            gcols = np.matmul(wmat.T, G, out=gcols.reshape(cols.shape))
            geo.add_patches(gcols, gxp)
            gx[n0:n1] = gxp[:, :, ph:ph + geo.H, pw:pw + geo.W]
        return gmat, gb
    g_img = _workspace("g", geo.n_max, geo.OH * geo.OW * geo.O)[:n]  # dL/dy as (rows, O)
    g_rows = pad_into_nhwc(g[n0:n1], 0, 0, g_img.reshape(n, geo.OH, geo.OW, geo.O))
    g_rows = g_rows.reshape(-1, geo.O)
    gmat = np.empty_like(wmat)
    for gi in range(geo.groups):
        o = slice(gi * geo.Og, (gi + 1) * geo.Og)
        np.matmul(geo.block(g_rows, gi, geo.Og).T, geo.block(cols, gi, geo.K), out=gmat[o])
    if gx is not None:
        gxp = _workspace("gxp", geo.n_max, geo.Hp * geo.Wp * geo.C)[:n]
        gxp = gxp.reshape(n, geo.Hp, geo.Wp, geo.C)
        if geo.path == "pointwise":
            np.matmul(g_rows, wmat, out=gxp.reshape(-1, geo.C))
        else:
            gxp.fill(0.0)
            gcols = _workspace("gcols", geo.rows_max, geo.row_floats).reshape(-1)
            gcols = gcols[:cols.size].reshape(cols.shape)
            for gi in range(geo.groups):
                np.matmul(geo.block(g_rows, gi, geo.Og), wmat[gi * geo.Og:(gi + 1) * geo.Og],
                          out=geo.block(gcols, gi, geo.K))
            geo.add_patches(gcols, gxp)
        from_padded_nhwc(gxp, geo.padding[0], geo.padding[1], gx[n0:n1])
    return gmat, gb


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
    wmat = geo.weight_matrix(w)
    # a private writable copy: a read-only bias (a broadcast view) would be another numba type
    bias = np.zeros(geo.O, np.float32) if bias is None else np.array(bias, np.float32).reshape(geo.O)
    y = np.empty((geo.N, geo.O, geo.OH, geo.OW), np.float32)
    if _on_images(geo):
        from tutorlib.kernels import conv_images, conv_shift
        # contiguous arrays only: one compiled (and cached) version of each loop
        x, wmat = np.ascontiguousarray(x), np.ascontiguousarray(wmat)
        with _image_threads(geo) as (xp_ws, cols_ws):
            if geo.path == "shift_gemm":
                conv_shift.forward(x, wmat, bias, geo.KH, geo.KW, *geo.stride, *geo.padding,
                                   *geo.dilation, y, xp_ws, cols_ws)
            else:
                conv_images.forward(x, wmat, bias, geo.KH, geo.KW, *geo.stride, *geo.padding,
                                    *geo.dilation, y, xp_ws, cols_ws)
        return y, x
    blas.run_chunks(lambda n0, n1: _forward_chunk(geo, x, wmat, bias, y, n0, n1),
                    geo.chunks, geo.workers)
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
    wmat = geo.weight_matrix(w)
    gx = np.empty(x_shape, np.float32) if need_gx else None
    if _on_images(geo):
        from tutorlib.kernels import conv_images, conv_shift
        g, x, wmat = np.ascontiguousarray(g), np.ascontiguousarray(x), np.ascontiguousarray(wmat)
        gx_out = gx if need_gx else np.empty((0,) + tuple(x_shape[1:]), np.float32)
        with _image_threads(geo) as (xp_ws, cols_ws):
            T = len(xp_ws)
            gw_ws, gb_ws = np.empty((T,) + wmat.shape, np.float32), np.empty((T, geo.O), np.float32)
            if geo.path == "shift_gemm":
                conv_shift.backward(g, x, wmat, geo.KH, geo.KW, *geo.stride, *geo.padding,
                                    *geo.dilation, gx_out, need_gx, gw_ws, gb_ws, xp_ws, cols_ws)
            else:
                conv_images.backward(g, x, wmat, geo.KH, geo.KW, *geo.stride, *geo.padding,
                                     *geo.dilation, gx_out, need_gx, gw_ws, gb_ws, xp_ws, cols_ws)
        return gx, geo.weight_grad(gw_ws.sum(axis=0)), gb_ws.sum(axis=0)
    parts = blas.run_chunks(lambda n0, n1: _backward_chunk(geo, g, x, wmat, gx, n0, n1),
                            geo.chunks, geo.workers)
    gmat = np.sum([p[0] for p in parts], axis=0, dtype=np.float32)
    gb = np.sum([p[1] for p in parts], axis=0, dtype=np.float32)
    return gx, geo.weight_grad(gmat), gb
