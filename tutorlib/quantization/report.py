"""Size and accuracy of a model in float, int8 and int16, measured rather than assumed.

``model_size`` adds up the bytes of every tensor a model holds (parameters and buffers, in
their stored dtype), so a quantized model's int8 weights count one byte each.
``fixed_point_model`` runs a float model's Conv2d and Linear layers in Cambricon fixed point
(position + scale, int8 or int16; torch_mlu's ``quantize_dynamic_mlu`` scheme): weights
quantized once, inputs with the absmax seen on calibration batches, integer sums in
int32/int64, rescaled by ``2^(pos_x + pos_w) / (scale_x · scale_w)``, float bias; the other
layers stay float. ``compare`` prints one row per model.

>>> import numpy as np
>>> import tutorlib.module as M
>>> fc = M.Linear(100, 10)
>>> model_size(fc)                                    # 1010 float32 numbers
4040
>>> x = np.random.default_rng(0).normal(size=(64, 100)).astype(np.float32)
>>> fp16 = fixed_point_model(fc, 16, [x])
>>> model_size(fp16)                                  # int16 weights, float32 bias
2040
>>> bool(np.abs(fp16(x).numpy() - fc(x).numpy()).max() < 1e-3)
True
"""
from __future__ import annotations

import numpy as np

from .. import module as M
from ..module import Module
from ..tensor import Tensor
from . import fixed_point
from .observer import Observer
from .utils import copy_module


def model_size(model: Module) -> int:
    """Bytes of every parameter and buffer of ``model`` as stored (observers' statistics and
    other quantization bookkeeping excluded)."""
    seen, total = set(), 0
    for m in model.modules():
        if isinstance(m, Observer):
            continue
        for t in m.tensors(recursive=False):
            if id(t) not in seen:
                seen.add(id(t))
                total += t._data.nbytes
    return total


def accuracy(model: Module, images: np.ndarray, labels: np.ndarray, batch_size: int = 500) -> float:
    """Fraction of ``images`` whose arg-max prediction equals the label (model in eval mode)."""
    correct = 0
    for i in range(0, len(images), batch_size):
        logits = model(Tensor(images[i:i + batch_size])).numpy()
        correct += int((logits.argmax(axis=1) == labels[i:i + batch_size]).sum())
    return correct / len(images)


class FixedPointLayer(Module):
    """A float Conv2d or Linear (or ConvRelu2d, LinearRelu) run in Cambricon fixed point.

    While ``calibrating`` it runs the float layer and records the input's absmax.
    """

    def __init__(self, layer: Module, bitwidth: int):
        super().__init__()
        self.bitwidth = bitwidth
        self.is_conv = isinstance(layer, M.Conv2d)
        self.relu = isinstance(layer, (M.ConvRelu2d, M.LinearRelu))
        if self.is_conv and layer.padding_mode != "zeros":
            raise ValueError(f"fixed_point_model: conv padding_mode must be zeros, got "
                             f"{layer.padding_mode!r}")
        w = layer.weight.numpy()
        if self.is_conv:
            w = w.reshape((layer.out_channels,) + w.shape[-3:])
            self.conv_args = (layer.stride, layer.padding, layer.dilation, layer.groups)
        self.weight_params = fixed_point.params(w, bitwidth, "position_scale")
        self.weight = Tensor(fixed_point.quantize(w, self.weight_params))
        self.bias = None if layer.bias is None else Tensor(layer.bias.numpy().reshape(-1))
        self._float_forward = layer.__call__       # a method: not counted as a sub-module
        self.input_absmax = 0.0
        self.calibrating = True

    def forward(self, x):
        data = x._data if isinstance(x, Tensor) else np.asarray(x, np.float32)
        if self.calibrating:
            self.input_absmax = max(self.input_absmax, float(np.abs(data).max(initial=0.0)))
            return self._float_forward(x)
        px = fixed_point.params(np.array([self.input_absmax]), self.bitwidth, "position_scale")
        qx = fixed_point.quantize(data, px)
        bias = None if self.bias is None else self.bias._data
        if self.is_conv:
            y = fixed_point.conv2d(qx, px, self.weight._data, self.weight_params, bias,
                                   *self.conv_args)
        else:
            y = fixed_point.linear(qx, px, self.weight._data, self.weight_params, bias)
        return Tensor(np.maximum(y, 0) if self.relu else y)

    def _module_info_string(self) -> str:
        return f"int{self.bitwidth}, weight {self.weight.shape}, input absmax {self.input_absmax:.4g}"


def fixed_point_model(model: Module, bitwidth: int, calibration) -> Module:
    """A copy of float ``model`` whose Conv2d/Linear layers run in ``bitwidth``-bit fixed point,
    calibrated on the batches (arrays) of ``calibration``; the copy is in eval mode."""
    model = copy_module(model)
    model.eval()
    layers = []

    def swap(parent):
        for attr, child in list(vars(parent).items()):
            if isinstance(child, (M.Conv2d, M.Linear)):
                layer = FixedPointLayer(child, bitwidth)
                setattr(parent, attr, layer)
                layers.append(layer)
            elif isinstance(child, Module):
                swap(child)

    if isinstance(model, (M.Conv2d, M.Linear)):
        model = FixedPointLayer(model, bitwidth)
        layers.append(model)
    else:
        swap(model)
    model.eval()
    for batch in calibration:
        model(Tensor(batch))
    for layer in layers:
        layer.calibrating = False
    return model


def compare(models: dict, images: np.ndarray, labels: np.ndarray) -> list:
    """One ``(name, bytes, accuracy)`` row per entry of ``models`` (name -> model in eval mode)."""
    return [(name, model_size(m), accuracy(m, images, labels)) for name, m in models.items()]


def format_rows(rows: list) -> str:
    """The rows of ``compare`` as a small table (size relative to the first row).

    >>> print(format_rows([("float", 4000, 0.98), ("int8", 1000, 0.975)]))
    model      size (kB)  vs first  accuracy
    float            3.9     1.00x    98.00%
    int8             1.0     0.25x    97.50%
    """
    base = rows[0][1]
    lines = [f"{'model':<10} {'size (kB)':>10} {'vs first':>9} {'accuracy':>9}"]
    for name, size, acc in rows:
        lines.append(f"{name:<10} {size / 1024:>10.1f} {size / base:>8.2f}x {acc:>9.2%}")
    return "\n".join(lines)
