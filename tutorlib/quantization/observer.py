"""Observers: watch the values flowing through a layer and turn their range into a scale.

An observer is a ``Module`` whose forward returns its input unchanged and, while enabled,
records statistics. ``get_qparams()`` turns them into ``QParams`` (MegEngine
``MinMaxObserver._calculate_qparams``), after widening the range to contain 0::

    symmetric:   scale = max(|min|, max) / ((qmax - qmin) / 2),  zero point 0
                 (/127.5 for qint8 [-128, 127], /127 for qint8_narrow [-127, 127])
    asymmetric:  scale = (max - min) / (qmax - qmin),  zero point = qmin - round(min / scale)

and the scale is at least ``eps``. ``train()`` enables an observer and ``eval()`` disables it
(calibration: ``model.eval()`` then ``enable_observer(model)``).

With ``ch_axis=0`` an observer keeps one range per output channel (per-channel weights, as
PyTorch's ``PerChannelMinMaxObserver``; MegEngine has no such class): the scale then has the
weight's number of axes, e.g. (O, 1, 1, 1), and broadcasts against it.

>>> import numpy as np
>>> obs = MinMaxObserver(dtype="qint8")
>>> _ = obs(np.array([-1.0, 0.5, 2.55]))
>>> float(obs.get_qparams().scale)       # 2.55 / 127.5
0.02
>>> narrow = MinMaxObserver(dtype="qint8_narrow")
>>> _ = narrow(np.array([-1.0, 2.54]))
>>> float(narrow.get_qparams().scale)    # 2.54 / 127
0.02
"""
from __future__ import annotations

import numpy as np

from ..module import Module
from ..tensor import Tensor
from .utils import QParams, QuantMode, create_qparams, dtype_meta


def _array(x) -> np.ndarray:
    return np.asarray(x._data if isinstance(x, Tensor) else x, np.float64)


class Observer(Module):
    """Base class: ``forward(x)`` records ``x`` (when enabled) and returns it unchanged."""

    def __init__(self, dtype="qint8", mode: QuantMode = QuantMode.SYMMERTIC, eps: float = 1e-5,
                 ch_axis: int | None = None):
        super().__init__()
        self.dtype = dtype_meta(dtype)
        self.mode = mode
        self.eps = eps
        self.ch_axis = ch_axis
        self.enabled = True

    def enable(self) -> None:
        """Record statistics in forward."""
        self.enabled = True

    def disable(self) -> None:
        """Stop recording (forward is the identity)."""
        self.enabled = False

    @property
    def training(self) -> bool:
        """Setting it (``model.train()`` / ``model.eval()``) also enables / disables recording."""
        return self._training

    @training.setter
    def training(self, mode: bool) -> None:
        self._training = mode
        self.enabled = mode

    def forward(self, x):
        if self.enabled and np.size(x._data if isinstance(x, Tensor) else x):
            self.observe(_array(x))
        return x

    def observe(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def _ranges(self, x: np.ndarray):
        """Batch min and max: scalars, or one per channel along ``ch_axis`` (keepdims)."""
        if self.ch_axis is None:
            return np.float64(x.min()), np.float64(x.max())
        axes = tuple(a for a in range(x.ndim) if a != self.ch_axis % x.ndim)
        return x.min(axis=axes, keepdims=True), x.max(axis=axes, keepdims=True)

    def qparams_from_range(self, lo, hi) -> QParams:
        """MegEngine's formula for ``[lo, hi]`` (widened to contain 0)."""
        lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)
        qmin, qmax = self.dtype.qmin, self.dtype.qmax
        if self.mode == QuantMode.SYMMERTIC:
            scale = np.maximum(np.maximum(-lo, hi) / ((qmax - qmin) / 2), self.eps)
            zero_point = np.zeros_like(scale)
            if qmin == 0:                    # unsigned symmetric: the middle of the range
                zero_point = zero_point + (qmin + qmax + 1) // 2
            return create_qparams(self.mode, self.dtype, scale, zero_point)
        scale = np.maximum((hi - lo) / (qmax - qmin), self.eps)
        zero_point = np.clip(qmin - np.rint(lo / scale), qmin, qmax)
        return create_qparams(self.mode, self.dtype, scale, zero_point)

    def get_qparams(self) -> QParams:
        raise NotImplementedError


class MinMaxObserver(Observer):
    """Running min and max over every batch seen.

    >>> obs = MinMaxObserver(mode=QuantMode.ASYMMERTIC, dtype="quint8")
    >>> _ = obs(np.array([-0.5, 0.0])); _ = obs(np.array([2.0]))
    >>> qp = obs.get_qparams()
    >>> round(float(qp.scale), 6), float(qp.zero_point)     # 2.5 / 255, 0 - round(-0.5 / s)
    (0.009804, 51.0)
    """

    def __init__(self, mode: QuantMode = QuantMode.SYMMERTIC, eps: float = 1e-5,
                 dtype="qint8", ch_axis: int | None = None):
        super().__init__(dtype, mode, eps, ch_axis)
        self.min_val = None
        self.max_val = None

    def observe(self, x):
        lo, hi = self._ranges(x)
        if self.min_val is None:
            self.min_val, self.max_val = Tensor(lo), Tensor(hi)
        else:
            self.min_val._data = np.minimum(self.min_val._data, lo).astype(np.float32)
            self.max_val._data = np.maximum(self.max_val._data, hi).astype(np.float32)

    def get_qparams(self) -> QParams:
        if self.min_val is None:
            raise RuntimeError(f"{type(self).__name__}: no data observed yet, so no scale "
                               "(run some batches with the observer enabled first)")
        return self.qparams_from_range(self.min_val._data.astype(np.float64),
                                       self.max_val._data.astype(np.float64))


