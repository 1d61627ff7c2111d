"""Creating tensors and changing their shape (``F.zeros``, ``F.reshape``, ``F.concat``, ...).

>>> import tutorlib.functional as F
>>> F.arange(6).reshape(2, 3)
Tensor([[0. 1. 2.]
 [3. 4. 5.]], device=cpu0)
>>> F.concat([F.zeros((1, 2)), F.ones((1, 2))]).shape
(2, 2)
"""
from __future__ import annotations

import operator

import numpy as np

from .. import _validate as check
from ..device import Device
from ..dtype import canonical_dtype
from ..ops import elementwise as ew
from ..ops import shape as sh
from ..ops.core import apply
from ..tensor import Tensor

__all__ = [
    "zeros", "ones", "full", "arange", "linspace", "eye", "zeros_like", "ones_like", "full_like",
    "astype", "copy", "reshape", "transpose", "flatten", "expand_dims", "squeeze", "concat",
    "stack", "split", "broadcast_to", "gather", "indexing", "set_subtensor", "pad", "repeat",
    "tile", "swapaxes",
]


def _shape(shape, op: str, low: int = 0) -> tuple:
    """``shape`` (an int or a sequence of ints, each >= ``low``) as a tuple of ints."""
    try:
        dims = (shape,) if np.isscalar(shape) or np.ndim(shape) == 0 else tuple(shape)
        if any(isinstance(d, (bool, np.bool_)) for d in dims):
            raise TypeError
        dims = tuple(operator.index(d) for d in dims)      # ints, numpy ints, 0-d int tensors
    except TypeError:
        raise TypeError(f"{op}: shape must be an int or a sequence of ints, got {shape!r}") from None
    if any(d < low for d in dims):
        raise ValueError(f"{op}: shape entries must be >= {low}, got {shape!r}")
    return dims


def _new(array, device) -> Tensor:
    return Tensor._wrap(array, Device.parse(device))


def zeros(shape, *, dtype="float32", device=None) -> Tensor:
    """A tensor of zeros.

    >>> zeros((2, 2))
    Tensor([[0. 0.]
     [0. 0.]], device=cpu0)
    """
    return _new(np.zeros(_shape(shape, "zeros"), canonical_dtype(dtype)), device)


def ones(shape, *, dtype="float32", device=None) -> Tensor:
    """A tensor of ones.

    >>> ones(3, dtype="int32")
    Tensor([1 1 1], dtype=int32, device=cpu0)
    """
    return _new(np.ones(_shape(shape, "ones"), canonical_dtype(dtype)), device)


def full(shape, value, *, dtype=None, device=None) -> Tensor:
    """A tensor filled with ``value`` (dtype inferred: int -> int32, float -> float32).

    >>> full((2,), 7)
    Tensor([7 7], dtype=int32, device=cpu0)
    """
    dtype = canonical_dtype(dtype if dtype is not None else np.asarray(value).dtype)
    return _new(np.full(_shape(shape, "full"), value, dtype), device)


