"""``Tensor`` and ``Parameter``: a numpy array with a device, a gradient slot and a place in the graph.

A Tensor owns a numpy array (``float32`` by default, integers as ``int32``; see
:mod:`tutorlib.dtype`). Arithmetic on tensors goes through :mod:`tutorlib.functional`, which
runs primitive ops (:mod:`tutorlib.ops`) and records them for autodiff while a
:class:`~tutorlib.autodiff.GradManager` is recording.

>>> a = Tensor([[1, 2, 3], [4, 5, 6]])
>>> a
Tensor([[1 2 3]
 [4 5 6]], dtype=int32, device=cpu0)
>>> (a * 2.0 + 1).sum()
Tensor(48.0, device=cpu0)
>>> a.shape, a.ndim, a.size, a.dtype
((2, 3), 2, 6, dtype('int32'))
"""
from __future__ import annotations

import numpy as np

from .device import Device
from .dtype import canonical, to_dtype


class Tensor:
    """A multi-dimensional array that can take part in automatic differentiation.

    Args:
        data: a number, nested list, numpy array or Tensor (always copied) of bools, ints or floats.
        dtype: optional dtype; by default float64 becomes float32 and int64 int32.
        device: device name, ``"cpu0"`` by default.
        name: optional name (shown in graph drawings).

    Strings, objects and complex numbers raise a TypeError, and an integer that does not fit the
    integer dtype raises a ValueError (nothing wraps around silently).

    >>> Tensor(3.0)
    Tensor(3.0, device=cpu0)
    >>> Tensor([1.5, 2.5]).astype("int32")
    Tensor([1 2], dtype=int32, device=cpu0)
    """

    __slots__ = ("_data", "_device", "grad", "_node", "_tracked", "name", "__weakref__")
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __init__(self, data, dtype=None, device=None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data._data
        if dtype is not None:
            array = to_dtype(data, dtype, "Tensor")
        else:
            try:
                array = np.array(data, copy=True)
            except (ValueError, OverflowError) as e:     # ragged lists, ints beyond int64
                raise ValueError(f"Tensor: cannot make a tensor from this data ({e})") from None
            array = canonical(array, "Tensor")
        self._data = array
        self._device = Device.parse(device)
        self.grad = None
        self._node = None     # the recorded op that produced this tensor (see tutorlib.autodiff)
        self._tracked = 0     # > 0 while attached to a recording GradManager
        self.name = name

    @classmethod
    def _wrap(cls, array: np.ndarray, device: Device) -> "Tensor":
        """Wrap an op's result without copying (internal fast path)."""
        t = object.__new__(Tensor)
        t._data = array
        t._device = device
        t.grad = None
        t._node = None
        t._tracked = 0
        t.name = None
        return t

    # ---- attributes -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The shape, a tuple of ints."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of the elements."""
        return self._data.dtype

    @property
    def device(self) -> Device:
        """The device holding the data (``cpu0``)."""
        return self._device

    @property
    def T(self) -> "Tensor":
        """The transpose (all axes reversed)."""
        return F.transpose(self)

    @property
    def requires_grad(self):
        raise AttributeError("requires_grad is reserved for future use; attach tensors to a GradManager")

    # ---- conversion ---------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A copy of the data as a numpy array."""
        return self._data.copy()

    def item(self, *args):
        """The value of a one-element tensor as a Python number.

        >>> Tensor([[2.5]]).item()
        2.5
        """
        if args:
            return self._data.item(*args)
        if self._data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self._data.item()

    def tolist(self):
        """The data as (nested) Python lists."""
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def astype(self, dtype) -> "Tensor":
        """A new tensor with elements cast to ``dtype``."""
        return F.astype(self, dtype)

    def to(self, device) -> "Tensor":
        """A copy of this tensor on ``device``."""
        return F.copy(self, device)

    def detach(self) -> "Tensor":
        """A new tensor with the same data, cut off from the recorded graph."""
        return Tensor._wrap(self._data, self._device)

    # ---- shape ----------------------------------------------------------------------------------
    def reshape(self, *shape) -> "Tensor":
        """Same data, new shape; one dimension may be -1. ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return F.reshape(self, shape)

    def transpose(self, *pattern) -> "Tensor":
        """Permute axes; with no arguments the axes are reversed."""
        if len(pattern) == 1 and isinstance(pattern[0], (tuple, list)):
            pattern = tuple(pattern[0])
        return F.transpose(self, pattern or None)

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> "Tensor":
        """Merge axes ``start_axis..end_axis`` into one."""
        return F.flatten(self, start_axis, end_axis)

    # ---- reductions -----------------------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Sum over ``axis`` (all axes by default)."""
        return F.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Mean over ``axis`` (all axes by default)."""
        return F.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Maximum over ``axis`` (all axes by default)."""
        return F.max(self, axis, keepdims)

    def min(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Minimum over ``axis`` (all axes by default)."""
        return F.min(self, axis, keepdims)

    def prod(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Product over ``axis`` (all axes by default)."""
        return F.prod(self, axis, keepdims)

    # ---- indexing ---------------------------------------------------------------------------------
    def __getitem__(self, index) -> "Tensor":
        return F.indexing(self, index)

    def __setitem__(self, index, value) -> None:
        """Write into part of the tensor; like MegEngine this replaces the tensor's storage."""
        self._reset(F.set_subtensor(self, index, value))

    def _reset(self, other: "Tensor") -> "Tensor":
        """Take over ``other``'s data and graph node (used by in-place operators)."""
        self._data = other._data
        node = other._node
        if node is not None:
            node.rebind(self)
        self._node = node
        return self

    # ---- Python protocol ----------------------------------------------------------------------------
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("ndim is 0")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __index__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        with np.printoptions(precision=4, suppress=True):
            body = str(self._data)
        dtype = "" if self._data.dtype == np.float32 else f", dtype={self._data.dtype.name}"
        return f"{type(self).__name__}({body}{dtype}, device={self._device})"

    # ---- operators (each is a functional op) ---------------------------------------------------------
    def __add__(self, o): return F.add(self, o)
    def __radd__(self, o): return F.add(o, self)
    def __sub__(self, o): return F.sub(self, o)
    def __rsub__(self, o): return F.sub(o, self)
    def __mul__(self, o): return F.mul(self, o)
    def __rmul__(self, o): return F.mul(o, self)
    def __truediv__(self, o): return F.div(self, o)
    def __rtruediv__(self, o): return F.div(o, self)
    def __floordiv__(self, o): return F.floor_div(self, o)
    def __rfloordiv__(self, o): return F.floor_div(o, self)
    def __mod__(self, o): return F.mod(self, o)
    def __rmod__(self, o): return F.mod(o, self)
    def __pow__(self, o): return F.pow(self, o)
    def __rpow__(self, o): return F.pow(o, self)
    def __matmul__(self, o): return F.matmul(self, o)
    def __rmatmul__(self, o): return F.matmul(o, self)
    def __neg__(self): return F.neg(self)
    def __pos__(self): return self
    def __abs__(self): return F.abs(self)
    def __round__(self): return F.round(self)
    def __invert__(self): return F.logical_not(self)
    def __and__(self, o): return F.logical_and(self, o)
    def __or__(self, o): return F.logical_or(self, o)
    def __xor__(self, o): return F.logical_xor(self, o)
    def __eq__(self, o): return F.equal(self, o)
    def __ne__(self, o): return F.not_equal(self, o)
    def __lt__(self, o): return F.less(self, o)
    def __le__(self, o): return F.less_equal(self, o)
    def __gt__(self, o): return F.greater(self, o)
    def __ge__(self, o): return F.greater_equal(self, o)
    def __iadd__(self, o): return self._reset(F.add(self, o))
    def __isub__(self, o): return self._reset(F.sub(self, o))
    def __imul__(self, o): return self._reset(F.mul(self, o))
    def __itruediv__(self, o): return self._reset(F.div(self, o))


class Parameter(Tensor):
    """A Tensor that a model learns. Optimizers only accept Parameters.

    Ops on a Parameter return plain Tensors.

    >>> w = Parameter([1.0, 2.0])
    >>> w
    Parameter([1. 2.], device=cpu0)
    >>> type(w * 2).__name__
    'Tensor'
    """

    __slots__ = ()


def tensor(data, dtype=None, device=None) -> Tensor:
    """Alias of ``Tensor(data, dtype, device)`` (as ``megengine.tensor``)."""
    return Tensor(data, dtype=dtype, device=device)


from . import functional as F  # noqa: E402  (functional imports Tensor from this module)
