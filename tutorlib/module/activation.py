"""Activation layers: ``ReLU``, ``Sigmoid``, ``LeakyReLU``, ``GELU``, ``SiLU``, ``Softmax``.

>>> from tutorlib import Tensor
>>> ReLU()(Tensor([-1.0, 2.0]))
Tensor([0. 2.], device=cpu0)
>>> LeakyReLU(0.1)(Tensor([-1.0, 2.0]))
Tensor([-0.1  2. ], device=cpu0)
"""
from __future__ import annotations

from .. import _validate as check
from ..functional.nn import gelu, leaky_relu, relu, sigmoid, silu, softmax
from .module import Module


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x):
        return relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x):
        return sigmoid(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope·x."""

    def __init__(self, negative_slope: float = 0.01, name: str | None = None):
        super().__init__(name)
        self.negative_slope = check.real("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)

    def _module_info_string(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """x·Φ(x), Φ the standard normal CDF (exact, not the tanh approximation)."""

    def forward(self, x):
        return gelu(x)


class SiLU(Module):
    """x·sigmoid(x)."""

    def forward(self, x):
        return silu(x)


class Softmax(Module):
    """softmax along ``axis`` (default: 0 for 0-, 1- and 3-D input, else 1).

    >>> from tutorlib import Tensor
    >>> Softmax()(Tensor([[0.0, 0.0]]))
    Tensor([[0.5 0.5]], device=cpu0)
    """

    def __init__(self, axis=None, name: str | None = None):
        super().__init__(name)
        self.axis = axis

    def forward(self, x):
        return softmax(x, self.axis)

    def _module_info_string(self) -> str:
        return f"axis={self.axis}"
