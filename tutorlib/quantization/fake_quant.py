"""``FakeQuantize``: the module that rounds values to the grid of a quantized dtype during QAT.

``forward(x, qparams)`` returns ``(clip(round(x/s) + zp, qmin, qmax) - zp) · s`` when enabled and
``x`` itself when disabled. The gradient is straight-through inside the range and 0 outside
(``tutorlib.ops.quantize.FakeQuant``), so training learns weights that survive rounding.

>>> import numpy as np
>>> from tutorlib import Tensor
>>> from tutorlib.quantization.utils import create_qparams
>>> fq = FakeQuantize("qint8")
>>> fq(Tensor([0.3, 100.0]), create_qparams(dtype="qint8", scale=0.5))
Tensor([ 0.5 63.5], device=cpu0)
>>> fq.disable(); fq(Tensor([0.3]), create_qparams(dtype="qint8", scale=0.5))
Tensor([0.3], device=cpu0)
"""
from __future__ import annotations

from ..module import Module
from .utils import QParams, dtype_meta, fake_quant_tensor


class FakeQuantize(Module):
    """Quantize-dequantize with the qparams an observer computed (MegEngine ``FakeQuantize``)."""

    def __init__(self, dtype="qint8", enable: bool = True, **kwargs):
        super().__init__()
        self.dtype = dtype_meta(dtype)
        self.enabled = enable

    def enable(self) -> None:
        """Round values in forward."""
        self.enabled = True

    def disable(self) -> None:
        """Pass values through unchanged."""
        self.enabled = False

    def forward(self, x, qparams: QParams):
        if not self.enabled or qparams is None:
            return x
        if qparams.dtype_meta != self.dtype:
            qparams = qparams._replace(dtype_meta=self.dtype)
        return fake_quant_tensor(x, qparams)
