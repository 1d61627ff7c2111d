"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d`` (NCHW input).

>>> import numpy as np
>>> from tutorlib import Tensor
>>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
>>> MaxPool2d(2)(x).numpy().ravel()
array([ 5.,  7., 13., 15.], dtype=float32)
>>> AdaptiveAvgPool2d(1)(x).numpy().ravel()
array([7.5], dtype=float32)
"""
from __future__ import annotations

from .. import _validate as check
from ..functional.nn import _pool_args, adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .module import Module


class MaxPool2d(Module):
    """Maximum over each window; ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, name: str | None = None):
        super().__init__(name)
        _pool_args("MaxPool2d", kernel_size, stride, padding)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def _module_info_string(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over each window; ``mode="average"`` counts zero padding, the default does not."""

    def __init__(self, kernel_size, stride=None, padding=0,
                 mode: str = "average_count_exclude_padding", name: str | None = None):
        super().__init__(name)
        _pool_args("AvgPool2d", kernel_size, stride, padding)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.mode = check.one_of("AvgPool2d", "mode", mode,
                                 ("average", "average_count_exclude_padding"))

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.mode)

    def _module_info_string(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"mode={self.mode}")


class AdaptiveAvgPool2d(Module):
    """Average pooling to the output size ``oshp`` (an int or (OH, OW))."""

    def __init__(self, oshp, name: str | None = None):
        super().__init__(name)
        check.int_pair("AdaptiveAvgPool2d", "oshp", oshp)
        self.oshp = oshp

    def forward(self, x):
        return adaptive_avg_pool2d(x, self.oshp)

    def _module_info_string(self) -> str:
        return f"oshp={self.oshp}"
