"""Quantization parameters and fake quantization of a tensor (MegEngine ``quantization/utils.py``).

A quantized value q stands for ``real = scale · (q - zero_point)``; ``QParams`` holds the mode,
the dtype's name and range, the scale and the zero point. Symmetric (``QuantMode.SYMMERTIC``,
MegEngine's spelling) means zero point 0 for signed dtypes; asymmetric adds a zero point so
that [min, max] fills [qmin, qmax].

>>> import numpy as np
>>> from tutorlib import Tensor
>>> qp = create_qparams(QuantMode.SYMMERTIC, "qint8", scale=0.5)
>>> fake_quant_tensor(Tensor([0.26, -1.0, 99.0]), qp)
Tensor([ 0.5 -1.  63.5], device=cpu0)
"""
from __future__ import annotations

import copy
from enum import Enum
from typing import NamedTuple

import numpy as np

from .. import dtype as _dtype
from ..ops.core import apply
from ..ops.quantize import FakeQuant


class QuantMode(Enum):
    """``SYMMERTIC``: zero point 0 (signed) · ``ASYMMERTIC``: a zero point (MegEngine's names)."""

    SYMMERTIC = 1
    ASYMMERTIC = 2


class QParams(NamedTuple):
    """Scale (a float, or an array shaped to broadcast per channel) and zero point of a dtype."""

    mode: QuantMode
    dtype_meta: _dtype.QuantDtypeMeta
    scale: np.ndarray
    zero_point: np.ndarray


def dtype_meta(name) -> _dtype.QuantDtypeMeta:
    """The ``QuantDtypeMeta`` named ``name`` ("qint8", "qint8_narrow", "quint8", ...).

    >>> dtype_meta("qint8_narrow")
    QuantDtypeMeta(name='qint8_narrow', cname='QuantizedS8', np_dtype='int8', qmin=-127, qmax=127)
    """
    if isinstance(name, _dtype.QuantDtypeMeta):
        return name
    if name not in _dtype.QUANT_DTYPES:
        raise ValueError(f"unknown quantized dtype {name!r}; one of {sorted(_dtype.QUANT_DTYPES)}")
    return _dtype.QUANT_DTYPES[name]


def create_qparams(mode: QuantMode = QuantMode.SYMMERTIC, dtype="qint8", scale=1.0,
                   zero_point=None) -> QParams:
    """QParams from a mode, a dtype name and a scale (zero point 0 unless given)."""
    zp = np.zeros_like(np.asarray(scale, np.float32)) if zero_point is None else zero_point
    return QParams(mode, dtype_meta(dtype), np.asarray(scale, np.float32),
                   np.asarray(zp, np.float32))


def fake_quant_tensor(x, qparams: QParams):
    """``(clip(round(x/s) + zp, qmin, qmax) - zp) · s`` with the straight-through gradient."""
    meta = qparams.dtype_meta
    return apply(FakeQuant(meta.qmin, meta.qmax), x, qparams.scale, qparams.zero_point)


def quantized_dtype(qparams: QParams) -> np.dtype:
    """The numpy dtype (with scale and zero point in its metadata) of per-tensor ``qparams``.

    >>> quantized_dtype(create_qparams(dtype="qint8", scale=0.25))
    dtype('int8')
    """
    scale = float(np.asarray(qparams.scale).reshape(-1)[0])
    zp = int(np.asarray(qparams.zero_point).reshape(-1)[0])
    return _dtype._quantized_dtype(qparams.dtype_meta.name, scale,
                                   zp if qparams.dtype_meta.qmin == 0 else None)


def copy_module(module):
    """A deep copy of ``module`` whose tensors stay on the same device objects.

    >>> import tutorlib.module as M
    >>> fc = M.Linear(2, 2)
    >>> twin = copy_module(fc)
    >>> twin.weight is fc.weight, twin.weight.device is fc.weight.device
    (False, True)
    """
    memo = {id(t.device): t.device for t in module.tensors()}
    return copy.deepcopy(module, memo)
