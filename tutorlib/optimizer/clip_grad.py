"""Gradient clipping: ``clip_grad_norm`` (rescale to a maximum norm) and ``clip_grad_value``.

Both replace ``t.grad`` with a new Tensor; gradient arrays are never changed in place.

>>> import tutorlib as tl
>>> w = tl.Parameter([0.0, 0.0]); w.grad = tl.Tensor([3.0, 4.0])
>>> clip_grad_norm([w], max_norm=1.0)
Tensor(5.0, device=cpu0)
>>> w.grad.numpy().round(4)
array([0.6, 0.8], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from ..tensor import Tensor


def _with_grads(tensors) -> list:
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    return [t for t in tensors if t.grad is not None]


def _norm(array: np.ndarray, ord: float) -> np.float32:
    a = np.abs(array.ravel())
    if ord == np.inf:
        return np.float32(a.max(initial=0.0))
    return np.float32(np.sum(a.astype(np.float32) ** np.float32(ord)) ** (1.0 / ord))


def clip_grad_norm(tensors, max_norm: float, ord: float = 2.0) -> Tensor:
    """Scale all gradients by min(1, max_norm / (total_norm + 1e-6)); return the total norm.

    The total norm is the ``ord``-norm of all gradients taken together (``ord`` may be inf).
    """
    check.real("clip_grad_norm", "max_norm", max_norm, low=0.0, low_open=True)
    if ord != np.inf:
        check.real("clip_grad_norm", "ord", ord, low=0.0, low_open=True)
    tensors = _with_grads(tensors)
    if not tensors:
        return Tensor(0.0)
    total = _norm(np.array([_norm(t.grad._data, ord) for t in tensors]), ord)
    scale = np.float32(min(1.0, max_norm / (float(total) + 1e-6)))
    for t in tensors:
        t.grad = Tensor._wrap(t.grad._data * scale, t.grad.device)
    return Tensor(total)


def clip_grad_value(tensors, lower: float, upper: float) -> None:
    """Clip every gradient entry into [lower, upper].

    >>> import tutorlib as tl
    >>> w = tl.Parameter([0.0, 0.0]); w.grad = tl.Tensor([-3.0, 0.5])
    >>> clip_grad_value([w], -1.0, 1.0); w.grad
    Tensor([-1.   0.5], device=cpu0)
    """
    lower = check.real("clip_grad_value", "lower", lower)
    if check.real("clip_grad_value", "upper", upper) < lower:
        raise ValueError(f"clip_grad_value: lower {lower} is above upper {upper}")
    for t in _with_grads(tensors):
        t.grad = Tensor._wrap(np.clip(t.grad._data, lower, upper).astype(t.grad.dtype), t.grad.device)