def arange(start=0, stop=None, step=1, *, dtype="float32", device=None) -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (float32 by default).

    >>> arange(1, 4)
    Tensor([1. 2. 3.], device=cpu0)
    """
    if stop is None:
        start, stop = 0, start
    for arg, v in (("start", start), ("stop", stop), ("step", step)):
        check.real("arange", arg, v)
    if step == 0:
        raise ValueError("arange: step must not be 0")
    return _new(np.arange(start, stop, step).astype(canonical_dtype(dtype)), device)


def linspace(start, stop, num, *, dtype="float32", device=None) -> Tensor:
    """``num`` evenly spaced values in the closed interval ``[start, stop]``.

    >>> linspace(0, 1, 3)
    Tensor([0.  0.5 1. ], device=cpu0)
    """
    check.real("linspace", "start", start)
    check.real("linspace", "stop", stop)
    num = check.integer("linspace", "num", num, low=0)
    return _new(np.linspace(start, stop, num).astype(canonical_dtype(dtype)), device)


def eye(N, M=None, *, dtype="float32", device=None) -> Tensor:
    """An identity matrix (ones on the diagonal).

    >>> eye(2, 3)
    Tensor([[1. 0. 0.]
     [0. 1. 0.]], device=cpu0)
    """
    check.integer("eye", "N", N, low=0)
    if M is not None:
        check.integer("eye", "M", M, low=0)
    return _new(np.eye(N, M, dtype=canonical_dtype(dtype)), device)


def zeros_like(inp) -> Tensor:
    """Zeros with the shape and dtype of ``inp``.

    >>> zeros_like(Tensor([[1, 2]]))
    Tensor([[0 0]], dtype=int32, device=cpu0)
    """
    return _new(np.zeros_like(np.asarray(inp)), getattr(inp, "device", None))


def ones_like(inp) -> Tensor:
    """Ones with the shape and dtype of ``inp``.

    >>> ones_like(Tensor([1.5, 2.5]))
    Tensor([1. 1.], device=cpu0)
    """
    return _new(np.ones_like(np.asarray(inp)), getattr(inp, "device", None))


def full_like(inp, value) -> Tensor:
    """``value`` everywhere, with the shape and dtype of ``inp``.

    >>> full_like(Tensor([1, 2]), 7)
    Tensor([7 7], dtype=int32, device=cpu0)
    """
    return _new(np.full_like(np.asarray(inp), value), getattr(inp, "device", None))


def astype(inp, dtype) -> Tensor:
    """Cast to ``dtype`` (float gradients flow back through the cast).

    >>> astype(Tensor([1.7, -1.7]), "int32")
    Tensor([ 1 -1], dtype=int32, device=cpu0)
    """
    return apply(ew.Cast(canonical_dtype(dtype)), inp)


def copy(inp, device=None) -> Tensor:
    """A copy of ``inp``, on ``device`` if given (differentiable).

    >>> copy(Tensor([1.0, 2.0]))
    Tensor([1. 2.], device=cpu0)
    """
    out = apply(ew.Copy(), inp)
    if device is not None:
        out._device = Device.parse(device)
    return out


def reshape(inp, target_shape) -> Tensor:
    """Same elements, new shape (one entry may be -1).

    >>> reshape(Tensor([1, 2, 3, 4]), (2, -1)).shape
    (2, 2)
    """
    return apply(sh.Reshape(_shape(target_shape, "reshape", low=-1)), inp)


def transpose(inp, pattern=None) -> Tensor:
    """Permute axes by ``pattern``; reverses them when ``pattern`` is None.

    MegEngine's ``'x'`` entries insert a new axis of size 1.

    >>> transpose(zeros((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    >>> transpose(zeros((2, 3)), (1, 'x', 0)).shape
    (3, 1, 2)
    """
    if pattern is not None and "x" in pattern:
        real = [p for p in pattern if p != "x"]
        out = apply(sh.Transpose(real), inp)
        new_shape = []
        it = iter(out.shape)
        for p in pattern:
            new_shape.append(1 if p == "x" else next(it))
        return reshape(out, new_shape)
    return apply(sh.Transpose(pattern), inp)


def swapaxes(inp, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes.

    >>> swapaxes(zeros((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    perm = list(range(np.ndim(inp)))
    axis1 = check.axis("swapaxes", "axis1", axis1, len(perm))
    axis2 = check.axis("swapaxes", "axis2", axis2, len(perm))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(inp, perm)


def flatten(inp, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """Merge axes ``start_axis..end_axis`` into one; ``flatten(x, 1)`` keeps the batch axis.

    >>> flatten(zeros((8, 1, 28, 28)), 1).shape
    (8, 784)
    """
    shape = np.shape(inp)
    nd = len(shape)
    s = check.axis("flatten", "start_axis", start_axis, nd)
    e = check.axis("flatten", "end_axis", end_axis, nd)
    if nd == 0:
        return reshape(inp, (1,))
    if s > e:
        raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} "
                         f"for shape {shape}")
    new = shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:]
    return reshape(inp, new)


def expand_dims(inp, axis) -> Tensor:
    """Insert axes of size 1 at ``axis`` (an int or a sequence).

    >>> expand_dims(zeros((3,)), 0).shape
    (1, 3)
    """
    return reshape(inp, np.expand_dims(np.empty(np.shape(inp), dtype=bool), axis).shape)


def squeeze(inp, axis=None) -> Tensor:
    """Remove axes of size 1 (all of them, or those in ``axis``).

    >>> squeeze(zeros((1, 3, 1))).shape
    (3,)
    """
    shape = np.shape(inp)
    try:
        new = np.squeeze(np.empty(shape, dtype=bool), axis).shape
    except ValueError:
        raise ValueError(f"squeeze: axis {axis} does not have size 1 in shape {shape}") from None
    return reshape(inp, new)


def concat(inps, axis: int = 0, device=None) -> Tensor:
    """Join tensors along an existing axis.

    >>> concat([Tensor([1, 2]), Tensor([3])])
    Tensor([1 2 3], dtype=int32, device=cpu0)
    """
    return apply(sh.Concat(axis), *inps)


def stack(inps, axis: int = 0, device=None) -> Tensor:
    """Join same-shaped tensors along a new axis.

    >>> stack([Tensor([1, 2]), Tensor([3, 4])], axis=1).shape
    (2, 2)
    """
    return apply(sh.Stack(axis), *inps)


def split(inp, nsplits_or_sections, axis: int = 0) -> list:
    """Split into ``n`` equal parts (an int) or at the given indices (a list).

    >>> [t.shape for t in split(zeros((6, 2)), 3)]
    [(2, 2), (2, 2), (2, 2)]
    """
    axis = check.axis("split", "axis", axis, np.ndim(inp))
    n = np.shape(inp)[axis]
    if not isinstance(nsplits_or_sections, (list, tuple)):
        check.positive_int("split", "nsplits_or_sections", nsplits_or_sections)
        if n % nsplits_or_sections:
            raise ValueError(f"split: axis {axis} of size {n} cannot be split into "
                             f"{nsplits_or_sections} equal parts")
        step = n // nsplits_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0, *(check.integer("split", "sections", b, low=0) for b in nsplits_or_sections), n]
        if sorted(bounds) != bounds:
            raise ValueError(f"split: sections {list(nsplits_or_sections)} must be increasing "
                             f"and within [0, {n}] (axis {axis} has size {n})")
    index = [slice(None)] * len(np.shape(inp))
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index[axis] = slice(lo, hi)
        out.append(indexing(inp, tuple(index)))
    return out


def broadcast_to(inp, shape) -> Tensor:
    """Repeat ``inp`` along size-1 / missing axes to reach ``shape``.

    >>> broadcast_to(Tensor([1.0, 2.0]), (2, 2))
    Tensor([[1. 2.]
     [1. 2.]], device=cpu0)
    """
    return apply(sh.BroadcastTo(_shape(shape, "broadcast_to")), inp)


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def indexing(inp, index) -> Tensor:
    """``inp[index]`` with numpy semantics (slices, ints, int/bool arrays or tensors).

    >>> indexing(Tensor([[1, 2], [3, 4]]), (slice(None), 1))
    Tensor([2 4], dtype=int32, device=cpu0)
    """
    return apply(sh.Indexing(_unwrap_index(index)), inp)


def set_subtensor(inp, index, value) -> Tensor:
    """A copy of ``inp`` with ``inp[index] = value`` (what ``x[index] = value`` does).

    >>> set_subtensor(zeros(3), 1, 5.0)
    Tensor([0. 5. 0.], device=cpu0)
    """
    return apply(sh.SetSubtensor(_unwrap_index(index)), inp, value)


def gather(inp, axis: int, index) -> Tensor:
    """Pick entries along ``axis`` at ``index`` (``numpy.take_along_axis``).

    >>> gather(Tensor([[1.0, 2.0], [3.0, 4.0]]), 1, Tensor([[1], [0]]))
    Tensor([[2.]
     [3.]], device=cpu0)
    """
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    nd = np.ndim(inp)
    axis = check.axis("gather", "axis", axis, nd)
    if idx.ndim != nd or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"gather: index must be integers with the input's {nd} axes, got "
                         f"dtype {idx.dtype} and shape {idx.shape}")
    grids = np.ogrid[tuple(slice(n) for n in idx.shape)]
    full = tuple(idx if a == axis else grids[a] for a in range(nd))
    return indexing(inp, full)


def pad(src, pad_width, mode: str = "constant", constant_value: float = 0.0) -> Tensor:
    """Pad each dimension by ``(before, after)``; modes constant, reflect, replicate/edge.

    >>> pad(Tensor([1.0, 2.0]), ((1, 1),))
    Tensor([0. 1. 2. 0.], device=cpu0)
    """
    if mode not in ("constant", "reflect", "replicate", "edge"):
        raise ValueError(f"pad: unknown mode {mode!r}")
    return apply(sh.Pad(pad_width, mode, constant_value), src)


def repeat(inp, repeats: int, axis=None) -> Tensor:
    """Repeat each element ``repeats`` times along ``axis`` (flattened when None).

    >>> repeat(Tensor([1, 2]), 2)
    Tensor([1 1 2 2], dtype=int32, device=cpu0)
    """
    repeats = check.integer("repeat", "repeats", repeats, low=0)
    x = flatten(inp) if axis is None else inp
    ax = 0 if axis is None else check.axis("repeat", "axis", axis, np.ndim(x))
    idx = np.repeat(np.arange(np.shape(x)[ax]), repeats)
    index = (slice(None),) * ax + (idx,)
    return indexing(x, index)


def tile(inp, reps) -> Tensor:
    """Repeat the whole tensor ``reps[i]`` times along each axis.

    >>> tile(Tensor([1, 2]), (2, 2))
    Tensor([[1 2 1 2]
     [1 2 1 2]], dtype=int32, device=cpu0)
    """
    reps = _shape(reps, "tile")
    x = inp
    shape = np.shape(x)
    if len(reps) > len(shape):
        x = reshape(x, (1,) * (len(reps) - len(shape)) + tuple(shape))
    for ax, r in enumerate(reps[::-1]):
        a = np.ndim(x) - 1 - ax
        if r != 1:
            x = concat([x] * r, axis=a)
    return x
