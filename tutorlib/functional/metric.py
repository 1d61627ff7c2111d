"""Metrics: :func:`topk_accuracy` (also ``F.topk_accuracy`` and ``F.nn.topk_accuracy``)."""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from ..tensor import Tensor

__all__ = ["topk_accuracy"]


def topk_accuracy(logits, target, topk=1):
    """Fraction of samples whose target class is among the ``topk`` highest scores.

    ``logits`` is (N, C) and ``target`` (N,) integer classes. Returns a Python float, or a
    tuple of floats when ``topk`` is a tuple.

    >>> logits = Tensor([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]])
    >>> topk_accuracy(logits, Tensor([2, 0]), topk=(1, 2))
    (0.5, 1.0)
    """
    scores = logits._data if isinstance(logits, Tensor) else np.asarray(logits)
    labels = target._data if isinstance(target, Tensor) else np.asarray(target)
    if scores.ndim != 2 or labels.shape != scores.shape[:1]:
        raise ValueError(f"topk_accuracy: expected logits (N, C) and target (N,), got shapes "
                         f"{scores.shape} and {labels.shape}")
    n, classes = scores.shape
    if n == 0:
        raise ValueError("topk_accuracy: the batch is empty (logits of shape "
                         f"{scores.shape}); accuracy over 0 samples is undefined")
    ks = topk if isinstance(topk, tuple) else (topk,)
    for k in ks:
        if check.positive_int("topk_accuracy", "topk", k) > classes:
            raise ValueError(f"topk_accuracy: topk={k} is more than the {classes} classes of "
                             f"logits {scores.shape} (every sample would count as a hit)")
    order = np.argsort(-scores, axis=1, kind="stable")
    hits = order == labels[:, None]             # hits[i, r]: sample i's target has rank r
    accs = tuple(float(hits[:, :k].any(axis=1).mean()) for k in ks)
    return accs if isinstance(topk, tuple) else accs[0]
