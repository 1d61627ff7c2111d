"""Layers and models, ``import tutorlib.module as M`` (as ``megengine.module``).

>>> import tutorlib.module as M
>>> class LeNet(M.Module):
...     def __init__(self):
...         super().__init__()
...         self.conv1 = M.Conv2d(1, 6, 5)
...         self.pool = M.MaxPool2d(2)
...         self.fc = M.Linear(6 * 12 * 12, 10)
...     def forward(self, x):
...         return self.fc(self.pool(self.conv1(x)).flatten(1))
>>> print(LeNet())
LeNet(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (pool): MaxPool2d(kernel_size=2, stride=2, padding=0)
  (fc): Linear(in_features=864, out_features=10, bias=True)
)
"""
from . import init
from .activation import GELU, LeakyReLU, ReLU, Sigmoid, SiLU, Softmax
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import Sequential
from .conv import Conv2d
from .dropout import Dropout
from .elemwise import Elemwise
from .fused import ConvBn2d, ConvBnRelu2d, ConvRelu2d, LinearRelu
from .identity import Flatten, Identity
from .linear import Linear
from .module import Module
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .quant_dequant import DequantStub, QuantStub

__all__ = [
    "GELU", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvBn2d",
    "ConvBnRelu2d", "ConvRelu2d", "DequantStub", "Dropout", "Elemwise", "Flatten", "Identity",
    "LeakyReLU", "Linear", "LinearRelu", "MaxPool2d", "Module", "QuantStub", "ReLU", "Sequential",
    "SiLU", "Sigmoid", "Softmax", "init",
]
