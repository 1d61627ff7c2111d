"""``Linear``: y = x Wᵀ + b.

>>> import numpy as np
>>> from tutorlib import Tensor
>>> fc = Linear(784, 10)
>>> fc.weight.shape, fc.bias.shape
((10, 784), (10,))
>>> fc(Tensor(np.ones((2, 784)))).shape
(2, 10)
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validate as check
from ..functional.nn import linear
from ..tensor import Parameter
from . import init
from .module import Module


class Linear(Module):
    """A fully connected layer: weight (out, in) ~ N(0, 1/in_features), bias (out,) zeros."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 compute_mode: str = "default", name: str | None = None):
        super().__init__(name)
        self.in_features = check.positive_int("Linear", "in_features", in_features)
        self.out_features = check.positive_int("Linear", "out_features", out_features)
        self.compute_mode = compute_mode
        self.weight = Parameter(np.zeros((out_features, in_features), np.float32))
        self.bias = Parameter(np.zeros(out_features, np.float32)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """MegEngine's default: weight ~ N(0, std=√(1/in_features)), bias zeros."""
        init.normal_(self.weight, 0.0, math.sqrt(1.0 / self.in_features))
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def _module_info_string(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
