"""The workflows: QAT (``quantize_qat`` → train → ``quantize``) and calibration (PTQ).

``quantize_qat(model, qconfig=...)`` replaces every quantizable float layer (Conv2d, ConvRelu2d,
ConvBn2d, ConvBnRelu2d, Linear, LinearRelu, Elemwise, QuantStub, DequantStub) by its QAT
version, sharing the Parameters, and gives each its observers and fake quantizers.
``quantize(model)`` replaces the QAT layers (and the pooling layers) by integer ones.

Calibration instead of training: ``quantize_qat(model, qconfig=calibration_qconfig)``,
``model.eval()``, ``enable_observer(model)``, run a few batches, ``quantize(model)``.

>>> import numpy as np
>>> import tutorlib.module as M
>>> from tutorlib import Tensor
>>> class Net(M.Module):
...     def __init__(self):
...         super().__init__()
...         self.quant, self.dequant = M.QuantStub(), M.DequantStub()
...         self.fc = M.LinearRelu(4, 3)
...     def forward(self, x):
...         return self.dequant(self.fc(self.quant(x)))
>>> net = Net()
>>> x = Tensor(np.random.default_rng(0).normal(size=(8, 4)))
>>> from tutorlib.quantization import calibration_qconfig
>>> _ = quantize_qat(net, qconfig=calibration_qconfig)
>>> net.eval(); enable_observer(net); _ = net(x)
>>> _ = quantize(net)
>>> type(net.fc).__module__, net.fc.weight.dtype
('tutorlib.quantization.quantized', dtype('int8'))
"""
from __future__ import annotations

from .. import module as M
from ..module import Module
from . import qat, quantized
from .fake_quant import FakeQuantize
from .observer import Observer
from .qconfig import QConfig, ema_fakequant_qconfig
from .utils import copy_module

QAT_MAPPING = {
    M.Conv2d: qat.Conv2d, M.ConvRelu2d: qat.ConvRelu2d, M.ConvBn2d: qat.ConvBn2d,
    M.ConvBnRelu2d: qat.ConvBnRelu2d, M.Linear: qat.Linear, M.LinearRelu: qat.LinearRelu,
    M.Elemwise: qat.Elemwise, M.QuantStub: qat.QuantStub, M.DequantStub: qat.DequantStub,
}
QUANTIZED_MAPPING = {
    qat.Conv2d: quantized.Conv2d, qat.ConvRelu2d: quantized.Conv2d,
    qat.ConvBn2d: quantized.Conv2d, qat.ConvBnRelu2d: quantized.Conv2d,
    qat.Linear: quantized.Linear, qat.LinearRelu: quantized.Linear,
    qat.Elemwise: quantized.Elemwise, qat.QuantStub: quantized.QuantStub,
    qat.DequantStub: quantized.DequantStub,
}
POOL_MAPPING = {M.MaxPool2d: quantized.MaxPool2d, M.AvgPool2d: quantized.AvgPool2d,
                M.AdaptiveAvgPool2d: quantized.AdaptiveAvgPool2d}


def disable_quantize(module: Module) -> Module:
    """Keep ``module`` (and what is inside it) float: ``quantize_qat`` skips it."""
    module.quantize_disabled = True
    return module


def _swap(value, convert):
    """``value`` with every module ``convert`` maps replaced (depth first, lists and dicts too)."""
    if isinstance(value, Module):
        if getattr(value, "quantize_disabled", False):
            return value
        new = convert(value)
        if new is not None:
            return new
        for attr, child in list(vars(value).items()):
            if isinstance(child, (Module, list, tuple, dict)):
                swapped = _swap(child, convert)
                if swapped is not child:
                    setattr(value, attr, swapped)
        return value
    if isinstance(value, (list, tuple)):
        items = [_swap(v, convert) for v in value]
        if any(a is not b for a, b in zip(items, value)):
            return type(value)(items) if isinstance(value, tuple) else items
        return value
    if isinstance(value, dict):
        items = {k: _swap(v, convert) for k, v in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    return value


def propagate_qconfig(module: Module, qconfig: QConfig) -> None:
    """Give every QAT layer in ``module`` new observers and fake quantizers from ``qconfig``."""
    for m in list(module.modules()):
        if isinstance(m, qat.QATModule):
            m.set_qconfig(qconfig)


def quantize_qat(module: Module, inplace: bool = True, qconfig: QConfig = ema_fakequant_qconfig,
                 mapping: dict | None = None) -> Module:
    """Swap quantizable float layers for QAT layers and set their ``qconfig``; returns the model."""
    if not isinstance(qconfig, QConfig):
        raise TypeError(f"quantize_qat: qconfig must be a QConfig, got {type(qconfig).__name__}")
    if not inplace:
        module = copy_module(module)
    table = QAT_MAPPING if mapping is None else mapping

    def convert(m):
        cls = table.get(type(m))
        return None if cls is None else cls.from_float_module(m)

    module = _swap(module, convert)
    propagate_qconfig(module, qconfig)
    return module


def quantize(module: Module, inplace: bool = True, mapping: dict | None = None) -> Module:
    """Swap QAT layers (and pooling layers) for integer inference layers; returns the model."""
    if not inplace:
        module = copy_module(module)
    table = dict(QUANTIZED_MAPPING if mapping is None else mapping)

    def convert(m):
        if type(m) in table:
            return table[type(m)].from_qat_module(m)
        if type(m) in POOL_MAPPING:
            return POOL_MAPPING[type(m)].from_float_module(m)
        return None

    return _swap(module, convert)


def _set(module: Module, kind, enabled: bool) -> None:
    for m in module.modules():
        if isinstance(m, kind):
            m.enable() if enabled else m.disable()


def enable_observer(module: Module) -> None:
    """Let every observer in ``module`` record (also in eval mode: calibration)."""
    _set(module, Observer, True)


def disable_observer(module: Module) -> None:
    """Freeze every observer's statistics (the scales stop changing)."""
    _set(module, Observer, False)


def enable_fake_quant(module: Module) -> None:
    """Round to the grids in forward (QAT)."""
    _set(module, FakeQuantize, True)


def disable_fake_quant(module: Module) -> None:
    """Skip the rounding (the model runs in float while observers may still record)."""
    _set(module, FakeQuantize, False)
