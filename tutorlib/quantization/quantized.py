"""Integer modules: what ``quantize`` turns QAT layers into. Inference only.

Tensors between these modules hold int8 values whose dtype carries the scale
(``tutorlib.dtype.qint8(s)``): real = s·q. A quantized conv or linear layer computes

    acc = Σ q_x · q_w  +  round(b / (s_x·s_w))         exact, in int32 (kernels/integer.py)
    q_y = clip(round(acc · s_x·s_w / s_y), lo, 127)      requantisation to the output's scale

where s_w is one scale per tensor or per output channel, s_y comes from the layer's activation
observer, and lo is 0 when a ReLU is fused (else -128). The weights are stored as int8 (a
quarter of float32). These modules have no Parameters and raise ``ValueError`` when run in
training mode: integer rounding has no gradient, train the QAT model instead.

>>> import numpy as np
>>> from tutorlib import Tensor, dtype
>>> stub = QuantStub(dtype.qint8(0.1))
>>> q = stub(Tensor([0.26, -1.0]))
>>> q.numpy(), dtype.get_scale(q.dtype)
(array([  3, -10], dtype=int8), 0.1)
>>> DequantStub()(q)
Tensor([ 0.3 -1. ], device=cpu0)
"""
from __future__ import annotations

import numpy as np

from .. import dtype as _dtype
from ..functional.nn import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ..kernels import integer
from ..module import Module
from ..module.elemwise import METHODS
from ..tensor import Tensor
from .fold import fold_conv_bn
from .utils import QuantMode, quantized_dtype


def _check_input(module: Module, x) -> np.ndarray:
    """The int8 array of a quantized input, or a ValueError that says what went wrong."""
    if not isinstance(x, Tensor) or not _dtype.is_quantize(x.dtype):
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{type(module).__name__}: expected a quantized (qint8) input from a "
                         f"QuantStub or another quantized module, got {got}; put a QuantStub "
                         f"where the float input enters the quantized part of the model")
    if _dtype.get_zero_point(x.dtype) != 0:
        raise ValueError(f"{type(module).__name__}: integer layers take symmetric inputs "
                         f"(zero point 0), got zero point {_dtype.get_zero_point(x.dtype)}")
    return x._data


def _wrap(array: np.ndarray, like: Tensor) -> Tensor:
    return Tensor._wrap(array, like.device)


def _output_dtype(qat_module) -> np.dtype:
    if getattr(qat_module, "act_observer", None) is None:
        raise ValueError(f"quantize: {type(qat_module).__name__} has no activation observer, so "
                         f"its output has no scale (use a QConfig with an act_observer)")
    qparams = qat_module.get_activation_qparams()
    if qparams.mode != QuantMode.SYMMERTIC or qparams.dtype_meta.qmin >= 0:
        raise ValueError(f"quantize: the integer layers use symmetric signed activations "
                         f"(qint8), got {qparams.dtype_meta.name} {qparams.mode.name}")
    return quantized_dtype(qparams)


class QuantizedModule(Module):
    """Base of the integer modules: no training (``ValueError``), no parameters."""

    def __init__(self):
        super().__init__()
        self.training = False

    def __call__(self, *inputs, **kwargs):
        if self.training:
            raise ValueError(f"{type(self).__name__} is a quantized module: it only runs "
                             f"inference (call model.eval()); to train, use the QAT model")
        return super().__call__(*inputs, **kwargs)


