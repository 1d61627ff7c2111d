"""``Elemwise``: an elementwise op as a module, so that quantization can give it an output scale.

A residual ``x + f(x)`` written with ``+`` cannot be quantized: the sum needs its own observer
and, once integer, its own requantisation. ``M.Elemwise("FUSE_ADD_RELU")`` is that sum (with
the ReLU fused) as a module (MegEngine).

>>> from tutorlib import Tensor
>>> Elemwise("FUSE_ADD_RELU")(Tensor([1.0, -3.0]), Tensor([1.0, 1.0]))
Tensor([2. 0.], device=cpu0)
"""
from __future__ import annotations

from .._validate import one_of
from ..functional.elemwise import relu
from .module import Module

METHODS = {
    "ADD": lambda a, b: a + b,
    "SUB": lambda a, b: a - b,
    "MUL": lambda a, b: a * b,
    "FUSE_ADD_RELU": lambda a, b: relu(a + b),
}


class Elemwise(Module):
    """``method`` is "ADD", "SUB", "MUL" or "FUSE_ADD_RELU"; forward takes the two operands."""

    def __init__(self, method: str, name: str | None = None):
        super().__init__(name)
        method = method.upper() if isinstance(method, str) else method
        self.method = one_of("Elemwise", "method", method, tuple(METHODS))

    def forward(self, a, b):
        return METHODS[self.method](a, b)

    def _module_info_string(self) -> str:
        return repr(self.method)
