"""``adaptive_quantize``: train on the MLU with fixed-point conv/linear whose bit-width adapts.

The MLU200 convolution units compute in fixed point, so training quantizes each conv/linear
layer's input and weight in CNNL's ``position`` mode (``q = round(x / 2^position)``, see
:mod:`tutorlib.quantization.fixed_point`) with a straight-through gradient (the ``FakeQuant``
op). The bit-width starts at ``bitwidth`` (8, 16 or 31) and **only grows**, 8 → 16 → 31, when
the relative quantization error ``mean|x - deq(q(x))| / mean|x|`` passes the threshold (0.03
for conv, 0.01 for linear, as CATCH's ``QuantifyParams``).

Positions are not recomputed every step. With E = ``steps_per_epoch`` (:func:`next_update`):

* during the first 1% of the first epoch: every step;
* from there to the end of the first epoch: every ``interval`` steps, where ``interval``
  starts at 1, doubles after an update that left both positions unchanged, goes back to 1 when
  one changed, and is capped at 100 (CNNL's ``delta``; CNNL's exact rule is not published,
  this one is ours);
* after the first epoch: once per epoch.

>>> next_update(0, 1000, 1), next_update(9, 1000, 1), next_update(10, 1000, 64)
(1, 10, 74)
>>> next_update(990, 1000, 64), next_update(1000, 1000, 1), next_update(2000, 1000, 1)
(1000, 2000, 3000)
"""
from __future__ import annotations

import math

import numpy as np

from .. import module as M
from ..ops import nn as nn_ops
from ..ops.core import apply
from ..ops.quantize import FakeQuant
from ..quantization import fixed_point
from ..quantization.utils import copy_module

BITWIDTHS = (8, 16, 31)
THRESHOLD = {"conv": 0.03, "linear": 0.01}
MAX_INTERVAL = 100
GRID = "grid"   # marks a conv/linear op whose operands already lie on the fixed-point grid


