"""``Adam`` (L2 weight decay added to the gradient) and ``AdamW`` (decoupled weight decay).

>>> import numpy as np, tutorlib as tl
>>> w = tl.Parameter([1.0, -1.0])
>>> w.grad = tl.Tensor([0.5, -2.0])
>>> _ = Adam([w], lr=0.1).step()
>>> w.numpy()   # the first Adam step moves every entry by about lr against its gradient's sign
array([ 0.9, -0.9], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from .optimizer import Optimizer, required


class Adam(Optimizer):
    """g ← g + wd·p; t ← t+1; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
    p ← p − lr · (m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + eps).
    """

    _decoupled = False

    def __init__(self, params, lr: float = required, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    def _check_group(self, group: dict) -> None:
        op = type(self).__name__
        check.real(op, "lr", group["lr"], low=0.0)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{op}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):
            check.real(op, f"betas[{i}]", b, low=0.0, high=1.0, high_open=True)
        group["betas"] = tuple(betas)
        check.real(op, "eps", group["eps"], low=0.0)
        check.real(op, "weight_decay", group["weight_decay"], low=0.0)

    def _create_state(self, param) -> dict:
        return {"exp_avg": np.zeros_like(param._data), "exp_avg_sq": np.zeros_like(param._data),
                "step": 0}

    def _update(self, group: dict) -> None:
        lr, eps, wd = (np.float32(group[k]) for k in ("lr", "eps", "weight_decay"))
        b1, b2 = (np.float32(b) for b in group["betas"])
        for p, g in self._grads(group, l2=not self._decoupled):
            state = self._state[id(p)]
            state["step"] += 1
            t = state["step"]
            m = b1 * state["exp_avg"] + (1 - b1) * g
            v = b2 * state["exp_avg_sq"] + (1 - b2) * (g * g)
            state["exp_avg"], state["exp_avg_sq"] = m, v
            c1 = np.float32(1 - float(b1) ** t)
            c2 = np.float32(1 - float(b2) ** t)
            delta = (m / c1) / (np.sqrt(v / c2) + eps)
            if wd and self._decoupled:
                delta = delta + wd * p._data
            p._data = p._data - lr * delta


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p − lr·(m̂/(√v̂ + eps) + wd·p); wd defaults to 0.01.

    >>> import tutorlib as tl
    >>> w = tl.Parameter([1.0]); w.grad = tl.Tensor([0.0])
    >>> _ = AdamW([w], lr=0.1, weight_decay=0.5).step()
    >>> w.numpy()   # only the decay acts: 1 - 0.1·0.5·1
    array([0.95], dtype=float32)
    """

    _decoupled = True

    def __init__(self, params, lr: float = required, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr, betas, eps, weight_decay)
