"""Optimizers, ``import tutorlib.optimizer as optim`` (as ``megengine.optimizer``).

>>> import tutorlib as tl
>>> import tutorlib.optimizer as optim
>>> w, b = tl.Parameter(3.0), tl.Parameter(-1.0)
>>> gm = tl.GradManager().attach([w, b])
>>> with gm:
...     gm.backward(w * 2.0 + b)
>>> _ = optim.SGD([w, b], lr=0.01).step().clear_grad()
>>> w, w.grad
(Parameter(2.98, device=cpu0), None)
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip_grad import clip_grad_norm, clip_grad_value
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "clip_grad_norm", "clip_grad_value",
           "lr_scheduler"]
