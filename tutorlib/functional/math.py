"""Reductions, matrix products, sorting and norms (``F.sum``, ``F.matmul``, ``F.argmax``, ...).

>>> import tutorlib.functional as F
>>> from tutorlib import Tensor
>>> x = Tensor([[1.0, 5.0], [3.0, 2.0]])
>>> F.sum(x, axis=1), F.argmax(x, axis=1)
(Tensor([6. 5.], device=cpu0), Tensor([1 0], dtype=int32, device=cpu0))
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from ..ops import reduce as red
from ..ops.core import apply
from ..ops.linalg import Matmul
from ..tensor import Tensor
from .elemwise import div, mul, sqrt, sub, maximum

__all__ = ["sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "argmax", "argmin",
           "matmul", "dot", "norm", "normalize", "sort", "argsort", "topk", "cumsum"]


def sum(inp, axis=None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (an int, a sequence, or ``None`` for all).

    >>> sum(Tensor([[1, 2], [3, 4]]))
    Tensor(10, dtype=int32, device=cpu0)
    """
    return apply(red.Sum(axis, keepdims), inp)


def mean(inp, axis=None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``.

    >>> mean(Tensor([1, 2, 3, 4]))
    Tensor(2.5, device=cpu0)
    """
    return apply(red.Mean(axis, keepdims), inp)


def max(inp, axis=None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``.

    >>> max(Tensor([[1.0, 5.0], [3.0, 2.0]]), axis=0)
    Tensor([3. 5.], device=cpu0)
    """
    return apply(red.Max(axis, keepdims), inp)


def min(inp, axis=None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``.

    >>> min(Tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1)
    Tensor([1. 2.], device=cpu0)
    """
    return apply(red.Min(axis, keepdims), inp)


def prod(inp, axis=None, keepdims: bool = False) -> Tensor:
    """Product over ``axis``.

    >>> prod(Tensor([1.0, 2.0, 3.0, 4.0]))
    Tensor(24.0, device=cpu0)
    """
    return apply(red.Prod(axis, keepdims), inp)


def var(inp, axis=None, keepdims: bool = False) -> Tensor:
    """Variance over ``axis`` (divides by N, as MegEngine).

    >>> var(Tensor([1.0, 2.0, 3.0, 4.0]))
    Tensor(1.25, device=cpu0)
    """
    d = sub(inp, mean(inp, axis, keepdims=True))
    return mean(mul(d, d), axis, keepdims)


def std(inp, axis=None, keepdims: bool = False) -> Tensor:
    """Standard deviation over ``axis`` (divides by N).

    >>> std(Tensor([1.0, 2.0, 3.0, 4.0]))
    Tensor(1.118034, device=cpu0)
    """
    return sqrt(var(inp, axis, keepdims))


def logsumexp(inp, axis, keepdims: bool = False) -> Tensor:
    """log Σ exp(x) over ``axis``, computed stably.

    >>> logsumexp(Tensor([1000.0, 1000.0]), axis=0)
    Tensor(1000.6932, device=cpu0)
    """
    return apply(red.LogSumExp(axis, keepdims), inp)


def _index_reduce(fn, name, inp, axis, keepdims):
    data = inp._data if isinstance(inp, Tensor) else np.asarray(inp)
    if data.size == 0:
        raise ValueError(f"{name}: cannot reduce an empty tensor of shape {data.shape}")
    if axis is None:
        out = np.asarray(fn(data))
        if keepdims:
            out = out.reshape((1,) * data.ndim)
    else:
        red.normalize_axis(axis, data.ndim, name)
        out = fn(data, axis=axis, keepdims=keepdims)
    return Tensor(out.astype(np.int32), device=getattr(inp, "device", None))


def argmax(inp, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the maximum (int32); over all elements when ``axis`` is None.

    >>> argmax(Tensor([[1, 9], [8, 2]]), axis=1)
    Tensor([1 0], dtype=int32, device=cpu0)
    """
    return _index_reduce(np.argmax, "argmax", inp, axis, keepdims)


def argmin(inp, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the minimum (int32); over all elements when ``axis`` is None.

    >>> argmin(Tensor([[1, 9], [8, 2]]), axis=1)
    Tensor([0 1], dtype=int32, device=cpu0)
    """
    return _index_reduce(np.argmin, "argmin", inp, axis, keepdims)


def matmul(inp1, inp2, transpose_a: bool = False, transpose_b: bool = False) -> Tensor:
    """Matrix product; vectors and batches follow numpy's ``matmul`` rules.

    >>> matmul(Tensor([[1.0, 2.0]]), Tensor([[3.0], [4.0]]))
    Tensor([[11.]], device=cpu0)
    """
    return apply(Matmul(transpose_a, transpose_b), inp1, inp2)


def dot(inp1, inp2) -> Tensor:
    """Inner product of two vectors.

    >>> dot(Tensor([1.0, 2.0]), Tensor([3.0, 4.0]))
    Tensor(11.0, device=cpu0)
    """
    for t in (inp1, inp2):
        if np.ndim(t) != 1:
            raise ValueError(f"dot: expects two vectors, got shapes {np.shape(inp1)} and {np.shape(inp2)}")
    return apply(Matmul(), inp1, inp2)


def norm(inp, ord=None, axis=None, keepdims: bool = False) -> Tensor:
    """Vector p-norm (default 2) over ``axis`` (all elements when None).

    >>> norm(Tensor([3.0, 4.0]))
    Tensor(5.0, device=cpu0)
    """
    p = 2 if ord is None else ord
    if p != float("inf"):
        p = check.real("norm", "ord", p, low=0.0, low_open=True)
    if p == 2:
        return sqrt(sum(mul(inp, inp), axis, keepdims))
    if p == 1:
        from .elemwise import abs as _abs
        return sum(_abs(inp), axis, keepdims)
    if p == float("inf"):
        from .elemwise import abs as _abs
        return max(_abs(inp), axis, keepdims)
    from .elemwise import abs as _abs, pow as _pow
    return _pow(sum(_pow(_abs(inp), p), axis, keepdims), 1.0 / p)


def normalize(inp, ord=None, axis=None, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖, eps) along ``axis``.

    >>> normalize(Tensor([3.0, 4.0]))
    Tensor([0.6 0.8], device=cpu0)
    """
    check.real("normalize", "eps", eps, low=0.0)
    return div(inp, maximum(norm(inp, ord, axis, keepdims=True), eps))


def sort(inp, descending: bool = False):
    """Sort each row of a 1-D/2-D tensor along the last axis; returns ``(values, int32 indices)``.

    >>> sort(Tensor([3.0, 1.0, 2.0]))
    (Tensor([1. 2. 3.], device=cpu0), Tensor([1 2 0], dtype=int32, device=cpu0))
    """
    idx = argsort(inp, descending)
    from .tensor import gather
    return gather(inp, -1, idx), idx


def argsort(inp, descending: bool = False) -> Tensor:
    """Indices (int32) that sort the last axis.

    >>> argsort(Tensor([3.0, 1.0, 2.0]))
    Tensor([1 2 0], dtype=int32, device=cpu0)
    """
    data = inp._data if isinstance(inp, Tensor) else np.asarray(inp)
    idx = np.argsort(-data if descending else data, axis=-1, kind="stable")
    return Tensor(idx.astype(np.int32))


def topk(inp, k: int, descending: bool = True, kth_only: bool = False, no_sort: bool = False):
    """The ``k`` largest (``descending=True``, MegEngine ≥ 1.12's default) entries per row.

    Returns ``(values, int32 indices)``; with ``kth_only`` only the k-th value and its index.

    >>> topk(Tensor([1.0, 5.0, 3.0, 4.0]), 2)
    (Tensor([5. 4.], device=cpu0), Tensor([1 3], dtype=int32, device=cpu0))
    """
    data = inp._data if isinstance(inp, Tensor) else np.asarray(inp)
    n = data.shape[-1] if data.ndim else 0
    check.integer("topk", "k", k)
    if not 1 <= k <= n:
        raise ValueError(f"topk: k={k} must be between 1 and {n} (input shape {data.shape})")
    idx = argsort(inp, descending)._data[..., :k]
    from .tensor import gather
    if kth_only:
        idx = idx[..., k - 1:k]
        vals = gather(inp, -1, Tensor(idx))
        return vals.reshape(vals.shape[:-1]), Tensor(idx[..., 0])
    return gather(inp, -1, Tensor(idx)), Tensor(idx)


def cumsum(inp, axis: int) -> Tensor:
    """Cumulative sum along ``axis``; the gradient is the reversed cumulative sum.

    >>> cumsum(Tensor([[1, 2], [3, 4]]), axis=1)
    Tensor([[1 3]
     [3 7]], dtype=int32, device=cpu0)
    """
    from ..ops.reduce import CumSum
    return apply(CumSum(axis), inp)
