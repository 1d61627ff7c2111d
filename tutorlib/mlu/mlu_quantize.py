"""``mlu_quantize``: post-training calibration for the MLU (torch_mlu ``quantize_dynamic_mlu``).

Two phases, as in the Cambricon guide:

1. **generate** on the CPU: ``q = quantize_dynamic_mlu(net, spec, dtype='int8', gen_quant=True)``
   swaps every ``Conv2d``/``Linear`` for an :class:`MLUConv2d`/:class:`MLULinear` that watches
   its input; run ``q(x)`` on representative data, then save ``q.state_dict()``;
2. **run**: ``q = quantize_dynamic_mlu(net)``, ``q.load_state_dict(state, strict=False)``,
   ``q.to(ct.mlu_device())(x.to(ct.mlu_device()))``.

Scales follow torch_mlu, not MegEngine: a scale is a **multiplier**, ``scale = qmax / absmax``
(qmax 127 for int8, 32767 for int16), ``q = clamp(round(x · scale))`` and a conv's output is
``acc / (scale_in · scale_w) + bias``. Each quantized layer adds these state-dict entries:

=============================  ==================================================================
``scale``                      ``[scale_in, scale_w]`` (``[scale_in, 0]`` when per channel)
``quantized_mode``             1 int8, 2 int16, 3 int8 per channel, 4 int16 per channel
``scale_weight_per_channel``   one weight multiplier per output channel (``per_channel`` only)
``input_mean``, ``input_std``  ``mean · 255`` and ``std · 255``, shaped (1, C, 1, 1) (first conv)
=============================  ==================================================================

With ``firstconv`` the first conv normalises on the device, ``(x - input_mean) / input_std``,
so the MLU model takes raw 0..255 pixels while the CPU model took ``(x/255 - mean) / std``.
A 3-channel first conv also accepts 4-channel pixels on the MLU, in the order chosen by
``ct.set_input_format`` (0 RGBA, 1 ARGB, 2 BGRA, 3 ABGR); the alpha channel is ignored.

>>> import tutorlib as tl, tutorlib.module as M
>>> q = quantize_dynamic_mlu(M.Sequential(M.Linear(4, 2)), {"firstconv": False}, gen_quant=True)
>>> _ = q(tl.Tensor([[2.0, -1.0, 0.5, 0.0]]))
>>> {k: v.tolist() for k, v in q.state_dict().items() if k.endswith(("scale", "mode"))}["0.scale"][0]
63.5
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import module as M
from ..ops import nn as nn_ops
from ..ops.core import apply
from ..quantization.utils import copy_module
from ..tensor import Tensor
from . import mlu_model
from .adaptive import adaptive_quantize  # noqa: F401  (torch_mlu keeps it here too)
from .device import MLU, QMAX, FixedPoint

#: torch_mlu's defaults (``qscheme.py``); ``firstconv`` is True in its code, False in its docs.
DEFAULT_QCONFIG = {"iteration": 1, "use_avg": False, "data_scale": 1.0, "mean": [0.0, 0.0, 0.0],
                   "std": [1.0, 1.0, 1.0], "firstconv": True, "per_channel": False,
                   "method": "minmax"}
#: where R, G and B sit in 4-channel input for each ``set_input_format``: RGBA, ARGB, BGRA, ABGR
RGB_POSITIONS = {0: (0, 1, 2), 1: (1, 2, 3), 2: (2, 1, 0), 3: (3, 2, 1)}
MODES = {("int8", False): 1, ("int16", False): 2, ("int8", True): 3, ("int16", True): 4}


class _MLUQuantized(M.Module):
    """Shared by :class:`MLUConv2d` and :class:`MLULinear`: the observer and the scale entries."""

    def _setup(self, float_module, dtype: str, qconfig: dict, gen_quant: bool):
        self.weight, self.bias = float_module.weight, float_module.bias
        self.dtype_name, self.gen_quant = dtype, gen_quant
        self.bitwidth = 8 if dtype == "int8" else 16
        self.qconfig = dict(qconfig)
        per_channel = bool(qconfig["per_channel"])
        self.scale = Tensor(np.zeros(2, np.float32))
        self.quantized_mode = Tensor([MODES[dtype, per_channel]], dtype="int32")
        self.scale_weight_per_channel = (Tensor(np.zeros(self.weight.shape[0], np.float32))
                                         if per_channel else None)
        self._seen, self._max, self._min = 0, 0.0, 0.0

    def observe(self, x: np.ndarray) -> None:
        """Record the input's range (the first ``iteration`` calls; ``use_avg`` averages them)."""
        n = self.qconfig["iteration"]
        if self._seen >= n:
            if self._seen == n:
                warnings.warn(f"{type(self).__name__}: calibration uses the first {n} call(s) "
                              f"(qconfig 'iteration'); later calls are ignored", stacklevel=3)
            self._seen += 1
            return
        hi, lo = float(x.max()), float(x.min())
        if self.qconfig["use_avg"]:
            k = self._seen
            self._max, self._min = (self._max * k + hi) / (k + 1), (self._min * k + lo) / (k + 1)
        else:
            self._max, self._min = max(self._max, hi), min(self._min, lo)
        self._seen += 1
        self._update_scales()

    def _update_scales(self) -> None:
        qmax = QMAX[self.bitwidth]
        absmax = max(self._max, -self._min) * self.qconfig["data_scale"]
        s_in = qmax / absmax if absmax > 0 else 1.0
        w = self.weight._data.reshape(self.weight.shape[0], -1)
        if self.scale_weight_per_channel is None:
            wmax = float(np.abs(w).max())
            self.scale._data = np.array([s_in, qmax / wmax if wmax > 0 else 1.0], np.float32)
        else:
            wmax = np.abs(w).max(axis=1).astype(np.float64)
            per = np.where(wmax > 0, qmax / np.where(wmax > 0, wmax, 1.0), 1.0)
            self.scale._data = np.array([s_in, 0.0], np.float32)
            self.scale_weight_per_channel._data = per.astype(np.float32)

    def fixed_point(self) -> FixedPoint:
        """The MLU arithmetic these entries describe (an error before calibration)."""
        s_in, s_w = (float(v) for v in self.scale._data)
        if self.scale_weight_per_channel is not None:
            s_w = self.scale_weight_per_channel._data.astype(np.float64)
        if s_in <= 0 or np.any(np.asarray(s_w) <= 0):
            raise ValueError(f"{type(self).__name__} on the MLU: scale is {self.scale._data.tolist()}"
                             f"; load the state dict saved after calibration (gen_quant=True) first")
        return FixedPoint(self.bitwidth, s_in, np.atleast_1d(np.asarray(s_w, np.float64)))

    def _run(self, op, x):
        """The float op on the CPU (observing when calibrating), the fixed-point op on the MLU."""
        args = (x, self.weight) + (() if self.bias is None else (self.bias,))
        if x.device is MLU:
            if self.gen_quant:
                raise ValueError(f"{type(self).__name__}: a gen_quant=True model calibrates on the "
                                 f"CPU; build it again with gen_quant=False, load the saved state "
                                 f"dict, then move it to the MLU")
            op.fixed_point = self.fixed_point()
        elif self.gen_quant:
            self.observe(x._data)
        return apply(op, *args)

    def _module_info_string(self) -> str:
        return f"{self.dtype_name}, scale={self.scale._data.tolist()}"


