"""Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

>>> import tutorlib as tl
>>> w = tl.Parameter(3.0)
>>> w.grad = tl.Tensor(2.0)
>>> _ = SGD([w], lr=0.01).step().clear_grad()
>>> w, w.grad
(Parameter(2.98, device=cpu0), None)
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from .optimizer import Optimizer, required


class SGD(Optimizer):
    """g ← g + wd·p; with momentum m: v ← m·v + g, then g ← g + m·v (Nesterov) or g ← v;
    finally p ← p − lr·g. ``lr`` is required. The momentum buffer v starts at 0 (created at the
    first step of a group with momentum).
    """

    def __init__(self, params, lr: float = required, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov,
                                      "weight_decay": weight_decay})

    def _check_group(self, group: dict) -> None:
        check.real("SGD", "lr", group["lr"], low=0.0)
        check.real("SGD", "momentum", group["momentum"], low=0.0)
        check.real("SGD", "weight_decay", group["weight_decay"], low=0.0)
        if group["nesterov"] and group["momentum"] <= 0:
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0")

    def _update(self, group: dict) -> None:
        lr = np.float32(group["lr"])
        m = np.float32(group["momentum"])
        for p, g in self._grads(group):
            if m:
                state = self._state[id(p)]
                v = state.get("momentum_buffer")
                v = g if v is None else m * v + g  # v starts at 0, so its first value is g
                state["momentum_buffer"] = v
                g = g + m * v if group["nesterov"] else v
            p._data = p._data - lr * g
