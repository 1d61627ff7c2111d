"""Batch normalisation: ``BatchNorm1d`` for (N, C) or (N, C, L), ``BatchNorm2d`` for (N, C, H, W).

Parameters and running statistics are held with shape (1, C, 1, 1), and appear **1-D**, (C,),
in the state dict (as in MegEngine). ``momentum=0.9`` here is PyTorch's ``momentum=0.1``:
``running = momentum·running + (1 - momentum)·batch``.

>>> import numpy as np
>>> from tutorlib import Tensor
>>> bn = BatchNorm2d(3)
>>> bn.weight.shape, bn.state_dict()["weight"].shape
((1, 3, 1, 1), (3,))
>>> y = bn(Tensor(np.random.default_rng(0).normal(5, 2, (8, 3, 4, 4))))
>>> round(float(y.numpy().mean()), 4) == 0.0, bn.running_mean.numpy().ravel().round(1)
(True, array([0.5, 0.5, 0.5], dtype=float32))
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from ..functional.nn import batch_norm
from ..tensor import Parameter, Tensor
from .module import Module


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d; subclasses check the input's number of axes."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.9,
                 affine: bool = True, track_running_stats: bool = True, freeze: bool = False,
                 name: str | None = None):
        super().__init__(name)
        op = type(self).__name__
        self.num_features = check.positive_int(op, "num_features", num_features)
        self.eps = check.real(op, "eps", eps, low=0.0, low_open=True)
        self.momentum = check.real(op, "momentum", momentum, low=0.0, high=1.0)
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.freeze = freeze
        shape = (1, num_features, 1, 1)
        self.weight = Parameter(np.ones(shape, np.float32)) if affine else None
        self.bias = Parameter(np.zeros(shape, np.float32)) if affine else None
        self.running_mean = Tensor(np.zeros(shape, np.float32)) if track_running_stats else None
        self.running_var = Tensor(np.ones(shape, np.float32)) if track_running_stats else None

    def _check_input_ndim(self, x) -> None:
        raise NotImplementedError

    def forward(self, x):
        self._check_input_ndim(x)
        shape = x.shape
        if len(shape) != 4:   # (N, C) -> (N, C, 1, 1); (N, C, L) -> (N, C, L, 1)
            x = x.reshape(shape + (1,) * (4 - len(shape)))
        weight, bias = self.weight, self.bias
        if self.freeze and weight is not None:
            weight, bias = weight.detach(), bias.detach()
        use_batch_stats = (self.training and not self.freeze) or not self.track_running_stats
        y = batch_norm(x, self.running_mean, self.running_var, weight, bias,
                       training=use_batch_stats, momentum=self.momentum, eps=self.eps)
        return y.reshape(shape) if len(shape) != 4 else y

    def _export(self, key: str, tensor: Tensor) -> np.ndarray:
        return tensor._data.reshape(-1).copy()

    def _import(self, key: str, tensor: Tensor, array: np.ndarray):
        if array.shape in (tensor.shape, (self.num_features,)):
            return array.reshape(tensor.shape)
        return None

    def _module_info_string(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input, per channel C."""

    def _check_input_ndim(self, x) -> None:
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (N, C) or (N, C, L), "
                             f"got {x.ndim}D input of shape {x.shape}")


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input, per channel C."""

    def _check_input_ndim(self, x) -> None:
        if x.ndim != 4:
            raise ValueError(f"BatchNorm2d: expected 4D input (N, C, H, W), "
                             f"got {x.ndim}D input of shape {x.shape}")
