"""Fused softmax cross-entropy on (M, C) logits with integer labels, with label smoothing.

Per row x (C logits), label y and smoothing ls (MegEngine's formula)::

    logZ = max(x) + log(sum(exp(x - max(x))))          stable log-sum-exp
    loss = logZ - ls * mean(x) - (1 - ls) * x[y]
    dloss/dx = softmax(x) - ls / C - (1 - ls) * onehot(y)

Forward keeps softmax(x) for backward, so backward is a single pass. The rows are short (C is
the number of classes), so a plain serial loop beats any parallel launch; sums are float64.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def softmax_cross_entropy_forward(x, labels, ls):
    """Per-row losses (M,) and the softmax probabilities (M, C) of logits ``x``.

    >>> loss, p = softmax_cross_entropy_forward(np.zeros((1, 4), np.float32),
    ...                                         np.array([2], np.int32), 0.0)
    >>> loss, p
    (array([1.3862944], dtype=float32), array([[0.25, 0.25, 0.25, 0.25]], dtype=float32))
    """
    M, C = x.shape
    loss = np.empty(M, np.float32)
    prob = np.empty((M, C), np.float32)
    for r in range(M):
        mx = x[r, 0]
        for j in range(1, C):
            mx = max(mx, x[r, j])
        s = 0.0
        total = 0.0
        for j in range(C):
            e = np.exp(np.float64(x[r, j]) - mx)
            prob[r, j] = e
            s += e
            total += x[r, j]
        for j in range(C):
            prob[r, j] = prob[r, j] / s
        log_z = mx + np.log(s)
        loss[r] = log_z - ls * total / C - (1.0 - ls) * x[r, labels[r]]
    return loss, prob


@njit(cache=True)
def softmax_cross_entropy_backward(prob, labels, ls, g):
    """d(sum_r g[r] * loss[r]) / dx from the stored probabilities ``prob`` (M, C).

    >>> p = np.full((1, 4), 0.25, np.float32)
    >>> softmax_cross_entropy_backward(p, np.array([2], np.int32), 0.0, np.ones(1, np.float32))
    array([[ 0.25,  0.25, -0.75,  0.25]], dtype=float32)
    """
    M, C = prob.shape
    dx = np.empty((M, C), np.float32)
    for r in range(M):
        off = ls / C
        for j in range(C):
            dx[r, j] = (prob[r, j] - off) * g[r]
        dx[r, labels[r]] -= (1.0 - ls) * g[r]
    return dx
