"""``GradManager``: choose what to differentiate, record, then backpropagate.

>>> import tutorlib as tl
>>> w, b = tl.Parameter(3.0), tl.Parameter(-1.0)
>>> x = tl.Tensor(2.0)
>>> gm = GradManager().attach([w, b])
>>> with gm:
...     y = w * x + b
...     gm.backward(y)
>>> w.grad, b.grad
(Tensor(2.0, device=cpu0), Tensor(1.0, device=cpu0))
"""
from __future__ import annotations

import weakref

import numpy as np

from ..tensor import Tensor
from . import graph


class GradManager:
    """Records the ops applied to attached tensors and computes their gradients.

    Only computations that happen *after* ``attach`` and *while recording* are
    differentiated. Gradients **accumulate** into ``tensor.grad`` (clear them with the
    optimizer's ``clear_grad()``), and ``backward`` ends the recording.
    """

    def __init__(self):
        self._attached: dict[int, tuple] = {}   # id -> (weakref to tensor, [callbacks])
        self._recording = False
        self._tape: list = []

    def attach(self, tensors, callbacks=None) -> "GradManager":
        """Mark ``tensors`` (one Tensor or an iterable) for differentiation; returns ``self``.

        ``callbacks`` (a function or a list) are called as ``cb(tensor, grad) -> grad``
        before the gradient is accumulated.
        """
        if isinstance(tensors, Tensor):
            tensors = [tensors]
        if callbacks is None:
            callbacks = []
        elif callable(callbacks):
            callbacks = [callbacks]
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"attach: expected Tensors, got {type(t).__name__}")
            entry = self._attached.get(id(t))
            if entry is None or entry[0]() is not t:
                self._attached[id(t)] = (weakref.ref(t), list(callbacks))
                if self._recording:
                    t._tracked += 1
            else:
                entry[1].extend(callbacks)
        return self

    def attached_tensors(self) -> list:
        """The attached tensors that are still alive."""
        return [t for t in (ref() for ref, _ in self._attached.values()) if t is not None]

    @property
    def is_recording(self) -> bool:
        """True between ``record()`` and ``release()``."""
        return self._recording

    def record(self) -> None:
        """Start recording ops on attached tensors."""
        if self._recording:
            raise RuntimeError("already recording")
        self._recording = True
        graph.recording.append(self)
        for t in self.attached_tensors():
            t._tracked += 1

    def release(self) -> None:
        """Stop recording and free the recorded graph."""
        if not self._recording:
            return
        self._recording = False
        graph.recording.remove(self)
        for t in self.attached_tensors():
            t._tracked -= 1
        for node in self._tape:
            out = node.out()
            if out is not None and out._node is node:
                out._node = None
        self._tape.clear()

    def backward(self, y=None, dy=None, *, check_finite: bool = False) -> None:
        """Compute gradients of ``y`` (a Tensor or list) and accumulate them into ``.grad``.

        ``dy`` is the gradient flowing into ``y`` (ones by default). Recording ends afterwards.
        With ``check_finite=True`` a ``y`` holding NaN or Inf raises ``FloatingPointError``
        before any gradient is touched (a diverged loss would otherwise make every parameter
        NaN); :func:`~tutorlib.autodiff.detect_anomaly` then finds the op that produced it.

        >>> import tutorlib as tl
        >>> w = tl.Parameter(1.0)
        >>> with GradManager().attach([w]) as gm:
        ...     gm.backward(w / 0.0, check_finite=True)
        Traceback (most recent call last):
        ...
        FloatingPointError: backward: the loss is inf; ...
        >>> w.grad is None
        True
        """
        if not self._recording:
            raise RuntimeError("no computation history. did you forget record() or `with gm:`? "
                               "(backward can run once per recording)")
        try:
            ys = [y] if isinstance(y, Tensor) else list(y or [])
            if not ys:
                raise ValueError("backward: give the tensor to differentiate, e.g. gm.backward(loss)")
            if dy is None:
                dys = [np.ones_like(t._data) for t in ys]
            else:
                dys = [np.asarray(d._data if isinstance(d, Tensor) else d, dtype=t.dtype)
                       for t, d in zip(ys, [dy] if not isinstance(dy, (list, tuple)) else dy)]
            for t, d in zip(ys, dys):
                if d.shape != t.shape:
                    raise ValueError(f"backward: dy has shape {d.shape} but y has shape {t.shape}")
            if check_finite:
                for t in ys:
                    if t.dtype.kind == "f" and not np.isfinite(t._data).all():
                        value = t._data if t.size == 1 else f"a tensor of shape {t.shape} with NaN/Inf"
                        raise FloatingPointError(
                            f"backward: the loss is {value}; training has diverged (is the learning "
                            "rate too high?). Wrap the step in tutorlib.autodiff.detect_anomaly() to "
                            "find the first op that produced it")
            wanted = {i: t for i, t in ((i, ref()) for i, (ref, _) in self._attached.items())
                      if t is not None}
            if not any(t._node is not None or id(t) in wanted for t in ys):
                raise RuntimeError("backward: y was not computed from any attached tensor while "
                                   "recording (did you attach the parameters before `with gm:`?)")
            grads = graph.backward(ys, dys, wanted)
            for key, g in grads.items():
                t = wanted[key]
                for cb in self._attached[key][1]:
                    g = cb(t, Tensor._wrap(g, t._device))
                    g = g._data if isinstance(g, Tensor) else np.asarray(g)
                t.grad = Tensor._wrap(g, t._device) if t.grad is None else \
                    Tensor._wrap(t.grad._data + g, t._device)
        finally:
            self.release()

    def __enter__(self) -> "GradManager":
        self.record()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
