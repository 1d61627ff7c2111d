"""Neural-network functions, ``F.nn`` (as ``megengine.functional.nn``).

Activations, softmax, the functional forms of layers (linear, conv2d, pools, batch_norm,
dropout) and label helpers. The losses (:mod:`tutorlib.functional.loss`) and
:func:`~tutorlib.functional.metric.topk_accuracy` are reachable here too, as in MegEngine;
``F.nn.tanh`` does not exist (use ``F.tanh``).

>>> import tutorlib.functional as F
>>> from tutorlib import Tensor
>>> F.nn.softmax(Tensor([[1.0, 1.0], [0.0, 100.0]]))
Tensor([[0.5 0.5]
 [0.  1. ]], device=cpu0)
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from .. import random
from ..ops import nn as nn_ops
from ..ops.core import apply
from ..tensor import Tensor
from .elemwise import exp, gelu, leaky_relu, mul, relu, sigmoid, silu, softplus
from .math import logsumexp
from .tensor import gather, pad, reshape, squeeze

__all__ = [
    "relu", "sigmoid", "leaky_relu", "gelu", "silu", "softplus", "softmax", "logsoftmax",
    "logsumexp", "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    "batch_norm", "dropout", "one_hot", "indexing_one_hot", "pad",
]


def softmax(inp, axis=None) -> Tensor:
    """exp(x) / Σ exp(x) along ``axis``; by default axis 0 if ``inp.ndim`` is 0, 1 or 3, else 1.

    Computed as ``exp(x - logsumexp(x))``, which never overflows.

    >>> softmax(Tensor([0.0, 0.6931472]))
    Tensor([0.3333 0.6667], device=cpu0)
    """
    if axis is None:
        axis = 0 if np.ndim(inp) in (0, 1, 3) else 1
    return exp(logsoftmax(inp, axis))


def logsoftmax(inp, axis) -> Tensor:
    """log softmax(x) along ``axis``, computed as ``x - logsumexp(x, axis, keepdims=True)``.

    >>> logsoftmax(Tensor([0.0, 0.0]), axis=0)
    Tensor([-0.6931 -0.6931], device=cpu0)
    """
    return inp - logsumexp(inp, axis, keepdims=True)


def linear(inp, weight, bias=None) -> Tensor:
    """``inp @ weight.T + bias``; ``weight`` has shape (out_features, in_features).

    >>> linear(Tensor([[1.0, 2.0]]), Tensor([[1.0, 1.0], [0.0, 1.0]]), Tensor([0.5, 0.0]))
    Tensor([[3.5 2. ]], device=cpu0)
    """
    if bias is None:
        return apply(nn_ops.Linear(), inp, weight)
    return apply(nn_ops.Linear(), inp, weight, bias)


def conv2d(inp, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1,
           conv_mode: str = "cross_correlation", compute_mode: str = "default") -> Tensor:
    """2-D cross-correlation of an NCHW input with weight (O, C/groups, kh, kw).

    ``stride``, ``padding`` (zeros) and ``dilation`` are ints or pairs. With ``groups > 1``
    the weight may also be 5-D, (groups, O/groups, C/groups, kh, kw). ``bias`` broadcasts
    against (1, O, 1, 1); a 1-D bias of length O is accepted too.

    >>> x = Tensor(np.ones((1, 1, 3, 3))); w = Tensor(np.ones((2, 1, 2, 2)))
    >>> conv2d(x, w, padding=1).shape
    (1, 2, 4, 4)
    """
    if conv_mode != "cross_correlation":
        raise ValueError(f"conv2d: only conv_mode='cross_correlation' is supported, got {conv_mode!r}")
    if compute_mode not in ("default", "float32"):
        raise ValueError(f"conv2d: unknown compute_mode {compute_mode!r}")
    stride = check.int_pair("conv2d", "stride", stride)
    padding = check.int_pair("conv2d", "padding", padding, low=0)
    dilation = check.int_pair("conv2d", "dilation", dilation)
    groups = check.positive_int("conv2d", "groups", groups)
    wshape = np.shape(weight)
    if len(wshape) == 5:    # (groups, O/groups, C/groups, kh, kw) -> (O, C/groups, kh, kw)
        weight = reshape(weight, (wshape[0] * wshape[1],) + tuple(wshape[2:]))
    op = nn_ops.Conv2d(stride=stride, padding=padding, dilation=dilation, groups=groups)
    if bias is None:
        return apply(op, inp, weight)
    if np.ndim(bias) == 1:
        bias = reshape(bias, (1, -1, 1, 1))
    return apply(op, inp, weight, bias)


def _pool_args(op: str, kernel_size, stride, padding) -> tuple:
    """Check a pool's window arguments; ``stride`` defaults to ``kernel_size``."""
    kernel = check.int_pair(op, "kernel_size", kernel_size)
    stride = kernel if stride is None else check.int_pair(op, "stride", stride)
    padding = check.int_pair(op, "padding", padding, low=0)
    if padding[0] >= kernel[0] or padding[1] >= kernel[1]:
        raise ValueError(f"{op}: padding {padding} must be smaller than kernel_size {kernel}")
    return stride, padding


