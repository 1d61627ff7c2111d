"""``Adagrad``: per-entry step sizes shrinking with the sum of squared gradients.

>>> import tutorlib as tl
>>> w = tl.Parameter([1.0]); w.grad = tl.Tensor([2.0])
>>> _ = Adagrad([w], lr=0.1).step()
>>> w.numpy()   # 1 - 0.1·2/√(4 + 1e-10)
array([0.9], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """g ← g + wd·p; t ← t+1; s ← s + g²; p ← p − lr/(1+(t−1)·lr_decay) · g/√(s + eps).

    As in MegEngine, ``eps`` is **inside** the square root (PyTorch adds it outside).
    """

    def __init__(self, params, lr: float = 0.01, lr_decay: float = 0.0, eps: float = 1e-10,
                 weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay})

    def _check_group(self, group: dict) -> None:
        for name in ("lr", "lr_decay", "weight_decay"):
            check.real("Adagrad", name, group[name], low=0.0)
        check.real("Adagrad", "eps", group["eps"], low=0.0)

    def _create_state(self, param) -> dict:
        return {"square_avg": np.zeros_like(param._data), "step": 0}

    def _update(self, group: dict) -> None:
        eps = np.float32(group["eps"])
        for p, g in self._grads(group):
            state = self._state[id(p)]
            state["step"] += 1
            s = state["square_avg"] + g * g
            state["square_avg"] = s
            clr = np.float32(group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"]))
            p._data = p._data - clr * g / np.sqrt(s + eps)