class ExponentialMovingAverageObserver(MinMaxObserver):
    """Min and max as moving averages: the first batch is copied, then
    ``v ← momentum · v + (1 - momentum) · batch`` (MegEngine default momentum 0.9, which is
    PyTorch's ``averaging_constant`` 0.1).

    >>> obs = ExponentialMovingAverageObserver(momentum=0.9)
    >>> _ = obs(np.array([-1.0, 1.0])); _ = obs(np.array([-1.0, 3.0]))
    >>> float(obs.max_val.numpy())            # 0.9 · 1 + 0.1 · 3
    1.2
    """

    def __init__(self, momentum: float = 0.9, mode: QuantMode = QuantMode.SYMMERTIC,
                 eps: float = 1e-5, dtype="qint8", ch_axis: int | None = None):
        super().__init__(mode, eps, dtype, ch_axis)
        self.momentum = momentum

    def observe(self, x):
        lo, hi = self._ranges(x)
        if self.min_val is None:
            self.min_val, self.max_val = Tensor(lo), Tensor(hi)
            return
        m = self.momentum
        self.min_val._data = (m * self.min_val._data + (1 - m) * lo).astype(np.float32)
        self.max_val._data = (m * self.max_val._data + (1 - m) * hi).astype(np.float32)


class HistogramObserver(MinMaxObserver):
    """A histogram of every value seen; the range is the one with the least L2 error.

    The histogram has ``bins`` bins over the running [min, max]; when a batch widens the range,
    each old bin is split into ``upsample_rate`` equal parts that are re-binned. ``get_qparams``
    tries clipping thresholds and keeps the one minimising the expected squared error: a value
    inside the range is off by at most half a step (error ≈ scale²/12 on average), a value
    outside is clipped (error ``(|x| - threshold)²``). A long, thin tail is clipped so that the
    bulk of the values gets finer steps. Per tensor only (use MinMax for per-channel weights).

    >>> x = np.random.default_rng(0).laplace(size=100000)
    >>> obs = HistogramObserver()
    >>> _ = obs(x)
    >>> round(float(x.max()), 1), round(float(obs.get_qparams().scale) * 127.5, 1)  # range kept
    (11.9, 10.1)
    """

    def __init__(self, bins: int = 2048, upsample_rate: int = 128,
                 mode: QuantMode = QuantMode.SYMMERTIC, eps: float = 1e-5, dtype="qint8"):
        super().__init__(mode, eps, dtype)
        self.bins = bins
        self.upsample_rate = upsample_rate
        self.histogram = Tensor(np.zeros(bins, np.float32))

    def observe(self, x):
        lo, hi = float(x.min()), float(x.max())
        if self.min_val is None:
            hist, _ = np.histogram(x, self.bins, (lo, hi if hi > lo else lo + 1e-8))
            self.min_val, self.max_val = Tensor(lo), Tensor(hi)
            self.histogram._data = hist.astype(np.float32)
            return
        old_lo, old_hi = float(self.min_val._data), float(self.max_val._data)
        new_lo, new_hi = min(lo, old_lo), max(hi, old_hi)
        hist = self.histogram._data.astype(np.float64)
        if (new_lo, new_hi) != (old_lo, old_hi):   # re-bin the old counts into the wider range
            step = (old_hi - old_lo) / self.bins
            sub = old_lo + (np.arange(self.bins * self.upsample_rate) + 0.5) * step / self.upsample_rate
            weights = np.repeat(hist / self.upsample_rate, self.upsample_rate)
            hist, _ = np.histogram(sub, self.bins, (new_lo, new_hi), weights=weights)
        hist = hist + np.histogram(x, self.bins, (new_lo, new_hi))[0]
        self.min_val._data = np.float32(new_lo)
        self.max_val._data = np.float32(new_hi)
        self.histogram._data = hist.astype(np.float32)

    def get_qparams(self) -> QParams:
        if self.min_val is None:
            return super().get_qparams()
        lo, hi = float(self.min_val._data), float(self.max_val._data)
        hist = self.histogram._data.astype(np.float64)
        centers = lo + (np.arange(self.bins) + 0.5) * (hi - lo) / self.bins
        levels = self.dtype.qmax - self.dtype.qmin
        if self.mode == QuantMode.SYMMERTIC:
            absmax = max(-lo, hi)
            thresholds = np.linspace(absmax / self.bins, absmax, self.bins)[:, None]
            step = thresholds / (levels / 2)
            excess = np.maximum(np.abs(centers)[None, :] - thresholds, 0.0)
            error = (hist * np.where(excess > 0, excess ** 2, step ** 2 / 12)).sum(1)
            best = float(thresholds[np.argmin(error), 0])
            return self.qparams_from_range(-best, best)
        # asymmetric: clip the same share of the mass at both ends, pick the best share
        cdf = np.cumsum(hist) / hist.sum()
        shares = np.linspace(0.0, 0.01, 101)
        ends = [(centers[np.searchsorted(cdf, s)], centers[min(np.searchsorted(cdf, 1 - s),
                                                               self.bins - 1)]) for s in shares]
        errors = []
        for a, b in ends:
            a, b = min(a, 0.0), max(b, 0.0)
            step = max((b - a) / levels, self.eps)
            excess = np.maximum(a - centers, 0) + np.maximum(centers - b, 0)
            errors.append((hist * np.where(excess > 0, excess ** 2, step ** 2 / 12)).sum())
        a, b = ends[int(np.argmin(errors))]
        return self.qparams_from_range(np.float64(a), np.float64(b))
