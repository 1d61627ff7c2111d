"""tutorlib: a small, readable, fast deep-learning framework with MegEngine's API.

>>> import tutorlib as tl
>>> import tutorlib.functional as F
>>> x = tl.Tensor([1.0, 2.0, 3.0])
>>> F.sum(x * x)
Tensor(14.0, device=cpu0)
"""
from . import autodiff, functional, module, optimizer, random
from .autodiff import GradManager  # noqa: F401  (also reachable as tutorlib.autodiff.GradManager)
from .device import get_default_device, set_default_device
from .kernels.memory import keep_freed_memory
from .serialization import load, save
from .tensor import Parameter, Tensor, tensor

__version__ = "0.1.0"

__all__ = ["Parameter", "Tensor", "__version__", "autodiff", "functional", "get_default_device",
           "keep_freed_memory", "load", "module", "optimizer", "random", "save",
           "set_default_device", "tensor"]
