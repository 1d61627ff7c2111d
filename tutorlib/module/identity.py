"""``Identity`` (returns a copy of its input) and ``Flatten``.

``Flatten`` is a **tutorlib addition**: MegEngine has no ``M.Flatten`` (models call
``F.flatten(x, 1)`` in ``forward``), but a flatten layer lets small models be written as one
``Sequential``.

>>> import numpy as np
>>> from tutorlib import Tensor
>>> Flatten()(Tensor(np.zeros((8, 16, 5, 5)))).shape
(8, 400)
>>> Identity()(Tensor([1.0]))
Tensor([1.], device=cpu0)
"""
from __future__ import annotations

from .. import _validate as check
from ..functional.tensor import copy, flatten
from .module import Module


class Identity(Module):
    """Returns ``F.copy(x)``."""

    def forward(self, x):
        return copy(x)


class Flatten(Module):
    """Merge axes ``start_axis..end_axis`` (by default all but the batch axis)."""

    def __init__(self, start_axis: int = 1, end_axis: int = -1, name: str | None = None):
        super().__init__(name)
        self.start_axis = check.integer("Flatten", "start_axis", start_axis)
        self.end_axis = check.integer("Flatten", "end_axis", end_axis)

    def forward(self, x):
        return flatten(x, self.start_axis, self.end_axis)

    def _module_info_string(self) -> str:
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"