class _WeightedLayer(QuantizedModule):
    """Shared by Conv2d and Linear: int8 weights, per-tensor or per-channel scales, float bias."""

    def _set_weights(self, weight: np.ndarray, bias: np.ndarray, qat_module, relu: bool):
        observer = getattr(qat_module, "weight_observer", None)
        if observer is None:
            raise ValueError(f"quantize: {type(qat_module).__name__} has no weight observer")
        if getattr(observer, "min_val", None) is None:       # never saw a forward pass
            observer.observe(np.asarray(weight, np.float64))
        qparams = qat_module.get_weight_qparams()
        meta = qparams.dtype_meta
        scale = np.broadcast_to(np.asarray(qparams.scale, np.float64),
                                weight.shape[:1] + (1,) * (weight.ndim - 1))
        q = np.clip(np.rint(weight / scale), meta.qmin, meta.qmax).astype(np.int8)
        self.weight = Tensor(q)                                       # int8, O first
        self.weight_scale = Tensor(scale.reshape(-1).astype(np.float32))   # (O,)
        self.bias = Tensor(np.zeros(weight.shape[0], np.float32) if bias is None
                           else np.asarray(bias, np.float32).reshape(-1))
        self.output_dtype = _output_dtype(qat_module)
        self.relu = relu

    def _requantize(self, acc: np.ndarray, s_in: float, channel_shape: tuple) -> np.ndarray:
        s_acc = s_in * self.weight_scale._data.astype(np.float64)          # (O,)
        acc = acc + np.rint(self.bias._data / s_acc).astype(acc.dtype).reshape(channel_shape)
        qmin, qmax = _dtype.quantized_range(self.output_dtype)
        multiplier = (s_acc / _dtype.get_scale(self.output_dtype)).reshape(channel_shape)
        return integer.requantize(acc, multiplier, 0 if self.relu else qmin, qmax,
                                  self.output_dtype)


