"""tutorlib: a small, readable, fast deep-learning framework with MegEngine's API.

>>> import tutorlib as tl
>>> import tutorlib.functional as F
>>> x = tl.Tensor([1.0, 2.0, 3.0])
>>> F.sum(x * x)
Tensor(14.0, device=cpu0)
"""
from .device import get_default_device, set_default_device
from .tensor import Parameter, Tensor, tensor
from . import random  # noqa: E402
from .autodiff import GradManager  # noqa: F401  (also reachable as tutorlib.autodiff.GradManager)
from .serialization import load, save
from . import autodiff, functional, module, optimizer  # noqa: E402,F401

__version__ = "0.1.0"

__all__ = ["Tensor", "Parameter", "tensor", "get_default_device", "set_default_device",
           "random", "save", "load", "autodiff", "functional", "module", "optimizer", "__version__"]