class MLUConv2d(_MLUQuantized):
    """A ``Conv2d`` that computes in fixed point on the MLU (float on the CPU)."""

    def __init__(self, conv, dtype: str, qconfig: dict, gen_quant: bool,
                 firstconv: tuple | None = None):
        """``firstconv``: None, or the (mean, std) fractions to normalise raw 0..255 input with."""
        super().__init__()
        self._setup(conv, dtype, qconfig, gen_quant)
        self.stride, self.padding = conv.stride, conv.padding
        self.dilation, self.groups = conv.dilation, conv.groups
        self.input_mean = self.input_std = None
        if firstconv:
            c = conv.in_channels
            mean, std = (np.asarray(v, np.float64).reshape(-1) for v in firstconv)
            if c not in (1, 3, 4):
                raise ValueError(f"quantize_dynamic_mlu: firstconv needs 1, 3 or 4 input channels, "
                                 f"the first conv has {c}")
            if mean.size not in (1, c) or std.size not in (1, c):
                raise ValueError(f"quantize_dynamic_mlu: firstconv mean {mean.tolist()} and std "
                                 f"{std.tolist()} must have 1 or {c} entries")
            if np.any((mean < 0) | (mean > 1)) or np.any((std <= 0) | (std > 1)):
                raise ValueError(f"quantize_dynamic_mlu: firstconv mean and std are fractions of "
                                 f"the 0..255 range, in [0, 1]; got mean {mean.tolist()}, std "
                                 f"{std.tolist()}")
            shape = (1, c, 1, 1)
            self.input_mean = Tensor(np.broadcast_to(mean * 255, (c,)).reshape(shape), "float32")
            self.input_std = Tensor(np.broadcast_to(std * 255, (c,)).reshape(shape), "float32")

    def forward(self, x):
        if self.input_mean is not None and x.device is MLU:
            if x.ndim == 4 and x.shape[1] == 4 and self.weight.shape[1] == 3 and self.groups == 1:
                return self._forward_four_channels(x)
            x = (x - self.input_mean) / self.input_std       # float16, on the device
        op = nn_ops.Conv2d(self.stride, self.padding, self.dilation, self.groups)
        return self._run(op, x)

    def _forward_four_channels(self, x):
        """RGB conv on 4-channel input (``ct.set_input_format``): the weights and statistics are
        spread over the 4 channels in the input's order, the alpha channel gets zero weights,
        so the integer sums are exactly those of the 3-channel conv."""
        where = RGB_POSITIONS[mlu_model.config.input_format]
        w = np.zeros(self.weight.shape[:1] + (4,) + self.weight.shape[2:], np.float32)
        mean, std = np.zeros((1, 4, 1, 1), np.float32), np.ones((1, 4, 1, 1), np.float32)
        for c, at in enumerate(where):
            w[:, at] = self.weight._data[:, c]
            mean[0, at], std[0, at] = self.input_mean._data[0, c], self.input_std._data[0, c]
        x = (x - Tensor(mean, device=MLU)) / Tensor(std, device=MLU)
        op = nn_ops.Conv2d(self.stride, self.padding, self.dilation, self.groups)
        op.fixed_point = self.fixed_point()
        return apply(op, x, Tensor(w, device=MLU),
                     *(() if self.bias is None else (self.bias,)))


