"""An emulated Cambricon MLU (the CNML-era ``torch_mlu`` API), so the deployment workflow runs on a laptop.

* :mod:`~tutorlib.mlu.mlu_model` (``import tutorlib.mlu.mlu_model as ct``): the device, its
  settings (core number and version, input format, CNML on/off) and ``ct.to(optimizer, device)``;
* :mod:`~tutorlib.mlu.mlu_quantize`: calibration, ``quantize_dynamic_mlu``, with torch_mlu's
  scales and state-dict entries;
* :mod:`~tutorlib.mlu.device`: what ``mlu0`` computes: fixed-point conv/linear through the
  integer kernels, float16 for the rest.

The integer arithmetic is real, so accuracy effects are real.

>>> import tutorlib.mlu.mlu_model as ct
>>> ct.mlu_device()
mlu0
"""
from . import device, mlu_model, mlu_quantize

__all__ = ["device", "mlu_model", "mlu_quantize"]
