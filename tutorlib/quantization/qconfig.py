"""``QConfig``: which observer and which fake quantizer a layer gets, for weights and activations.

The fields hold classes or ``functools.partial`` factories, never instances: every layer gets
fresh ones. MegEngine's presets:

==============================  ==================  ====================  ==========================
preset                          weight observer     activation observer   fake quantization
==============================  ==================  ====================  ==========================
``ema_fakequant_qconfig``       MinMax narrow       EMA qint8             FakeQuantize (QAT default)
``min_max_fakequant_qconfig``   MinMax narrow       MinMax qint8          FakeQuantize
``calibration_qconfig``         MinMax narrow       Histogram qint8       none (post-training)
==============================  ==================  ====================  ==========================

``ema_lowbit_fakequant_qconfig`` is the 4-bit (qint4) version of the QAT default. The
``*_per_channel_*`` variants keep one weight scale per output channel (``ch_axis=0``),
which matters after BN folding, when channels' weights differ a lot in size.

>>> isinstance(ema_fakequant_qconfig.act_observer(), ExponentialMovingAverageObserver)
True
>>> QConfig(MinMaxObserver(), None, None, None)
Traceback (most recent call last):
...
TypeError: QConfig.weight_observer must be a class or factory (functools.partial), not an instance: every layer needs its own
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

from ..module import Module
from .fake_quant import FakeQuantize
from .observer import ExponentialMovingAverageObserver, HistogramObserver, MinMaxObserver


class QConfig(NamedTuple("_QConfig", [("weight_observer", object), ("act_observer", object),
                                      ("weight_fake_quant", object), ("act_fake_quant", object)])):
    """``QConfig(weight_observer, act_observer, weight_fake_quant, act_fake_quant)``; None = none."""

    def __new__(cls, weight_observer, act_observer, weight_fake_quant, act_fake_quant):
        for name, value in zip(cls._fields, (weight_observer, act_observer, weight_fake_quant,
                                              act_fake_quant)):
            if isinstance(value, Module):
                raise TypeError(f"QConfig.{name} must be a class or factory (functools.partial), "
                                "not an instance: every layer needs its own")
        return super().__new__(cls, weight_observer, act_observer, weight_fake_quant,
                               act_fake_quant)


ema_fakequant_qconfig = QConfig(
    weight_observer=partial(MinMaxObserver, dtype="qint8_narrow"),
    act_observer=partial(ExponentialMovingAverageObserver, dtype="qint8"),
    weight_fake_quant=partial(FakeQuantize, dtype="qint8_narrow"),
    act_fake_quant=partial(FakeQuantize, dtype="qint8"))

min_max_fakequant_qconfig = QConfig(
    weight_observer=partial(MinMaxObserver, dtype="qint8_narrow"),
    act_observer=partial(MinMaxObserver, dtype="qint8"),
    weight_fake_quant=partial(FakeQuantize, dtype="qint8_narrow"),
    act_fake_quant=partial(FakeQuantize, dtype="qint8"))

calibration_qconfig = QConfig(
    weight_observer=partial(MinMaxObserver, dtype="qint8_narrow"),
    act_observer=partial(HistogramObserver, dtype="qint8"),
    weight_fake_quant=None, act_fake_quant=None)

ema_lowbit_fakequant_qconfig = QConfig(
    weight_observer=partial(MinMaxObserver, dtype="qint4"),
    act_observer=partial(ExponentialMovingAverageObserver, dtype="qint4"),
    weight_fake_quant=partial(FakeQuantize, dtype="qint4"),
    act_fake_quant=partial(FakeQuantize, dtype="qint4"))

ema_fakequant_per_channel_qconfig = ema_fakequant_qconfig._replace(
    weight_observer=partial(MinMaxObserver, dtype="qint8_narrow", ch_axis=0))

calibration_per_channel_qconfig = calibration_qconfig._replace(
    weight_observer=partial(MinMaxObserver, dtype="qint8_narrow", ch_axis=0))