class MLULinear(_MLUQuantized):
    """A ``Linear`` that computes in fixed point on the MLU (float on the CPU)."""

    def __init__(self, linear, dtype: str, qconfig: dict, gen_quant: bool):
        super().__init__()
        self._setup(linear, dtype, qconfig, gen_quant)

    def forward(self, x):
        return self._run(nn_ops.Linear(), x)


def _qconfig(qconfig_spec) -> dict:
    spec = dict(qconfig_spec or {})
    unknown = sorted(set(spec) - set(DEFAULT_QCONFIG))
    if unknown:
        raise ValueError(f"quantize_dynamic_mlu: unknown qconfig_spec keys {unknown}; valid keys "
                         f"are {sorted(DEFAULT_QCONFIG)}")
    merged = {**DEFAULT_QCONFIG, **spec}
    if merged["method"] != "minmax":
        raise ValueError(f"quantize_dynamic_mlu: method must be 'minmax', got {merged['method']!r}")
    if not (isinstance(merged["iteration"], int) and merged["iteration"] >= 1):
        raise ValueError(f"quantize_dynamic_mlu: iteration must be an int >= 1, "
                         f"got {merged['iteration']!r}")
    if not merged["data_scale"] > 0:
        raise ValueError(f"quantize_dynamic_mlu: data_scale must be > 0, got {merged['data_scale']!r}")
    return merged


def _children(module):
    """(container, key, child) for direct sub-modules, in definition order (lists included)."""
    for key, value in list(vars(module).items()):
        if isinstance(value, M.Module):
            yield module, key, value
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, M.Module):
                    yield value, i, item


def quantize_dynamic_mlu(model, qconfig_spec=None, dtype=None, gen_quant: bool = False,
                         inplace: bool = False):
    """A copy of ``model`` (eval mode) whose ``Conv2d``/``Linear`` layers run in fixed point on the MLU.

    ``qconfig_spec`` is a dict of settings over ``DEFAULT_QCONFIG`` (``iteration``,
    ``use_avg``, ``data_scale``, ``mean``, ``std``, ``firstconv``, ``per_channel``, ``method``);
    ``dtype`` is ``'int8'`` (the default) or ``'int16'``; ``gen_quant=True`` calibrates (observes
    inputs on the CPU), ``False`` builds the model the calibrated state dict is loaded into.

    The first conv in definition order gets ``firstconv`` (it must have 1, 3 or 4 channels).
    """
    dtype = "int8" if dtype is None else dtype
    if dtype not in ("int8", "int16"):
        raise ValueError(f"quantize_dynamic_mlu: dtype must be 'int8' or 'int16', got {dtype!r}")
    qconfig = _qconfig(qconfig_spec)
    net = model if inplace else copy_module(model)
    net.eval()
    given = set(qconfig_spec or {})
    if not qconfig["firstconv"]:
        first = [None]
    elif gen_quant or {"mean", "std"} & given:
        first = [(qconfig["mean"], qconfig["std"])]
    else:                   # placeholders (mean 0, std 1/255: identity) for load_state_dict
        first = [([0.0], [1 / 255])]

    def convert(module):
        for holder, key, child in _children(module):
            if type(child) is M.Conv2d:
                new = MLUConv2d(child, dtype, qconfig, gen_quant, firstconv=first[0])
                first[0] = None
            elif type(child) is M.Linear:
                new = MLULinear(child, dtype, qconfig, gen_quant)
            else:
                convert(child)
                continue
            if isinstance(holder, tuple):
                raise TypeError("quantize_dynamic_mlu: layers kept in a tuple cannot be replaced; "
                                 "use a list or attributes")
            if isinstance(holder, list):
                holder[key] = new
            else:
                setattr(holder, key, new)

    convert(net)
    return net
