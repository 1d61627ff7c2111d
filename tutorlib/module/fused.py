"""Fused layers: ``ConvRelu2d``, ``ConvBn2d``, ``ConvBnRelu2d`` and ``LinearRelu`` (as MegEngine).

In float they compute exactly what their parts compute in sequence. They exist for
quantization: a fused layer is quantized as *one* integer layer (conv, BN folded into the
conv's weights, ReLU as the lower clip of the output), so no rounding happens between the parts.

>>> import numpy as np
>>> from tutorlib import Tensor
>>> m = ConvBnRelu2d(3, 8, 3, padding=1)
>>> m.conv, m.bn.num_features
(Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)), 8)
>>> float(m(Tensor(np.ones((1, 3, 4, 4)))).numpy().min()) >= 0
True
"""
from __future__ import annotations

from ..functional.elemwise import relu
from .batchnorm import BatchNorm2d
from .conv import Conv2d
from .linear import Linear
from .module import Module


class ConvRelu2d(Conv2d):
    """``relu(conv2d(x))``; takes Conv2d's arguments."""

    def forward(self, x):
        return relu(super().forward(x))


class _ConvBn(Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, eps: float = 1e-5,
                 momentum: float = 0.9, affine: bool = True, track_running_stats: bool = True,
                 name: str | None = None, **conv_kwargs):
        super().__init__(name)
        self.conv = Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation,
                           groups, bias, **conv_kwargs)
        self.bn = BatchNorm2d(out_channels, eps, momentum, affine, track_running_stats)


class ConvBn2d(_ConvBn):
    """``bn(conv(x))``; takes Conv2d's and BatchNorm2d's arguments."""

    def forward(self, x):
        return self.bn(self.conv(x))


class ConvBnRelu2d(_ConvBn):
    """``relu(bn(conv(x)))``."""

    def forward(self, x):
        return relu(self.bn(self.conv(x)))


class LinearRelu(Linear):
    """``relu(linear(x))``; takes Linear's arguments."""

    def forward(self, x):
        return relu(super().forward(x))
