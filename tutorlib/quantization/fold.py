"""Folding a batch norm into the convolution before it.

In evaluation a BN is an affine map per channel, y = γ (z - μ)/σ + β with σ = √(var + eps),
and z = W * x + b is linear in W and b, so the pair is one convolution:

    W' = W · γ/σ        (per output channel)
    b' = β + γ (b - μ)/σ

The folded layer computes the same thing with one op less, and it is the one an integer
deployment quantizes (``quantize`` folds every ``ConvBn2d``).

>>> import numpy as np
>>> import tutorlib.module as M
>>> from tutorlib import Tensor
>>> conv, bn = M.Conv2d(2, 3, 3), M.BatchNorm2d(3)
>>> bn.running_mean._data[:] = 0.5; bn.running_var._data[:] = 4.0; bn.eval()
>>> x = Tensor(np.random.default_rng(0).normal(size=(1, 2, 5, 5)))
>>> bool(np.allclose(fuse_conv_bn_eval(conv, bn)(x).numpy(), bn(conv(x)).numpy(), atol=1e-5))
True
"""
from __future__ import annotations

import copy

import numpy as np

from ..tensor import Parameter


def fold_conv_bn(conv, bn) -> tuple:
    """(W', b') as float32 numpy arrays: W' with ``conv.weight``'s shape, b' of shape (O,)."""
    if bn.running_mean is None:
        raise ValueError("fold_conv_bn: the BatchNorm2d has no running statistics to fold")
    mean = bn.running_mean.numpy().reshape(-1).astype(np.float64)
    var = bn.running_var.numpy().reshape(-1).astype(np.float64)
    out = mean.shape[0]
    gamma = np.ones(out) if bn.weight is None else bn.weight.numpy().reshape(-1)
    beta = np.zeros(out) if bn.bias is None else bn.bias.numpy().reshape(-1)
    b = np.zeros(out) if conv.bias is None else conv.bias.numpy().reshape(-1)
    factor = gamma / np.sqrt(var + bn.eps)
    w = conv.weight.numpy().astype(np.float64)
    w_fold = w * factor.reshape(w.shape[:-3] + (1, 1, 1))
    b_fold = beta + (b - mean) * factor
    return w_fold.astype(np.float32), b_fold.astype(np.float32)


def fuse_conv_bn_eval(conv, bn):
    """A copy of ``conv`` whose weight and bias have ``bn`` (in eval mode) folded in."""
    w, b = fold_conv_bn(conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight = Parameter(w)
    fused.bias = Parameter(b.reshape(1, -1, 1, 1))
    return fused
