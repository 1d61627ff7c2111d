"""The emulated MLU: a :class:`~tutorlib.device.Device` whose ``run`` computes like the card.

Every op that reaches ``mlu0`` goes through :meth:`MLUDevice.run` (``tutorlib.ops.core.apply``
asks the inputs' device to run the op). The card's rules, as emulated here:

* convolution and linear layers run in **fixed point**: the input and the weight are quantized
  with the multipliers of a :class:`FixedPoint` (torch_mlu's ``scale = qmax / absmax``), the
  integer kernels (``tutorlib.kernels.integer``) add the products exactly (int8 → int32,
  int16 → int64), and the sum is scaled back: ``y = acc / (scale_in · scale_w) + bias``;
* everything else runs in **float16**: float inputs are rounded to the nearest float16 value,
  the op runs, and its result is rounded to float16 again (stored in float32 arrays, so the CPU
  kernels still apply);
* a conv or linear op without fixed-point parameters is an error, as on the MLU200 cards, whose
  convolution units are fixed-point only.

>>> import tutorlib as tl
>>> x = tl.Tensor([1.0001, 2.0]).to(MLU)
>>> (x * 1.0).numpy()                      # float16 has 10 fraction bits: 1.0001 -> 1.0
array([1., 2.], dtype=float32)
"""
from __future__ import annotations

import contextlib
from typing import NamedTuple

import numpy as np

from ..device import Device
from ..kernels import integer
from ..kernels.float16 import round_to_float16
from ..ops import nn as nn_ops
from ..quantization import fixed_point

QMAX = {8: 127, 16: 32767}


def half(a):
    """``a`` rounded to the nearest float16 value, kept as float32 (other dtypes unchanged).

    >>> half(np.array([0.1, 70000.0], np.float32))
    array([0.09997559,        inf], dtype=float32)
    """
    if isinstance(a, np.ndarray) and a.dtype == np.float32:
        return round_to_float16(a)               # one pass over the bits (kernels/float16.py)
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        with np.errstate(over="ignore"):         # beyond 65504 float16 overflows to inf
            return a.astype(np.float16).astype(np.float32)
    if isinstance(a, float):
        return float(np.float16(a))
    return a


def params_from_multiplier(multiplier: float, bitwidth: int) -> fixed_point.FixedPointParams:
    """CNNL (position, scale) whose ``scale / 2^position`` is exactly torch_mlu's ``multiplier``.

    ``multiplier = qmax / absmax``, so ``absmax = qmax / multiplier`` gives the position; the
    scale is ``multiplier · 2^position`` (a power-of-two product, exact).

    >>> p = params_from_multiplier(127 / 3.0, 8)
    >>> p.position, round(p.scale, 4), p.scale / 2.0 ** p.position == 127 / 3.0
    (-5, 1.3229, True)
    """
    if not multiplier > 0 or not np.isfinite(multiplier):
        raise ValueError(f"fixed point: the scale must be a positive finite multiplier, "
                         f"got {multiplier!r} (was the model calibrated?)")
    absmax = QMAX[bitwidth] / multiplier
    position = int(np.floor(np.log2(absmax))) - (bitwidth - 2)
    return fixed_point.FixedPointParams(position, multiplier * 2.0 ** position, 0, bitwidth,
                                        "position_scale")


class FixedPoint(NamedTuple):
    """How a conv/linear op computes on the MLU: ``bitwidth`` 8 or 16, the input's multiplier
    ``scale_in`` and the weight's ``scale_w`` (one value, or one per output channel)."""

    bitwidth: int
    scale_in: float
    scale_w: np.ndarray

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """``clamp(round(x · scale_in))`` in int8/int16 (CNNL ``fixed_point.quantize``)."""
        return fixed_point.quantize(x, params_from_multiplier(self.scale_in, self.bitwidth))

    def quantize_weight(self, w: np.ndarray) -> np.ndarray:
        """``clamp(round(w · scale_w))``, per output channel when ``scale_w`` has one per row."""
        s = np.atleast_1d(np.asarray(self.scale_w, np.float64))
        if s.size == 1:
            return fixed_point.quantize(w, params_from_multiplier(float(s[0]), self.bitwidth))
        if s.size != w.shape[0]:
            raise ValueError(f"fixed point: {s.size} per-channel weight scales for a weight of "
                             f"shape {w.shape}")
        return np.stack([fixed_point.quantize(w[o], params_from_multiplier(float(s[o]),
                                                                           self.bitwidth))
                         for o in range(w.shape[0])])

    def rescale(self, acc: np.ndarray, bias, channel_axis: int) -> np.ndarray:
        """``acc / (scale_in · scale_w) + bias`` in float64 (torch_mlu: y = q_y / s1 / s2)."""
        s = np.atleast_1d(np.asarray(self.scale_w, np.float64)) * self.scale_in
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        y = acc / s.reshape(shape)
        if bias is not None:
            y = y + np.asarray(bias, np.float32).reshape(shape)
        return y


