"""Shared test helpers: finite-difference gradient checks and PyTorch parity.

    from helpers import gradcheck, torch_parity, float64_ops

``gradcheck(fn, *arrays)`` compares the gradient that autodiff (``GradManager``) gives for
``sum(fn(*tensors) * dy)`` (``dy`` random) with central finite differences, input by input.
By default the whole computation runs in float64 (:func:`float64_ops` switches off the
float64 -> float32 narrowing), so tolerances can be tight; ops whose kernels are float32-only
use ``float64=False`` with a larger step and looser tolerances.
"""
from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np

import tutorlib as tl
from tutorlib import dtype as tl_dtype
from tutorlib.autodiff import GradManager


@contextlib.contextmanager
def float64_ops():
    """Inside this block tensors and op results keep float64 (test-only switch of the dtype policy)."""
    with mock.patch.dict(tl_dtype._NARROW):
        del tl_dtype._NARROW[np.dtype("float64")]
        yield


def _tensors(inputs, dtype):
    return [tl.Tensor(x.astype(dtype) if np.issubdtype(x.dtype, np.floating) else x)
            if isinstance(x, np.ndarray) else x for x in inputs]


def autodiff_grads(fn, inputs, wrt, dy=None, dtype=np.float32):
    """(output array, [gradient arrays of the inputs in ``wrt``]) via GradManager."""
    tensors = _tensors(inputs, dtype)
    if not wrt:
        return fn(*tensors).numpy(), []
    gm = GradManager().attach([tensors[i] for i in wrt])
    with gm:
        y = fn(*tensors)
        gm.backward(y, None if dy is None else tl.Tensor(np.asarray(dy, dtype=y.dtype)))
    grads = []
    for i in wrt:
        g = tensors[i].grad
        grads.append(np.zeros(inputs[i].shape) if g is None else g.numpy())
        assert g is None or g.shape == inputs[i].shape, (g.shape, inputs[i].shape)
    return y.numpy(), grads


def numerical_grads(fn, inputs, wrt, dy, eps, dtype):
    """Central differences of ``sum(fn(*inputs) * dy)`` with respect to each input in ``wrt``."""
    inputs = [x.astype(np.float64) if isinstance(x, np.ndarray) and
              np.issubdtype(x.dtype, np.floating) else x for x in inputs]

    def f():
        y = fn(*_tensors(inputs, dtype))
        return float(np.sum(np.asarray(y.numpy(), dtype=np.float64) * dy))

    grads = []
    for i in wrt:
        flat = inputs[i].reshape(-1)
        g = np.zeros(flat.size)
        for k in range(flat.size):
            keep = flat[k]
            flat[k] = keep + eps
            up = f()
            flat[k] = keep - eps
            down = f()
            flat[k] = keep
            g[k] = (up - down) / (2 * eps)
        grads.append(g.reshape(inputs[i].shape))
    return grads


def gradcheck(fn, *inputs, wrt=None, float64=True, eps=None, rtol=None, atol=None, seed=0):
    """Assert that autodiff gradients of ``fn`` match finite differences.

    Args:
        fn: takes Tensors (one per input; non-array inputs are passed through) and returns a Tensor.
        inputs: numpy arrays (or other arguments for ``fn``).
        wrt: indices of the inputs to check; default every floating-point array.
        float64: run the ops in float64 (step 1e-6); otherwise float32 (step 1e-3, tolerance 1e-2).

    >>> gradcheck(lambda x: x * x, np.array([1.0, -2.0]))
    """
    if wrt is None:
        wrt = [i for i, x in enumerate(inputs)
               if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)]
    dtype = np.float64 if float64 else np.float32
    eps = eps or (1e-6 if float64 else 1e-3)
    rtol = rtol or (1e-4 if float64 else 1e-2)
    atol = atol or (1e-6 if float64 else 1e-2)
    context = float64_ops() if float64 else contextlib.nullcontext()
    with context:
        y = fn(*_tensors(inputs, dtype))
        dy = np.random.default_rng(seed).normal(size=y.shape).astype(y.dtype)
        _, analytic = autodiff_grads(fn, inputs, wrt, dy, dtype)
        numeric = numerical_grads(fn, list(inputs), wrt, dy.astype(np.float64), eps, dtype)
    for i, a, n in zip(wrt, analytic, numeric):
        scale = max(1.0, float(np.abs(n).max(initial=0)))
        np.testing.assert_allclose(a, n, rtol=rtol, atol=atol * scale,
                                   err_msg=f"gradient of input {i} (shape {inputs[i].shape})")


def torch_parity(ours, theirs, *inputs, wrt=None, rtol=1e-4, atol=1e-5, seed=0):
    """Assert that ``ours`` (tutorlib) and ``theirs`` (torch) agree in value and gradient.

    Both get the same float32 inputs (Tensors / torch tensors; other arguments pass through);
    gradients are those of ``sum(y * dy)`` for one random ``dy``.
    """
    import torch

    if wrt is None:
        wrt = [i for i, x in enumerate(inputs)
               if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)]
    inputs = [x.astype(np.float32) if isinstance(x, np.ndarray) and
              np.issubdtype(x.dtype, np.floating) else x for x in inputs]
    t_in = [torch.tensor(x, requires_grad=i in wrt) if isinstance(x, np.ndarray) else x
            for i, x in enumerate(inputs)]
    t_out = theirs(*t_in)
    dy = np.random.default_rng(seed).normal(size=tuple(t_out.shape)).astype(np.float32)
    y, grads = autodiff_grads(ours, inputs, wrt, dy)
    np.testing.assert_allclose(y, t_out.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    if wrt:
        t_out.backward(torch.tensor(dy))
        for i, g in zip(wrt, grads):
            np.testing.assert_allclose(g, t_in[i].grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")


def rand(shape, seed=0, low=-2.0, high=2.0, away_from=None):
    """Seeded uniform float64 values; ``away_from=c`` keeps every value at least 0.1 from ``c``."""
    x = np.random.default_rng(seed).uniform(low, high, size=shape)
    if away_from is not None:
        d = x - away_from
        x = away_from + np.where(d >= 0, 1, -1) * (0.1 + np.abs(d))
    return np.asarray(x)