def max_pool2d(inp, kernel_size, stride=None, padding=0) -> Tensor:
    """Maximum over each ``kernel_size`` window (stride defaults to the kernel size).

    >>> max_pool2d(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2)
    Tensor([[[[ 5.  7.]
       [13. 15.]]]], device=cpu0)
    """
    stride, padding = _pool_args("max_pool2d", kernel_size, stride, padding)
    return apply(nn_ops.MaxPool2d(kernel=kernel_size, stride=stride, padding=padding), inp)


def avg_pool2d(inp, kernel_size, stride=None, padding=0,
               mode: str = "average_count_exclude_padding") -> Tensor:
    """Mean over each window; ``mode="average"`` counts the zero padding, the default does not.

    >>> avg_pool2d(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2)
    Tensor([[[[ 2.5  4.5]
       [10.5 12.5]]]], device=cpu0)
    """
    stride, padding = _pool_args("avg_pool2d", kernel_size, stride, padding)
    return apply(nn_ops.AvgPool2d(kernel_size, stride, padding, mode), inp)


def adaptive_avg_pool2d(inp, oshp) -> Tensor:
    """Average pooling to a fixed output size ``oshp`` (an int or (OH, OW)).

    >>> adaptive_avg_pool2d(Tensor(np.ones((2, 3, 7, 5))), 1).shape
    (2, 3, 1, 1)
    """
    oshp = check.int_pair("adaptive_avg_pool2d", "oshp", oshp)
    return apply(nn_ops.AdaptiveAvgPool2d(oshp=oshp), inp)


