"""``Dropout``: zero entries with probability ``drop_prob`` while training.

>>> import numpy as np
>>> from tutorlib import Tensor
>>> d = Dropout(0.5)
>>> d.eval()
>>> d(Tensor(np.ones(3)))
Tensor([1. 1. 1.], device=cpu0)
"""
from __future__ import annotations

from .. import _validate as check
from ..functional.nn import dropout
from .module import Module


class Dropout(Module):
    """Inverted dropout (kept values scaled by 1/(1 - drop_prob)); identity in eval mode."""

    def __init__(self, drop_prob: float = 0.0, name: str | None = None):
        super().__init__(name)
        self.drop_prob = check.real("Dropout", "drop_prob", drop_prob, low=0.0, high=1.0,
                                    high_open=True)

    def forward(self, x):
        return dropout(x, self.drop_prob, training=self.training)

    def _module_info_string(self) -> str:
        return f"drop_prob={self.drop_prob}"
