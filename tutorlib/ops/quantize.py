"""``FakeQuant``: round to the integer grid and back, with a straight-through gradient.

    forward:  y = (clip(round(x / s) + zp, qmin, qmax) - zp) · s
    backward: dy/dx = 1 where qmin <= round(x / s) + zp <= qmax, else 0

Rounding has zero derivative almost everywhere, so training through it would stop; the
straight-through estimator (STE) pretends the rounding is the identity, but keeps the clipping:
a value outside the range gets no gradient (MegEngine ``dnn/src/naive/fake_quant``). ``s`` and
``zp`` broadcast against ``x`` (one per channel for per-channel weights) and get no gradient.

>>> import numpy as np
>>> op = FakeQuant(-128, 127)
>>> op.forward(np.array([0.26, 1.0, 70.0], np.float32), np.float32(0.5), np.float32(0))
array([ 0.5,  1. , 63.5], dtype=float32)
>>> op.backward(np.ones(3, np.float32))[0]
array([1., 1., 0.], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from .core import Op


class FakeQuant(Op):
    """Quantize-dequantize ``x`` with ``scale`` and ``zero_point`` on [qmin, qmax] (STE backward)."""

    def __init__(self, qmin: int, qmax: int):
        self.qmin, self.qmax = int(qmin), int(qmax)

    def forward(self, x, scale, zero_point):
        q = np.rint(x / scale) + zero_point
        self.inside = (q >= self.qmin) & (q <= self.qmax)
        return ((np.clip(q, self.qmin, self.qmax) - zero_point) * scale).astype(x.dtype)

    def backward(self, g):
        return g * self.inside, None, None