class Conv2d(_WeightedLayer):
    """Integer conv (from a QAT Conv2d, ConvRelu2d, ConvBn2d or ConvBnRelu2d; BN folded)."""

    @classmethod
    def from_qat_module(cls, qat_module) -> Conv2d:
        conv = getattr(qat_module, "conv", qat_module)
        if conv.padding_mode != "zeros":
            raise ValueError(f"quantize: integer conv pads with zeros, got padding_mode "
                             f"{conv.padding_mode!r}")
        if hasattr(qat_module, "bn"):
            weight, bias = fold_conv_bn(conv, qat_module.bn)
        else:
            weight = conv.weight.numpy()
            bias = None if conv.bias is None else conv.bias.numpy()
        m = cls()
        m.stride, m.padding, m.dilation, m.groups = conv.stride, conv.padding, conv.dilation, \
            conv.groups
        m.weight_shape = weight.shape
        flat = weight.reshape((conv.out_channels,) + weight.shape[-3:])    # groups: (O, C/G, ..)
        m._set_weights(flat if weight.ndim == 4 or not _per_group(qat_module) else weight,
                       bias, qat_module, relu=type(qat_module).__name__.endswith("Relu2d"))
        m.weight._data = m.weight._data.reshape(flat.shape)
        if m.weight_scale.shape[0] != conv.out_channels:      # per-group scales -> per channel
            m.weight_scale._data = np.repeat(m.weight_scale._data,
                                             conv.out_channels // m.weight_scale.shape[0])
        return m

    def forward(self, x):
        q = _check_input(self, x)
        acc = integer.conv2d(q, self.weight._data, self.stride, self.padding, self.dilation,
                             self.groups)
        return _wrap(self._requantize(acc, _dtype.get_scale(x.dtype), (1, -1, 1, 1)), x)

    def _module_info_string(self) -> str:
        return (f"weight={self.weight.shape} int8, stride={self.stride}, padding={self.padding}"
                f", relu={self.relu}, out_scale={_dtype.get_scale(self.output_dtype):.4g}")


def _per_group(qat_module) -> bool:
    """True if a grouped conv's weight observer keeps one scale per group (ch_axis 0 of the
    (G, O/G, ...) weight) rather than one per tensor."""
    observer = qat_module.weight_observer
    return observer is not None and observer.ch_axis is not None


class Linear(_WeightedLayer):
    """Integer linear layer (from a QAT Linear or LinearRelu)."""

    @classmethod
    def from_qat_module(cls, qat_module) -> Linear:
        m = cls()
        bias = None if qat_module.bias is None else qat_module.bias.numpy()
        m._set_weights(qat_module.weight.numpy(), bias, qat_module,
                       relu=type(qat_module).__name__ == "LinearRelu")
        return m

    def forward(self, x):
        q = _check_input(self, x)
        if q.ndim != 2 or q.shape[1] != self.weight.shape[1]:
            raise ValueError(f"quantized Linear: expected input (N, {self.weight.shape[1]}), "
                             f"got {q.shape}")
        acc = integer.linear(q, self.weight._data)
        return _wrap(self._requantize(acc, _dtype.get_scale(x.dtype), (1, -1)), x)

    def _module_info_string(self) -> str:
        return (f"weight={self.weight.shape} int8, relu={self.relu}, "
                f"out_scale={_dtype.get_scale(self.output_dtype):.4g}")


class Elemwise(QuantizedModule):
    """Integer elementwise op: both inputs to real values, the op, requantised to the output."""

    @classmethod
    def from_qat_module(cls, qat_module) -> Elemwise:
        m = cls()
        m.method = qat_module.method
        m.output_dtype = _output_dtype(qat_module)
        return m

    def forward(self, a, b):
        real = METHODS[self.method](_dtype.convert_from_quantized(_check_input(self, a))
                                    .astype(np.float64),
                                    _dtype.convert_from_quantized(_check_input(self, b)))
        return _wrap(_dtype.convert_to_quantized(np.asarray(real), self.output_dtype), a)

    def _module_info_string(self) -> str:
        return f"{self.method!r}, out_scale={_dtype.get_scale(self.output_dtype):.4g}"


class QuantStub(QuantizedModule):
    """float → int8 with the scale the stub's observer found."""

    def __init__(self, output_dtype: np.dtype):
        super().__init__()
        self.output_dtype = output_dtype

    @classmethod
    def from_qat_module(cls, qat_module) -> QuantStub:
        return cls(_output_dtype(qat_module))

    def forward(self, x):
        data = x._data if isinstance(x, Tensor) else np.asarray(x)
        out = _dtype.convert_to_quantized(data, self.output_dtype)
        return Tensor._wrap(out, x.device) if isinstance(x, Tensor) else Tensor(out)

    def _module_info_string(self) -> str:
        return f"scale={_dtype.get_scale(self.output_dtype):.4g}"


class DequantStub(QuantizedModule):
    """int8 → float (a float input passes unchanged)."""

    @classmethod
    def from_qat_module(cls, qat_module) -> DequantStub:
        return cls()

    def forward(self, x):
        if isinstance(x, Tensor) and _dtype.is_quantize(x.dtype):
            return _wrap(_dtype.convert_from_quantized(x._data), x)
        return x


class _Pool(QuantizedModule):
    """Pooling on int8 values (same scale in and out); float inputs are pooled as floats."""

    @classmethod
    def from_float_module(cls, float_module):
        m = cls()
        m.__dict__.update({k: v for k, v in float_module.__dict__.items() if not
                           k.startswith("_") and k not in ("training", "name")})
        m._info = float_module._module_info_string()
        return m

    def _module_info_string(self) -> str:
        return self._info

    def forward(self, x):
        if not (isinstance(x, Tensor) and _dtype.is_quantize(x.dtype)):
            return self._pool(x)
        real = self._pool(Tensor._wrap(x._data.astype(np.float32), x.device))._data
        return _wrap(np.rint(real).astype(x.dtype), x)


class MaxPool2d(_Pool):
    """Max pooling: exact on the integers."""

    def _pool(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool):
    """Average pooling: the mean of the integers, rounded once."""

    def _pool(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.mode)


class AdaptiveAvgPool2d(_Pool):
    """Adaptive average pooling: the mean of the integers, rounded once."""

    def _pool(self, x):
        return adaptive_avg_pool2d(x, self.oshp)
