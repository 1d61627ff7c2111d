"""QAT modules: float layers that observe and fake-quantize their weights and outputs.

``quantize_qat`` swaps each quantizable float layer for the class of the same name here
(``X.from_float_module(m)``, sharing its Parameters) and gives it observers and fake quantizers
from a ``QConfig``. Forward of a QAT conv (MegEngine ``module/qat``)::

    w_q = weight_fake_quant(weight_observer(W))          # weights on the int8 grid
    y   = act_fake_quant(act_observer(conv(x, w_q, b)))   # outputs on the int8 grid

The bias stays float here: once integer, it is stored in int32 with scale s_in·s_w (far finer
than the outputs' int8 steps), so its rounding does not matter for training.

``ConvBn2d`` (and ``ConvBnRelu2d``) train with the BN folded into the weights, so that the
rounding seen in training is the rounding of the folded weights the integer layer will use
(MegEngine's ``approx`` scheme): fold with the running statistics, fake-quantize, convolve,
divide the folding factor back out and apply the real batch norm with batch statistics.

>>> import numpy as np
>>> import tutorlib.module as M
>>> from tutorlib import Tensor
>>> from tutorlib.quantization import ema_fakequant_qconfig
>>> m = Conv2d.from_float_module(M.Conv2d(1, 2, 3))
>>> m.set_qconfig(ema_fakequant_qconfig)
>>> y = m(Tensor(np.random.default_rng(0).normal(size=(1, 1, 5, 5))))
>>> s = float(m.get_activation_qparams().scale)
>>> bool(np.allclose(y.numpy() / s, np.round(y.numpy() / s), atol=1e-3))   # on the grid
True
"""
from __future__ import annotations

import numpy as np

from .. import module as M
from ..functional.elemwise import relu
from ..functional.nn import conv2d, linear, pad
from ..module import Module
from ..tensor import Tensor
from .qconfig import QConfig
from .utils import QParams


class QATModule(Module):
    """Mixin of the QAT layers: observers and fake quantizers for weight and activation."""

    with_weight = True
    with_act = True

    def _init_qat(self) -> None:
        self.weight_observer = self.act_observer = None
        self.weight_fake_quant = self.act_fake_quant = None

    @classmethod
    def from_float_module(cls, float_module: Module) -> QATModule:
        """A QAT layer sharing ``float_module``'s parameters, attributes and training mode."""
        qat = cls.__new__(cls)
        qat.__dict__.update(float_module.__dict__)
        qat._init_qat()
        return qat

    def set_qconfig(self, qconfig: QConfig) -> None:
        """Create this layer's observers and fake quantizers from ``qconfig``'s factories."""
        def make(factory):
            return None if factory is None else factory()
        if self.with_weight:
            self.weight_observer = make(qconfig.weight_observer)
            self.weight_fake_quant = make(qconfig.weight_fake_quant)
        if self.with_act:
            self.act_observer = make(qconfig.act_observer)
            self.act_fake_quant = make(qconfig.act_fake_quant)
        for m in (self.weight_observer, self.act_observer, self.weight_fake_quant,
                  self.act_fake_quant):
            if m is not None:
                m.training = self.training

    @staticmethod
    def _observe_and_fake_quant(x, observer, fake_quant):
        if observer is None:
            return x
        x = observer(x)
        if fake_quant is None or not fake_quant.enabled:
            return x
        return fake_quant(x, observer.get_qparams())

    def apply_quant_weight(self, w):
        """Observe ``w`` and round it to the weight grid (when a fake quantizer is set)."""
        return self._observe_and_fake_quant(w, self.weight_observer, self.weight_fake_quant)

    def apply_quant_activation(self, y):
        """Observe ``y`` and round it to the activation grid (when a fake quantizer is set)."""
        return self._observe_and_fake_quant(y, self.act_observer, self.act_fake_quant)

    def get_weight_qparams(self) -> QParams:
        """The weight observer's current QParams."""
        return self.weight_observer.get_qparams()

    def get_activation_qparams(self) -> QParams:
        """The activation observer's current QParams (the scale of this layer's output)."""
        return self.act_observer.get_qparams()


class _ConvMixin:
    def _conv(self, x, weight, bias):
        padding = self.padding
        if self.padding_mode != "zeros" and padding != (0, 0):
            ph, pw = padding
            x = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode=self.padding_mode)
            padding = (0, 0)
        return conv2d(x, weight, bias, self.stride, padding, self.dilation, self.groups,
                      self.conv_mode, self.compute_mode)


