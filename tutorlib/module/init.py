"""Parameter initialisation, in place (as ``megengine.module.init``).

Every function replaces the tensor's values and keeps its shape and dtype. Randomness comes
from :func:`tutorlib.random.generator`, so ``tutorlib.random.seed(n)`` makes models repeatable.

>>> import numpy as np
>>> from tutorlib import Parameter, random
>>> w = Parameter(np.zeros((256, 128)))
>>> random.seed(0)
>>> xavier_uniform_(w)
>>> bound = np.sqrt(6 / (128 + 256))
>>> bool(np.abs(w.numpy()).max() <= bound)
True
"""
from __future__ import annotations

import math

import numpy as np

from ..random import generator
from ..tensor import Tensor


def _set(tensor: Tensor, values) -> None:
    tensor._data = np.asarray(values).astype(tensor.dtype, copy=False).reshape(tensor.shape)


def fill_(tensor: Tensor, val) -> None:
    """Set every element to ``val``.

    >>> t = Tensor([1.0, 2.0]); fill_(t, 7); t
    Tensor([7. 7.], device=cpu0)
    """
    _set(tensor, np.full(tensor.shape, val))


def zeros_(tensor: Tensor) -> None:
    """Set every element to 0."""
    fill_(tensor, 0)


def ones_(tensor: Tensor) -> None:
    """Set every element to 1."""
    fill_(tensor, 1)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> None:
    """Fill with samples from U[a, b).

    >>> t = Tensor(np.zeros(1000)); uniform_(t, -1, 1)
    >>> bool(t.numpy().min() >= -1 and t.numpy().max() < 1)
    True
    """
    _set(tensor, generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> None:
    """Fill with samples from N(mean, std²).

    >>> t = Tensor(np.zeros(10000)); normal_(t, 3.0, 0.5)
    >>> round(float(t.numpy().mean()), 1), round(float(t.numpy().std()), 1)
    (3.0, 0.5)
    """
    _set(tensor, generator().normal(mean, std, tensor.shape))


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity: linear/conv/sigmoid 1, tanh 5/3, relu √2,
    leaky_relu √(2/(1+slope²)) with slope ``param`` (0.01 by default).

    >>> calculate_gain("relu") == math.sqrt(2)
    True
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple:
    """(fan_in, fan_out): (in, out) for a Linear weight (out, in); I·k·k and O·k·k for a conv
    weight (O, I, kh, kw); for a grouped conv weight (G, O/G, I/G, kh, kw), (I/G·k·k, O/G·k·k).

    >>> calculate_fan_in_and_fan_out(Tensor(np.zeros((6, 3, 5, 5))))
    (75, 150)
    """
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"calculate_fan_in_and_fan_out: needs at least 2 dimensions, got shape {shape}")
    if len(shape) == 5:   # grouped conv: (groups, out/groups, in/groups, kh, kw)
        shape = shape[1:]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    """fan_in or fan_out of ``tensor``, chosen by ``mode``."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> None:
    """U(-a, a) with a = gain·√(6/(fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    uniform_(tensor, -a, a)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> None:
    """N(0, std²) with std = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def msra_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                  nonlinearity: str = "leaky_relu") -> None:
    """U(-bound, bound) with bound = √3·gain/√fan (He et al., 2015); ``a`` is the leaky slope.

    >>> t = Tensor(np.zeros((64, 32))); msra_uniform_(t)
    >>> bool(np.abs(t.numpy()).max() <= math.sqrt(3) * calculate_gain("leaky_relu", 0) / math.sqrt(32))
    True
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(calculate_correct_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    uniform_(tensor, -bound, bound)


def msra_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                 nonlinearity: str = "leaky_relu") -> None:
    """N(0, std²) with std = gain/√fan (He et al., 2015); ``a`` is the leaky slope."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(calculate_correct_fan(tensor, mode))
    normal_(tensor, 0.0, std)
