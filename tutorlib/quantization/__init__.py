"""Quantization, ``import tutorlib.quantization as Q`` (as ``megengine.quantization``).

Two families side by side:

* MegEngine's affine scheme (real = scale · (q - zero_point)): observers
  (:mod:`~tutorlib.quantization.observer`), fake quantization with a straight-through gradient
  (:class:`FakeQuantize`), ``QConfig`` presets, QAT layers (:mod:`~tutorlib.quantization.qat`)
  and integer inference layers (:mod:`~tutorlib.quantization.quantized`), joined by
  ``quantize_qat`` → train → ``quantize``, or calibration (post-training quantization);
* Cambricon's fixed point (:mod:`~tutorlib.quantization.fixed_point`): a power-of-two position,
  a scale and an offset, in int8, int16 or int31.

:mod:`~tutorlib.quantization.report` measures size and accuracy of float, int8 and int16 models.

>>> import tutorlib.quantization as Q
>>> Q.ema_fakequant_qconfig.act_observer.func.__name__
'ExponentialMovingAverageObserver'
"""
from . import fixed_point, qat, quantized, report
from .fake_quant import FakeQuantize
from .fold import fold_conv_bn, fuse_conv_bn_eval
from .observer import ExponentialMovingAverageObserver, HistogramObserver, MinMaxObserver, Observer
from .qconfig import (
    QConfig,
    calibration_per_channel_qconfig,
    calibration_qconfig,
    ema_fakequant_per_channel_qconfig,
    ema_fakequant_qconfig,
    ema_lowbit_fakequant_qconfig,
    min_max_fakequant_qconfig,
)
from .quantize import (
    disable_fake_quant,
    disable_observer,
    disable_quantize,
    enable_fake_quant,
    enable_observer,
    propagate_qconfig,
    quantize,
    quantize_qat,
)
from .utils import QParams, QuantMode, copy_module, create_qparams, fake_quant_tensor

__all__ = [
    "ExponentialMovingAverageObserver", "FakeQuantize", "HistogramObserver", "MinMaxObserver",
    "Observer", "QConfig", "QParams", "QuantMode", "calibration_per_channel_qconfig",
    "calibration_qconfig", "copy_module", "create_qparams", "disable_fake_quant", "disable_observer",
    "disable_quantize", "ema_fakequant_per_channel_qconfig", "ema_fakequant_qconfig",
    "ema_lowbit_fakequant_qconfig",
    "enable_fake_quant", "enable_observer", "fake_quant_tensor", "fixed_point", "fold_conv_bn",
    "fuse_conv_bn_eval", "min_max_fakequant_qconfig", "propagate_qconfig", "qat", "quantize",
    "quantize_qat", "quantized", "report",
]
