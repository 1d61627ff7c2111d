"""Loss functions, reachable as ``F.nn.*`` and ``F.loss.*`` (there is no ``F.cross_entropy``).

Every loss takes ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"``. The mean over an
empty batch is undefined, so it raises a ValueError rather than returning a number.

>>> import tutorlib.functional as F
>>> from tutorlib import Tensor
>>> F.nn.square_loss(Tensor([3.0, 3.0, 3.0, 3.0]), Tensor([2.0, 8.0, 6.0, 1.0]))
Tensor(9.75, device=cpu0)
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from ..ops import nn as nn_ops
from ..ops.core import apply
from ..tensor import Tensor
from .elemwise import abs, add, log, mul, neg, relu, softplus, sub
from .math import mean, sum
from .nn import indexing_one_hot

__all__ = ["l1_loss", "square_loss", "cross_entropy", "binary_cross_entropy", "hinge_loss"]


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name: str, reduction: str, batch_shape: tuple) -> None:
    """``reduction`` is known, and a mean is not asked of an empty batch."""
    check.one_of(name, "reduction", reduction, _REDUCTIONS)
    if reduction == "mean" and 0 in batch_shape:
        raise ValueError(f"{name}: the batch is empty (shape {batch_shape}); the mean loss over "
                         "0 samples is undefined")


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    _check_reduction(name, reduction, loss.shape)
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_broadcast(name: str, pred, label) -> None:
    try:
        np.broadcast_shapes(np.shape(pred), np.shape(label))
    except ValueError:
        raise ValueError(f"{name}: pred of shape {np.shape(pred)} and label of shape "
                         f"{np.shape(label)} cannot be broadcast together") from None


def l1_loss(pred, label, reduction: str = "mean") -> Tensor:
    """Mean absolute error, mean |pred - label|.

    >>> l1_loss(Tensor([3.0, 3.0, 3.0, 3.0]), Tensor([2.0, 8.0, 6.0, 1.0]))
    Tensor(2.75, device=cpu0)
    """
    _check_broadcast("l1_loss", pred, label)
    return _reduce(abs(sub(pred, label)), reduction, "l1_loss")


def square_loss(pred, label, reduction: str = "mean") -> Tensor:
    """Mean squared error, mean (pred - label)² (no factor ½).

    >>> square_loss(Tensor([3.0, 3.0, 3.0, 3.0]), Tensor([2.0, 8.0, 6.0, 1.0]), reduction="sum")
    Tensor(39.0, device=cpu0)
    """
    _check_broadcast("square_loss", pred, label)
    diff = sub(pred, label)
    return _reduce(mul(diff, diff), reduction, "square_loss")


def _check_labels(name: str, pred, label, axis: int) -> np.ndarray:
    """Integer labels of ``pred``'s shape without ``axis``, each in [0, num_classes)."""
    shape = np.shape(pred)
    labels = label._data if isinstance(label, Tensor) else np.asarray(label)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{name}: labels must be integer class indices (e.g. int32), got dtype "
                        f"{labels.dtype}; cast with label.astype('int32')")
    if len(shape) != labels.ndim + 1:
        raise ValueError(f"{name}: pred of shape {shape} needs labels with one dimension less, "
                         f"got labels of shape {labels.shape}")
    axis = check.axis(name, "axis", axis, len(shape))
    if labels.shape != shape[:axis] + shape[axis + 1:]:
        raise ValueError(f"{name}: labels of shape {labels.shape} do not match pred of shape "
                         f"{shape} without axis {axis}")
    n = shape[axis]
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        raise ValueError(f"{name}: labels must be in [0, {n}) for {n} classes, got values from "
                         f"{labels.min()} to {labels.max()}")
    return labels


def cross_entropy(pred, label, axis: int = 1, with_logits: bool = True, label_smooth: float = 0,
                  reduction: str = "mean") -> Tensor:
    """Cross-entropy between class scores ``pred`` and integer labels (``pred.ndim == label.ndim + 1``).

    With logits: ``logsumexp(pred, axis) - pred[label]`` (one fused, stable op). With
    ``with_logits=False`` ``pred`` holds probabilities: ``-log pred[label]``. Label smoothing
    ``ls`` mixes in the uniform target: ``(1 - ls)·(-log p[label]) + ls·mean(-log p)``.

    >>> p = Tensor([[0.0, 0.0, 0.0, 1.0]])
    >>> cross_entropy(p, Tensor([3]), with_logits=False)
    Tensor(0.0, device=cpu0)
    >>> cross_entropy(Tensor([[0.0, 0.0]]), Tensor([1]))
    Tensor(0.6931, device=cpu0)
    """
    check.real("cross_entropy", "label_smooth", label_smooth, low=0.0, high=1.0)
    labels = _check_labels("cross_entropy", pred, label, axis)
    _check_reduction("cross_entropy", reduction, labels.shape)
    if with_logits:
        op = nn_ops.SoftmaxCrossEntropy(axis=axis, label_smooth=float(label_smooth),
                                        reduction=reduction)
        return apply(op, pred, labels)
    if not label_smooth:
        loss = neg(log(indexing_one_hot(pred, labels, axis)))   # log only the picked entries
    else:
        logp = log(pred)
        loss = (label_smooth - 1) * indexing_one_hot(logp, labels, axis) \
            - label_smooth * mean(logp, axis)
    return _reduce(loss, reduction, "cross_entropy")


def binary_cross_entropy(pred, label, with_logits: bool = True, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy for targets ``label`` in [0, 1].

    With logits (default) it is ``y·softplus(-p) + (1 - y)·softplus(p)``, stable for any p;
    otherwise ``-(y·log p + (1 - y)·log(1 - p))`` for probabilities p.

    >>> binary_cross_entropy(Tensor([0.0, 0.0]), Tensor([0.0, 1.0]))
    Tensor(0.6931, device=cpu0)
    """
    _check_broadcast("binary_cross_entropy", pred, label)
    if with_logits:
        loss = add(mul(label, softplus(neg(pred))), mul(sub(1, label), softplus(pred)))
    else:
        loss = neg(add(mul(label, log(pred)), mul(sub(1, label), log(sub(1, pred)))))
    return _reduce(loss, reduction, "binary_cross_entropy")


def hinge_loss(pred, label, norm: str = "L1", reduction: str = "mean") -> Tensor:
    """Hinge loss for (N, C) scores and ±1 labels: Σ_c max(0, 1 - pred·label) per sample.

    ``norm="L2"`` squares each term first.

    >>> hinge_loss(Tensor([[0.5, -2.0]]), Tensor([[1.0, -1.0]]))
    Tensor(0.5, device=cpu0)
    """
    check.one_of("hinge_loss", "norm", norm, ("L1", "L2"))
    if np.shape(pred) != np.shape(label) or np.ndim(pred) != 2:
        raise ValueError(f"hinge_loss: pred and label must both be (N, C), got shapes "
                         f"{np.shape(pred)} and {np.shape(label)}")
    margin = relu(1 - mul(pred, label))
    per_sample = sum(margin if norm == "L1" else mul(margin, margin), axis=1)
    return _reduce(per_sample, reduction, "hinge_loss")
