"""The op contract and the single place where ops run: :func:`apply`.

An :class:`Op` is a primitive with its forward and backward side by side. ``forward`` takes
numpy arrays and returns one numpy array, stashing on ``self`` whatever backward needs.
``backward(g)`` receives the gradient of the output and returns one gradient per input (or
``None``). Gradients may have the broadcast shape; the autodiff engine sums them back to each
input's shape, so binary ops need not care about broadcasting.

>>> import numpy as np
>>> from tutorlib import Tensor
>>> class Square(Op):
...     '''y = x**2, so dy/dx = 2x.'''
...     def forward(self, x):
...         self.x = x
...         return x * x
...     def backward(self, g):
...         return (2 * self.x * g,)
>>> apply(Square(), Tensor([1.0, 3.0]))
Tensor([1. 9.], device=cpu0)
"""
from __future__ import annotations

import re

import numpy as np

from ..autodiff import anomaly, graph
from ..device import CPU
from ..dtype import canonical
from ..tensor import Tensor


class Op:
    """Base class of primitive ops. Subclasses define ``forward`` and ``backward``.

    Before ``backward`` runs, the engine sets ``needs_input_grad`` (one bool per input), so an
    op may skip work for inputs nobody differentiates (returning ``None`` for them).
    """

    name = "op"
    needs_input_grad: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def backward(self, grad: np.ndarray) -> tuple:
        raise RuntimeError(f"{self.name} is not differentiable")

    def __repr__(self) -> str:
        return self.name


def _constant(value, what: str) -> np.ndarray | int | float | bool:
    """Python scalars stay Python scalars (numpy then keeps the tensor's dtype); the rest become arrays."""
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, np.ndarray):
        return canonical(value, what)
    return canonical(np.asarray(value), what)


def _input_error(op: Op, arrays: list, error: Exception) -> Exception:
    """The clear error for a Python number where the op needs an array, or a number too large for
    the tensor's dtype (e.g. ``uint8_tensor + 300``); any other error is passed on unchanged."""
    if isinstance(error, OverflowError):
        return ValueError(f"{op.name}: {error}")
    if any(type(a) is not np.ndarray for a in arrays):
        kinds = ", ".join(type(a).__name__ if type(a) is not np.ndarray else "array" for a in arrays)
        return TypeError(f"{op.name}: expected tensors, got ({kinds})")
    return error


def apply(op: Op, *inputs) -> Tensor:
    """Run ``op`` on ``inputs`` (Tensors, arrays or numbers) and return the result as a Tensor.

    This is the one place that (1) unwraps tensors, (2) lets the inputs' device run the op,
    (3) applies the dtype policy and (4) records the op for autodiff when a GradManager is
    recording and an input is tracked.
    """
    arrays = []
    device = None
    tracked = False
    for x in inputs:
        if isinstance(x, Tensor):
            arrays.append(x._data)
            if device is None:
                device = x._device
            elif x._device is not device:
                raise ValueError(f"{op.name}: inputs are on different devices ({device} and {x._device})")
            if x._node is not None or x._tracked:
                tracked = True
        else:
            arrays.append(_constant(x, op.name))
    device = device or CPU
    try:
        out = device.run(op, arrays)
    except (AttributeError, OverflowError) as e:     # costs nothing unless raised
        raise _input_error(op, arrays, e) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    out = canonical(out, op.name)
    if anomaly.active:      # opt-in NaN/Inf check, see tutorlib.autodiff.detect_anomaly
        anomaly.check_forward(op, arrays, out)
    result = Tensor._wrap(out, device)
    if tracked and graph.recording:
        graph.record(op, inputs, result)
    return result


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``.

    >>> unbroadcast(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    >>> unbroadcast(np.ones((2, 3)), (2, 1)).shape
    (2, 1)
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=axes).reshape(shape)