class Conv2d(M.Conv2d, QATModule, _ConvMixin):
    """QAT ``Conv2d``: ``act_fq(conv(x, weight_fq(W), b))``."""

    def forward(self, x):
        return self.apply_quant_activation(
            self._conv(x, self.apply_quant_weight(self.weight), self.bias))


class ConvRelu2d(M.ConvRelu2d, QATModule, _ConvMixin):
    """QAT ``ConvRelu2d``: the ReLU comes before the output's fake quantization."""

    def forward(self, x):
        return self.apply_quant_activation(
            relu(self._conv(x, self.apply_quant_weight(self.weight), self.bias)))


def _channel_shape(weight_shape) -> tuple:
    """Shape of one factor per output channel, broadcasting against a (grouped) conv weight."""
    return tuple(weight_shape[:-3]) + (1, 1, 1)


class _ConvBnQAT(QATModule):
    @classmethod
    def from_float_module(cls, float_module):
        qat = super().from_float_module(float_module)
        qat.conv = InnerConv2d.__new__(InnerConv2d)     # the inner conv can take another weight
        qat.conv.__dict__.update(float_module.conv.__dict__)
        return qat

    def fold_weight_bias(self, mean, var):
        """(folded weight, folded bias, factor) from BN statistics ``mean`` and ``var``:
        ``W·γ/σ`` and ``β + γ(b - μ)/σ`` with σ = √(var + eps)."""
        conv, bn = self.conv, self.bn
        gamma = bn.weight if bn.weight is not None else Tensor(np.ones(mean.shape, np.float32))
        beta = bn.bias if bn.bias is not None else Tensor(np.zeros(mean.shape, np.float32))
        inv_std = 1.0 / (var + bn.eps) ** 0.5
        factor = gamma * inv_std                                    # (1, O, 1, 1)
        w_fold = conv.weight * factor.reshape(_channel_shape(conv.weight.shape))
        b = conv.bias if conv.bias is not None else 0.0
        b_fold = beta + gamma * (b - mean) * inv_std
        return w_fold, b_fold, factor

    def _conv_bn(self, x):
        bn = self.bn
        if bn.running_mean is None:
            raise ValueError("QAT ConvBn2d needs BatchNorm2d(track_running_stats=True) to fold")
        w_fold, b_fold, factor = self.fold_weight_bias(bn.running_mean, bn.running_var)
        w_q = self.apply_quant_weight(w_fold)
        if not self.training:
            return self.conv._conv(x, w_q, b_fold)
        # training: undo the folding factor and normalise with the batch's statistics
        y = self.conv._conv(x, w_q, None) / factor
        if self.conv.bias is not None:
            y = y + self.conv.bias
        return bn(y)


class InnerConv2d(M.Conv2d, _ConvMixin):
    """The inner conv of a QAT ConvBn (a plain float conv that can take another weight)."""


class ConvBn2d(M.ConvBn2d, _ConvBnQAT):
    """QAT ``ConvBn2d``: BN folded into the fake-quantized weights."""

    def forward(self, x):
        return self.apply_quant_activation(self._conv_bn(x))


class ConvBnRelu2d(M.ConvBnRelu2d, _ConvBnQAT):
    """QAT ``ConvBnRelu2d``: BN folded into the fake-quantized weights, then ReLU."""

    def forward(self, x):
        return self.apply_quant_activation(relu(self._conv_bn(x)))


class Linear(M.Linear, QATModule):
    """QAT ``Linear``: ``act_fq(linear(x, weight_fq(W), b))``."""

    def forward(self, x):
        return self.apply_quant_activation(linear(x, self.apply_quant_weight(self.weight),
                                                  self.bias))


class LinearRelu(M.LinearRelu, QATModule):
    """QAT ``LinearRelu``."""

    def forward(self, x):
        return self.apply_quant_activation(
            relu(linear(x, self.apply_quant_weight(self.weight), self.bias)))


class Elemwise(M.Elemwise, QATModule):
    """QAT ``Elemwise``: the float result, observed and fake-quantized."""

    with_weight = False

    def forward(self, a, b):
        return self.apply_quant_activation(super().forward(a, b))


class QuantStub(M.QuantStub, QATModule):
    """QAT ``QuantStub``: observes (and fake-quantizes) the model's input."""

    with_weight = False

    def forward(self, x):
        return self.apply_quant_activation(x)


class DequantStub(M.DequantStub, QATModule):
    """QAT ``DequantStub``: the identity (its input is already on a grid)."""

    with_weight = False
    with_act = False