def next_update(step: int, steps_per_epoch: int, interval: int) -> int:
    """The step at which positions are recomputed next, after an update at ``step`` (from 0)."""
    warm = max(1, math.ceil(0.01 * steps_per_epoch))
    if step + 1 < warm:
        return step + 1
    if step < steps_per_epoch:
        return min(max(step + interval, warm), steps_per_epoch)
    return (step // steps_per_epoch + 1) * steps_per_epoch


def quantization_error(data: np.ndarray, bitwidth: int) -> float:
    """Relative error ``mean|x - deq(q(x))| / mean|x|`` of position-mode fixed point.

    >>> x = np.linspace(-1, 1, 201) ** 3          # many small values, a few large ones
    >>> round(quantization_error(x, 8), 4), round(quantization_error(x, 16), 6)
    (0.0131, 5.5e-05)
    """
    p = fixed_point.params(data, bitwidth, "position")
    scale = float(np.abs(data).mean())
    if scale == 0:
        return 0.0
    err = np.abs(data - fixed_point.dequantize(fixed_point.quantize(data, p), p)).mean()
    return float(err / scale)


class AdaptiveFixedPoint:
    """Position and bit-width of one tensor (a layer's input or weight), updated on schedule.

    >>> fp = AdaptiveFixedPoint(8, threshold=0.01)
    >>> fp.update(np.linspace(-1, 1, 201) ** 3)   # int8 error 1.3% > 1%: grow to int16
    >>> fp.bitwidth, fp.position
    (16, -14)
    >>> fp.update(np.array([0.5, -0.25]))          # easy data: the bit-width never shrinks
    >>> fp.bitwidth
    16
    """

    def __init__(self, bitwidth: int, threshold: float):
        if bitwidth not in BITWIDTHS:
            raise ValueError(f"adaptive_quantize: bitwidth must be 8, 16 or 31, got {bitwidth!r}")
        self.bitwidth, self.threshold = bitwidth, threshold
        self.position = None

    def update(self, data: np.ndarray) -> None:
        """Grow the bit-width while the error passes the threshold; recompute the position."""
        while (self.bitwidth < 31
               and quantization_error(data, self.bitwidth) > self.threshold):
            self.bitwidth = BITWIDTHS[BITWIDTHS.index(self.bitwidth) + 1]
        self.position = fixed_point.params(data, self.bitwidth, "position").position

    def fake_quantize(self, t):
        """``t`` rounded to the grid ``q · 2^position`` (straight-through gradient)."""
        n = self.bitwidth
        return apply(FakeQuant(-2 ** (n - 1), 2 ** (n - 1) - 1), t,
                     np.float32(2.0 ** self.position), np.float32(0))


class _Adaptive(M.Module):
    kind = "conv"

    def _setup(self, layer, steps_per_epoch: int, bitwidth: int):
        self.weight, self.bias = layer.weight, layer.bias
        self.steps_per_epoch, self.step = int(steps_per_epoch), 0
        self.interval, self.next_step, self.updates = 1, 0, 0
        th = THRESHOLD[self.kind]
        self.input_fp = AdaptiveFixedPoint(bitwidth, th)
        self.weight_fp = AdaptiveFixedPoint(bitwidth, th)

    def _run(self, op, x):
        if self.input_fp.position is None or (self.training and self.step >= self.next_step):
            before = (self.input_fp.position, self.weight_fp.position)
            self.input_fp.update(x._data)
            self.weight_fp.update(self.weight._data)
            same = before == (self.input_fp.position, self.weight_fp.position)
            self.interval = min(2 * self.interval, MAX_INTERVAL) if same else 1
            self.next_step = next_update(self.step, self.steps_per_epoch, self.interval)
            self.updates += 1
        if self.training:
            self.step += 1
        op.fixed_point = GRID
        args = (self.input_fp.fake_quantize(x), self.weight_fp.fake_quantize(self.weight))
        return apply(op, *args, *(() if self.bias is None else (self.bias,)))

    def _module_info_string(self) -> str:
        return f"input int{self.input_fp.bitwidth}, weight int{self.weight_fp.bitwidth}"


class AdaptiveConv2d(_Adaptive):
    """A ``Conv2d`` trained with fixed-point input and weight of adaptive bit-width."""

    def __init__(self, conv, steps_per_epoch: int, bitwidth: int):
        super().__init__()
        self._setup(conv, steps_per_epoch, bitwidth)
        self.stride, self.padding = conv.stride, conv.padding
        self.dilation, self.groups = conv.dilation, conv.groups

    def forward(self, x):
        return self._run(nn_ops.Conv2d(self.stride, self.padding, self.dilation, self.groups), x)


class AdaptiveLinear(_Adaptive):
    """A ``Linear`` trained with fixed-point input and weight of adaptive bit-width."""

    kind = "linear"

    def __init__(self, linear, steps_per_epoch: int, bitwidth: int):
        super().__init__()
        self._setup(linear, steps_per_epoch, bitwidth)

    def forward(self, x):
        return self._run(nn_ops.Linear(), x)


def adaptive_quantize(model, steps_per_epoch: int, bitwidth: int = 8, inplace: bool = False):
    """``model`` (a copy unless ``inplace``) with every ``Conv2d``/``Linear`` trained in fixed point.

    >>> import tutorlib.module as M
    >>> net = adaptive_quantize(M.Sequential(M.Linear(3, 2)), steps_per_epoch=100)
    >>> print(net)
    Sequential(
      (0): AdaptiveLinear(input int8, weight int8)
    )
    """
    if bitwidth not in BITWIDTHS:
        raise ValueError(f"adaptive_quantize: bitwidth must be 8, 16 or 31, got {bitwidth!r}")
    if not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(f"adaptive_quantize: steps_per_epoch must be a positive int, "
                         f"got {steps_per_epoch!r}")
    from .mlu_quantize import _children  # one walk over layers for both quantizers

    net = model if inplace else copy_module(model)

    def convert(module):
        for holder, key, child in _children(module):
            if type(child) is M.Conv2d:
                new = AdaptiveConv2d(child, steps_per_epoch, bitwidth)
            elif type(child) is M.Linear:
                new = AdaptiveLinear(child, steps_per_epoch, bitwidth)
            else:
                convert(child)
                continue
            if isinstance(holder, list):
                holder[key] = new
            else:
                setattr(holder, key, new)

    convert(net)
    return net
