"""Primitive ops: each class holds a forward and the backward beside it.

:func:`apply` runs an op on tensors; the functional API (:mod:`tutorlib.functional`) is a
thin, documented layer of calls to ``apply``.
"""
from ..autodiff.graph import unbroadcast
from .core import Op, apply

__all__ = ["Op", "apply", "unbroadcast"]
