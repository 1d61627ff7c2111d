"""The hot neural-network ops: each one fused Op calling a fast kernel from ``tutorlib.kernels``.

Every class follows the op contract of ``tutorlib.ops.core``: the constructor takes the static
attributes, ``forward`` gets numpy arrays, ``backward`` returns one gradient per input. Shapes
and attributes are checked here (kernels trust their inputs) so mistakes raise a ValueError that
names the op and the shapes involved.

>>> import numpy as np
>>> from tutorlib.ops.core import apply
>>> apply(Linear(), np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)).shape
(2, 4)
"""
from __future__ import annotations

import numpy as np

from ..autodiff.graph import unbroadcast
from ..kernels import blas, conv, norm, pool, reference, softmax
from .core import Op


def _f32(a) -> np.ndarray:
    """A C-contiguous float32 view of ``a`` (copies only if needed), as the kernels expect."""
    return np.ascontiguousarray(a, dtype=np.float32)


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """True if an array of ``shape`` broadcasts to exactly ``target``."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _needs_grad(op: Op, i: int) -> bool:
    """Whether input ``i`` of ``op`` needs a gradient (True unless the engine said otherwise)."""
    return i >= len(op.needs_input_grad) or bool(op.needs_input_grad[i])


def _pair(v, what: str, op: str) -> tuple:
    """An int or a pair of ints -> a pair of ints."""
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or not all(isinstance(i, (int, np.integer)) for i in pair):
        raise ValueError(f"{op}: {what} must be an int or a pair of ints, got {v!r}")
    return int(pair[0]), int(pair[1])


class Conv2d(Op):
    """2-D cross-correlation of NCHW ``x`` with ``w`` (O, C/groups, kh, kw), plus optional bias.

    ``apply(Conv2d(stride, padding, dilation, groups), x, w[, b])``; ``b`` broadcasts to
    (1, O, 1, 1). Backward returns ``(gx, gw[, gb])``, ``gb`` in ``b``'s own shape. With
    stride s, dilation d and xp the zero-padded input (groups: each filter sees its group's
    channels)::

        y[n, o, i, j]  = b[o] + sum_{c, kh, kw} xp[n, c, i*s + kh*d, j*s + kw*d] * w[o, c, kh, kw]
        gw[o, c, kh, kw] = sum_{n, i, j} g[n, o, i, j] * xp[n, c, i*s + kh*d, j*s + kw*d]
        gxp[n, c, i*s + kh*d, j*s + kw*d] += sum_o g[n, o, i, j] * w[o, c, kh, kw]
        gb[o] = sum_{n, i, j} g[n, o, i, j]

    These loops, written out, are :func:`~tutorlib.kernels.reference.conv2d_forward` and
    :func:`~tutorlib.kernels.reference.conv2d_backward`; ``kernels/conv.py`` computes the same
    sums as matrix products.

    >>> import numpy as np
    >>> op = Conv2d(padding=(1, 1))
    >>> op.forward(np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 3, 3), np.float32))[0, 0]
    array([[4., 4.],
           [4., 4.]], dtype=float32)
    """

    def __init__(self, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        self.stride = _pair(stride, "stride", "conv2d")
        self.padding = _pair(padding, "padding", "conv2d")
        self.dilation = _pair(dilation, "dilation", "conv2d")
        self.groups = int(groups)

    def _check(self, x, w, b):
        g = self.groups
        if x.ndim != 4 or w.ndim != 4:
            raise ValueError(f"conv2d: expected x (N, C, H, W) and w (O, C/groups, kh, kw), "
                             f"got x {x.shape} and w {w.shape}")
        if g < 1 or x.shape[1] != w.shape[1] * g or w.shape[0] % g:
            raise ValueError(f"conv2d: x {x.shape} has {x.shape[1]} channels but w {w.shape} "
                             f"with groups={g} expects {w.shape[1] * g} input channels and "
                             f"an output-channel count divisible by {g}")
        oh, ow = conv.conv2d_output_shape(x.shape, w.shape, self.stride, self.padding,
                                          self.dilation)
        if oh < 1 or ow < 1 or min(self.stride) < 1 or min(self.dilation) < 1 \
                or min(self.padding) < 0:
            raise ValueError(f"conv2d: kernel of w {w.shape} (dilation {self.dilation}) does not "
                             f"fit x {x.shape} padded by {self.padding} with stride {self.stride}")
        if b is not None and not _broadcasts_to(b.shape, (1, w.shape[0], 1, 1)):
            raise ValueError(f"conv2d: bias {b.shape} does not broadcast to (1, {w.shape[0]}, 1, 1)")

    def forward(self, x, w, b=None):
        self._check(x, w, b)
        self.w, self.x_shape = _f32(w), x.shape
        self.b_shape = None if b is None else b.shape
        bias = None if b is None else _f32(np.broadcast_to(b, (1, w.shape[0], 1, 1)).reshape(-1))
        self.reference = reference.enabled()
        if self.reference:
            self.saved = x
            return reference.conv2d_forward(x, self.w, bias, self.stride, self.padding,
                                            self.dilation, self.groups)
        y, self.saved = conv.conv2d_forward(_f32(x), self.w, bias, self.stride, self.padding,
                                         self.dilation, self.groups)
        return y

    def backward(self, g):
        if self.reference:
            gx, gw, gb = reference.conv2d_backward(g, self.saved, self.w, self.stride,
                                                   self.padding, self.dilation, self.groups)
        else:
            gx, gw, gb = conv.conv2d_backward(_f32(g), self.saved, self.w, self.x_shape,
                                              self.stride, self.padding, self.dilation,
                                              self.groups, need_gx=_needs_grad(self, 0))
        if self.b_shape is None:
            return gx, gw
        return gx, gw, unbroadcast(gb.reshape(1, -1, 1, 1), self.b_shape)


class _Pool2d(Op):
    """Shared part of the pooling ops: window bounds from (H, W) and the shape checks."""

    def _out_size(self, x):
        """(OH, OW) of the pooled output, after checking that the windows fit ``x``."""
        if x.ndim != 4:
            raise ValueError(f"{self.name}: expected NCHW input, got shape {x.shape}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        H, W = x.shape[2:]
        oh, ow = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
        if min(kh, kw, sh, sw) < 1 or not (0 <= ph < kh and 0 <= pw < kw) or oh < 1 or ow < 1:
            raise ValueError(f"{self.name}: kernel {self.kernel}, stride {self.stride} and "
                             f"padding {self.padding} (must be < kernel) do not fit input {x.shape}")
        return oh, ow

    def _bounds(self, x):
        """(hs, he, ws, we): clipped window bounds along H and W (see ``kernels/pool.py``)."""
        (oh, ow), (H, W) = self._out_size(x), x.shape[2:]
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        return (*pool.window_bounds(H, oh, kh, sh, ph), *pool.window_bounds(W, ow, kw, sw, pw))


class MaxPool2d(_Pool2d):
    """Max over each (kh, kw) window of NCHW input; padding never wins (it is -inf).

    ``y[n, c, i, j] = max(window (i, j) of x[n, c])``; backward routes ``g[n, c, i, j]`` to the
    input that was the window's maximum (the first one if several tie), nothing to the others.
    Loops: :func:`~tutorlib.kernels.reference.max_pool2d_forward`,
    :func:`~tutorlib.kernels.reference.max_pool2d_backward`.

    >>> import numpy as np
    >>> MaxPool2d((2, 2), (2, 2), (0, 0)).forward(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    array([[[[ 5.,  7.],
             [13., 15.]]]], dtype=float32)
    """

    def __init__(self, kernel, stride, padding=(0, 0)):
        self.kernel = _pair(kernel, "kernel_size", "max_pool2d")
        self.stride = _pair(stride, "stride", "max_pool2d")
        self.padding = _pair(padding, "padding", "max_pool2d")

    def forward(self, x, tiles=None):
        """``tiles`` forces (True/False) the path for windows that tile the input; by default it
        is used whenever kernel == stride and there is no padding."""
        out_size = self._out_size(x)
        self.hw = x.shape[2:]
        self.reference = reference.enabled()
        if self.reference:
            self.x = x
            self.windows = list(reference.pool_windows(*self.hw, self.kernel, self.stride,
                                                       self.padding))
            return reference.max_pool2d_forward(x, self.windows)
        if tiles is None:
            tiles = self.kernel == self.stride and self.padding == (0, 0)
        if tiles:  # window (i, j) starts at (i*kh, j*kw): no bounds arrays needed
            y, self.arg = pool.max_pool2d_tiles_forward(_f32(x), *self.kernel, *out_size)
        else:
            y, self.arg = pool.max_pool2d_forward(_f32(x), *self._bounds(x))
        return y

    def backward(self, g):
        if self.reference:
            return (reference.max_pool2d_backward(g, self.x, self.windows),)
        return (pool.max_pool2d_backward(_f32(g), self.arg, *self.hw),)


class AvgPool2d(_Pool2d):
    """Mean over each window; ``mode`` "average_count_exclude_padding" or "average" (counts it).

    ``y[n, c, i, j] = sum(window (i, j)) / d`` (d: the inputs the window covers, or kh*kw with
    "average"); backward gives every input of window (i, j) ``g[n, c, i, j] / d``.
    Loops: :func:`~tutorlib.kernels.reference.avg_pool2d_forward`,
    :func:`~tutorlib.kernels.reference.avg_pool2d_backward`.

    >>> import numpy as np
    >>> x = np.ones((1, 1, 2, 2), np.float32)
    >>> AvgPool2d(2, 2, 1, "average").forward(x)[0, 0], AvgPool2d(2, 2, 1).forward(x)[0, 0]
    (array([[0.25, 0.25],
           [0.25, 0.25]], dtype=float32), array([[1., 1.],
           [1., 1.]], dtype=float32))
    """

    MODES = ("average_count_exclude_padding", "average")

    def __init__(self, kernel, stride, padding=(0, 0), mode="average_count_exclude_padding"):
        self.kernel = _pair(kernel, "kernel_size", "avg_pool2d")
        self.stride = _pair(stride, "stride", "avg_pool2d")
        self.padding = _pair(padding, "padding", "avg_pool2d")
        if mode not in self.MODES:
            raise ValueError(f"avg_pool2d: mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode
        self.divisor = float(self.kernel[0] * self.kernel[1]) if mode == "average" else 0.0

    def forward(self, x):
        self.bounds, self.hw = self._bounds(x), x.shape[2:]
        self.reference = reference.enabled()
        if self.reference:
            self.x_shape, self.windows = x.shape, list(reference.pool_windows(
                *self.hw, self.kernel, self.stride, self.padding))
            return reference.avg_pool2d_forward(x, self.windows, self.mode == "average")
        return pool.avg_pool2d_forward(_f32(x), *self.bounds, self.divisor)

    def backward(self, g):
        if self.reference:
            return (reference.avg_pool2d_backward(g, self.x_shape, self.windows,
                                                  self.mode == "average"),)
        return (pool.avg_pool2d_backward(_f32(g), *self.bounds, self.divisor, *self.hw),)


class AdaptiveAvgPool2d(Op):
    """Average pooling to a fixed output size ``oshp`` (bins as in MegEngine / PyTorch).

    Bin i spans floor(i*H/OH) to ceil((i+1)*H/OH) (likewise along W); forward and backward are
    those of average pooling over these bins
    (:func:`~tutorlib.kernels.reference.adaptive_windows`).

    >>> import numpy as np
    >>> AdaptiveAvgPool2d((1, 1)).forward(np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2))
    array([[[[1.5]]]], dtype=float32)
    """

    def __init__(self, oshp):
        self.oshp = _pair(oshp, "oshp", "adaptive_avg_pool2d")

    def forward(self, x):
        if x.ndim != 4 or min(self.oshp) < 1:
            raise ValueError(f"adaptive_avg_pool2d: expected NCHW input and a positive output "
                             f"size, got input {x.shape} and oshp {self.oshp}")
        H, W = self.hw = x.shape[2:]
        self.reference = reference.enabled()
        if self.reference:
            self.x_shape, self.windows = x.shape, list(reference.adaptive_windows(H, W, self.oshp))
            return reference.avg_pool2d_forward(x, self.windows)
        if self.oshp == (1, 1):  # global average pooling: one bin, the whole plane
            self.bounds = None
            return pool.global_avg_pool_forward(_f32(x))
        self.bounds = (*pool.adaptive_bounds(H, self.oshp[0]), *pool.adaptive_bounds(W, self.oshp[1]))
        return pool.avg_pool2d_forward(_f32(x), *self.bounds, 0.0)

    def backward(self, g):
        if self.reference:
            return (reference.avg_pool2d_backward(g, self.x_shape, self.windows),)
        if self.bounds is None:
            return (pool.global_avg_pool_backward(_f32(g), *self.hw),)
        return (pool.avg_pool2d_backward(_f32(g), *self.bounds, 0.0, *self.hw),)


class BatchNorm(Op):
    """Batch normalisation over axis 1 of (N, C), (N, C, L) or (N, C, H, W) input.

    ``apply(BatchNorm(training, momentum, eps, running_mean, running_var), x, weight, bias)``.
    Training normalises with the batch mean and biased variance and, if running stats are given
    (numpy arrays with C elements), updates them **in place**:
    ``running = momentum * running + (1 - momentum) * batch`` (MegEngine's convention; the
    variance uses the unbiased batch variance). Eval uses the running stats (the batch stats if
    there are none). ``weight``/``bias`` hold C elements in any shape (e.g. (1, C, 1, 1)); their
    gradients come back in that shape. Per channel, over its M = N*H*W values::

        xhat = (x - mean) / sqrt(var + eps)      y = xhat * weight + bias
        gweight = sum(g * xhat)    gbias = sum(g)
        gx = weight / sqrt(var + eps) * (g - sum(g)/M - xhat * sum(g * xhat)/M)

    (the two subtracted terms flow through the batch mean and variance; in eval mode they are
    constants and ``gx = weight / sqrt(var + eps) * g``). Loops:
    :func:`~tutorlib.kernels.reference.batch_norm_forward`,
    :func:`~tutorlib.kernels.reference.batch_norm_backward`.

    >>> import numpy as np
    >>> rm, rv = np.zeros(1, np.float32), np.ones(1, np.float32)
    >>> op = BatchNorm(True, 0.9, 0.0, rm, rv)
    >>> op.forward(np.array([[1.], [3.]], np.float32), np.ones(1, np.float32), np.zeros(1, np.float32))
    array([[-1.],
           [ 1.]], dtype=float32)
    >>> rm, rv
    (array([0.2], dtype=float32), array([1.1], dtype=float32))
    """

    def __init__(self, training, momentum=0.9, eps=1e-5, running_mean=None, running_var=None):
        self.training, self.momentum, self.eps = bool(training), float(momentum), float(eps)
        self.running_mean, self.running_var = running_mean, running_var

    def forward(self, x, weight=None, bias=None):
        if x.ndim < 2:
            raise ValueError(f"batch_norm: expected (N, C, ...) input, got shape {x.shape}")
        C = x.shape[1]
        for what, a in (("weight", weight), ("bias", bias), ("running_mean", self.running_mean),
                        ("running_var", self.running_var)):
            if a is not None and a.size != C:
                raise ValueError(f"batch_norm: {what} {a.shape} must have {C} elements "
                                 f"for input {x.shape}")
        self.x3 = _f32(x).reshape(x.shape[0], C, -1)
        self.x_shape = x.shape
        self.w_shape = None if weight is None else weight.shape
        self.b_shape = None if bias is None else bias.shape
        self.weight = np.ones(C, np.float32) if weight is None else _f32(weight).reshape(C)
        bias = np.zeros(C, np.float32) if bias is None else _f32(bias).reshape(C)
        self.batch = self.training or self.running_mean is None
        self.reference = reference.enabled()
        if self.batch:
            mean, var = (reference.batch_stats if self.reference else norm.batch_stats)(self.x3)
            if self.training and self.running_mean is not None:
                self._update_running(mean, var)
        else:
            mean = self.running_mean.reshape(C).astype(np.float64)
            var = self.running_var.reshape(C).astype(np.float64)
        self.mean, self.invstd = mean, 1.0 / np.sqrt(var + self.eps)
        if self.reference:
            self.var = var
            return reference.batch_norm_forward(self.x3, self.weight, bias, mean, var,
                                                self.eps).reshape(x.shape)
        scale = (self.weight * self.invstd).astype(np.float32)
        shift = (bias - mean * scale).astype(np.float32)
        return norm.scale_shift(self.x3, scale, shift).reshape(x.shape)

    def _update_running(self, mean, var):
        m = self.x3.shape[0] * self.x3.shape[2]
        unbiased = var * (m / max(m - 1, 1))
        for running, batch in ((self.running_mean, mean), (self.running_var, unbiased)):
            running[...] = (self.momentum * running.reshape(-1)
                             + (1 - self.momentum) * batch).reshape(running.shape)

    def backward(self, g):
        if self.reference:
            gx, gw, gb = reference.batch_norm_backward(g.reshape(self.x3.shape), self.x3,
                                                       self.weight, self.mean, self.var,
                                                       self.eps, self.batch)
        else:
            gx, gw, gb = norm.batch_norm_backward(_f32(g).reshape(self.x3.shape), self.x3,
                                                  self.mean, self.invstd, self.weight, self.batch)
        gx = gx.reshape(self.x_shape)
        return (gx,
                None if self.w_shape is None else gw.reshape(self.w_shape),
                None if self.b_shape is None else gb.reshape(self.b_shape))


class SoftmaxCrossEntropy(Op):
    """Fused, numerically stable cross-entropy of logits against integer class labels.

    Per sample: ``logZ - ls * mean(logits) - (1 - ls) * logits[label]`` along ``axis``
    (``ls`` = label_smooth, K classes), reduced by "mean", "sum" or "none". Backward:
    ``(g_logits, None)`` with ``dloss/dlogits = softmax(logits) - ls/K - (1 - ls) * onehot(label)``
    per sample. Loops: :func:`~tutorlib.kernels.reference.softmax_cross_entropy_forward`,
    :func:`~tutorlib.kernels.reference.softmax_cross_entropy_backward`.

    >>> import numpy as np
    >>> op = SoftmaxCrossEntropy()
    >>> op.forward(np.zeros((2, 4), np.float32), np.array([0, 3], np.int32))
    array(1.3862944, dtype=float32)
    """

    REDUCTIONS = ("mean", "sum", "none")

    def __init__(self, axis=1, label_smooth=0.0, reduction="mean"):
        if reduction not in self.REDUCTIONS:
            raise ValueError(f"cross_entropy: reduction must be one of {self.REDUCTIONS}, "
                             f"got {reduction!r}")
        self.axis, self.ls, self.reduction = int(axis), float(label_smooth), reduction

    def _check(self, logits, labels):
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"cross_entropy: labels must be integer class indices (int32), "
                             f"got dtype {labels.dtype}")
        if logits.ndim != labels.ndim + 1 or not -logits.ndim <= self.axis < logits.ndim:
            raise ValueError(f"cross_entropy: logits {logits.shape} must have one more axis than "
                             f"labels {labels.shape} (axis={self.axis})")
        axis = self.axis % logits.ndim
        expected = logits.shape[:axis] + logits.shape[axis + 1:]
        if labels.shape != expected:
            raise ValueError(f"cross_entropy: labels {labels.shape} must have shape {expected} "
                             f"(logits {logits.shape} without axis {self.axis})")
        C = logits.shape[axis]
        if labels.size and (labels.min() < 0 or labels.max() >= C):
            raise ValueError(f"cross_entropy: labels must be in [0, {C}) for logits "
                             f"{logits.shape}, got values in [{labels.min()}, {labels.max()}]")
        return axis

    def forward(self, logits, labels):
        axis = self._check(logits, labels)
        self.last = axis == logits.ndim - 1  # the usual (N, C) case: nothing to move
        moved = logits if self.last else np.moveaxis(logits, axis, -1)
        self.moved_shape, self.axis_used = moved.shape, axis
        self.labels = np.ascontiguousarray(labels, dtype=np.int32).reshape(-1)
        rows = _f32(moved).reshape(-1, moved.shape[-1])
        self.reference = reference.enabled()
        if self.reference:
            self.rows = rows
            loss = reference.softmax_cross_entropy_forward(rows, self.labels, self.ls)
        else:
            loss, self.prob = softmax.softmax_cross_entropy_forward(rows, self.labels, self.ls)
        if self.reduction == "none":
            return loss.reshape(labels.shape)
        total = loss.sum(dtype=np.float64)
        return np.array(total / max(loss.size, 1) if self.reduction == "mean" else total, np.float32)

    def backward(self, g):
        m = self.labels.size
        if self.reduction == "none":
            g_rows = _f32(g).reshape(m)
        else:
            scale = float(g) / max(m, 1) if self.reduction == "mean" else float(g)
            g_rows = np.full(m, scale, np.float32)
        if self.reference:
            dx = reference.softmax_cross_entropy_backward(self.rows, self.labels, self.ls, g_rows)
        else:
            dx = softmax.softmax_cross_entropy_backward(self.prob, self.labels, self.ls, g_rows)
        dx = dx.reshape(self.moved_shape)
        return (dx if self.last else np.moveaxis(dx, -1, self.axis_used)), None


class Linear(Op):
    """Fused ``x @ w.T + b`` with x (..., in), w (out, in), b (out,) (or absent).

    >>> import numpy as np
    >>> Linear().forward(np.ones((1, 2), np.float32), np.ones((3, 2), np.float32),
    ...                  np.arange(3, dtype=np.float32))
    array([[2., 3., 4.]], dtype=float32)
    """

    def forward(self, x, w, b=None):
        if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[1]:
            raise ValueError(f"linear: x {x.shape} and weight {w.shape} do not match "
                             f"(need x (..., in) and weight (out, in))")
        if b is not None and not _broadcasts_to(b.shape, (w.shape[0],)):
            raise ValueError(f"linear: bias {b.shape} does not broadcast to ({w.shape[0]},) "
                             f"for weight {w.shape}")
        self.x2, self.w = x.reshape(-1, w.shape[1]), w
        self.x_shape, self.b_shape = x.shape, None if b is None else b.shape
        y = blas.matmul(self.x2, w.T)
        if b is not None:
            y += b
        return y.reshape(*x.shape[:-1], w.shape[0])

    def backward(self, g):
        g2 = g.reshape(-1, self.w.shape[0])
        gx = blas.matmul(g2, self.w).reshape(self.x_shape) if _needs_grad(self, 0) else None
        gw = blas.matmul(g2.T, self.x2) if _needs_grad(self, 1) else None
        if self.b_shape is None:
            return gx, gw
        return gx, gw, unbroadcast(g2.sum(axis=0), self.b_shape)
