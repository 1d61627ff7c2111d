"""``QuantStub`` and ``DequantStub``: where a model's quantized part begins and ends.

In a float model both are the identity. ``quantize_qat`` gives ``QuantStub`` an observer (the
scale of the model's input) and ``quantize`` turns it into "float → int8" and ``DequantStub``
into "int8 → float" (MegEngine).

>>> from tutorlib import Tensor
>>> QuantStub()(Tensor([1.5]))
Tensor([1.5], device=cpu0)
"""
from __future__ import annotations

from .module import Module


class QuantStub(Module):
    """Marks the entry of the quantized region (identity in float)."""

    def forward(self, x):
        return x


class DequantStub(Module):
    """Marks the exit of the quantized region (identity in float)."""

    def forward(self, x):
        return x