class Launch(NamedTuple):
    """One op run on the MLU: what the profiler and the tests see."""

    op: str
    inputs: tuple            # shapes of the array inputs
    output: tuple            # shape of the result
    fixed_point: FixedPoint | None
    accumulator: np.ndarray | None   # the exact integer sums (kept only when asked)


class MLUDevice(Device):
    """``mlu0``: runs ops with the MLU's arithmetic (see the module docstring)."""

    def __init__(self, name: str = "mlu0"):
        super().__init__(name)
        self.listeners: list = []     # callables(op, arrays, out, launch), see ``capture``

    def run(self, op, arrays):
        spec = getattr(op, "fixed_point", None)
        acc = None
        if isinstance(op, (nn_ops.Conv2d, nn_ops.Linear)):
            if spec is None:
                raise ValueError(
                    f"{op.name} on {self.name}: the MLU computes convolutions and linear layers "
                    f"in fixed point only; quantize the model first (mlu_quantize."
                    f"quantize_dynamic_mlu for inference, adaptive_quantize for training)")
            if isinstance(spec, FixedPoint):
                out, acc = _run_fixed_point(op, spec, arrays)
            else:                      # adaptive training: the operands already lie on the grid
                out = op.forward(*arrays)
        else:
            out = op.forward(*[half(a) for a in arrays])
        out = half(np.asarray(out))
        if self.listeners:
            launch = Launch(op.name, tuple(np.shape(a) for a in arrays if isinstance(a, np.ndarray)),
                            out.shape, spec if isinstance(spec, FixedPoint) else None, acc)
            for listen in list(self.listeners):
                listen(op, arrays, out, launch)
        return out


def _run_fixed_point(op, spec: FixedPoint, arrays):
    """Integer conv/linear: quantize, exact integer sums, rescale. Returns (float result, acc)."""
    x, w = arrays[0], arrays[1]
    b = arrays[2] if len(arrays) > 2 else None
    if isinstance(op, nn_ops.Conv2d):
        op._check(x, w, b)
        acc = integer.conv2d(spec.quantize_input(x), spec.quantize_weight(w), op.stride,
                             op.padding, op.dilation, op.groups)
        return spec.rescale(acc, b, 1), acc
    if w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: x {x.shape} and weight {w.shape} do not match "
                         f"(need x (..., in) and weight (out, in))")
    acc = integer.linear(spec.quantize_input(x.reshape(-1, w.shape[1])), spec.quantize_weight(w))
    y = spec.rescale(acc, b, 1)
    return y.reshape(*x.shape[:-1], w.shape[0]), acc.reshape(*x.shape[:-1], w.shape[0])


MLU = Device.register(MLUDevice("mlu0"))


@contextlib.contextmanager
def capture(keep_accumulators: bool = False):
    """Collect a :class:`Launch` for every op run on the MLU inside the ``with`` block.

    >>> import tutorlib as tl
    >>> with capture() as launches:
    ...     _ = tl.Tensor([1.0, 2.0]).to(MLU) * 2.0
    >>> [(l.op, l.output) for l in launches]
    [('mul', (2,))]
    """
    launches: list = []

    def listen(op, arrays, out, launch):
        launches.append(launch if keep_accumulators else launch._replace(accumulator=None))

    MLU.listeners.append(listen)
    try:
        yield launches
    finally:
        MLU.listeners.remove(listen)
