"""``Conv2d``: 2-D convolution (cross-correlation) over NCHW input.

>>> import numpy as np
>>> from tutorlib import Tensor
>>> conv = Conv2d(1, 6, 5)
>>> conv.weight.shape, conv.bias.shape
((6, 1, 5, 5), (1, 6, 1, 1))
>>> conv(Tensor(np.ones((2, 1, 32, 32)))).shape
(2, 6, 28, 28)
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validate as check
from ..functional.nn import conv2d, pad
from ..tensor import Parameter
from . import init
from .module import Module


class Conv2d(Module):
    """Weight (O, I, kh, kw) (or (G, O/G, I/G, kh, kw) with ``groups=G``) ~ N(0, 1/fan_in);
    bias (1, O, 1, 1) zeros. ``padding_mode`` is "zeros", "reflect" or "replicate".
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True,
                 conv_mode: str = "cross_correlation", compute_mode: str = "default",
                 padding_mode: str = "zeros", name: str | None = None):
        super().__init__(name)
        in_channels = check.positive_int("Conv2d", "in_channels", in_channels)
        out_channels = check.positive_int("Conv2d", "out_channels", out_channels)
        groups = check.positive_int("Conv2d", "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) "
                             f"must be divisible by groups ({groups})")
        if padding_mode not in ("zeros", "reflect", "replicate"):
            raise ValueError(f"Conv2d: padding_mode must be zeros, reflect or replicate, got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = check.int_pair("Conv2d", "kernel_size", kernel_size)
        self.stride = check.int_pair("Conv2d", "stride", stride)
        self.padding = check.int_pair("Conv2d", "padding", padding, low=0)
        self.dilation = check.int_pair("Conv2d", "dilation", dilation)
        self.groups = groups
        self.conv_mode = conv_mode
        self.compute_mode = compute_mode
        self.padding_mode = padding_mode
        kh, kw = self.kernel_size
        if groups == 1:
            shape = (out_channels, in_channels, kh, kw)
        else:
            shape = (groups, out_channels // groups, in_channels // groups, kh, kw)
        self.weight = Parameter(np.zeros(shape, np.float32))
        self.bias = Parameter(np.zeros((1, out_channels, 1, 1), np.float32)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """MegEngine's default: weight ~ N(0, std=√(1/fan_in)), fan_in = in/groups·kh·kw; bias zeros."""
        fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
        init.normal_(self.weight, 0.0, math.sqrt(1.0 / fan_in))
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        padding = self.padding
        if self.padding_mode != "zeros" and padding != (0, 0):
            ph, pw = padding
            x = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode=self.padding_mode)
            padding = (0, 0)
        return conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups,
                      self.conv_mode, self.compute_mode)

    def _module_info_string(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s