def batch_norm(inp, running_mean=None, running_var=None, weight=None, bias=None, *,
               training: bool = False, momentum: float = 0.9, eps: float = 1e-5,
               inplace: bool = True):
    """Normalise each channel of an (N, C, ...) input: ``weight·(x - mean)/√(var + eps) + bias``.

    Training uses the batch statistics and updates the running ones as
    ``running = momentum·running + (1 - momentum)·batch`` (MegEngine's 0.9 is PyTorch's 0.1);
    evaluation uses the running statistics. With ``inplace=False`` the buffers are left alone and
    ``(output, new_running_mean, new_running_var)`` is returned.

    >>> x = Tensor([[[[1.0]], [[2.0]]], [[[3.0]], [[6.0]]]])
    >>> mean, var = Tensor(np.zeros((1, 2, 1, 1))), Tensor(np.ones((1, 2, 1, 1)))
    >>> batch_norm(x, mean, var, training=True).numpy().ravel().round(3)
    array([-1., -1.,  1.,  1.], dtype=float32)
    >>> mean.numpy().ravel()
    array([0.2, 0.4], dtype=float32)
    """
    momentum = check.real("batch_norm", "momentum", momentum, low=0.0, high=1.0)
    eps = check.real("batch_norm", "eps", eps, low=0.0, low_open=True)
    if np.ndim(inp) < 2:
        raise ValueError(f"batch_norm: expected an (N, C, ...) input, got shape {np.shape(inp)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    stats = [None if s is None else (s._data if isinstance(s, Tensor) else np.asarray(s))
             for s in (running_mean, running_var)]
    if not inplace:
        stats = [None if s is None else s.copy() for s in stats]
    shape = (1, np.shape(inp)[1]) + (1,) * (np.ndim(inp) - 2)
    weight = np.ones(shape, np.float32) if weight is None else weight
    bias = np.zeros(shape, np.float32) if bias is None else bias
    op = nn_ops.BatchNorm(training, momentum, eps, stats[0], stats[1])
    out = apply(op, inp, weight, bias)
    if inplace:
        return out
    return (out,) + tuple(None if s is None else Tensor(s) for s in stats)


def dropout(inp, drop_prob: float, training: bool = True) -> Tensor:
    """Zero each entry with probability ``drop_prob`` and scale the rest by 1/(1 - drop_prob).

    The mask comes from :func:`tutorlib.random.generator`; identity when not training.

    >>> dropout(Tensor(np.ones(4)), 0.5, training=False)
    Tensor([1. 1. 1. 1.], device=cpu0)
    >>> sorted(set(dropout(Tensor(np.ones(100)), 0.5).numpy().tolist()))
    [0.0, 2.0]
    """
    check.real("dropout", "drop_prob", drop_prob, low=0.0, high=1.0, high_open=True)
    if not training or drop_prob == 0:
        return inp
    keep = random.generator().random(np.shape(inp)) >= drop_prob
    return mul(inp, keep.astype(np.float32) / np.float32(1 - drop_prob))


def one_hot(inp, num_classes: int) -> Tensor:
    """One-hot encoding along a new last axis; the output has the input's (integer) dtype.

    >>> one_hot(Tensor([1, 0]), 3)
    Tensor([[0 1 0]
     [1 0 0]], dtype=int32, device=cpu0)
    """
    num_classes = check.positive_int("one_hot", "num_classes", num_classes)
    data = inp._data if isinstance(inp, Tensor) else np.asarray(inp)
    if not np.issubdtype(data.dtype, np.integer):
        raise TypeError(f"one_hot: expected integer class indices, got dtype {data.dtype}")
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise ValueError(f"one_hot: indices must be in [0, {num_classes}), got values from "
                         f"{data.min()} to {data.max()}")
    return Tensor(np.eye(num_classes, dtype=data.dtype)[data])


def indexing_one_hot(src, index, axis: int = 1, keepdims: bool = False) -> Tensor:
    """Pick ``src[..., index, ...]`` along ``axis``: one entry per position of ``index``.

    ``index`` has ``src``'s shape without ``axis``. Differentiable in ``src``.

    >>> indexing_one_hot(Tensor([[1.0, 2.0], [3.0, 4.0]]), Tensor([1, 0]))
    Tensor([2. 3.], device=cpu0)
    """
    shape = np.shape(src)
    axis = check.axis("indexing_one_hot", "axis", axis, len(shape))
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.shape != shape[:axis] + shape[axis + 1:]:
        raise ValueError(f"indexing_one_hot: index of shape {idx.shape} does not match src of "
                         f"shape {shape} without axis {axis}")
    out = gather(src, axis, np.expand_dims(idx, axis))
    return out if keepdims else squeeze(out, axis)


from .loss import (binary_cross_entropy, cross_entropy, hinge_loss, l1_loss,  # noqa: E402,F401
                   square_loss)
from .metric import topk_accuracy  # noqa: E402,F401
