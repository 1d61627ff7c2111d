"""The teaching references (``tutorlib.kernels.reference``): each backward against finite
differences of its forward, and the switch that runs a whole model on them."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.module as M
from tutorlib.autodiff import GradManager
from tutorlib.kernels import conv, norm, pool, reference, softmax, use_reference


def finite_difference(f, x, g, eps=1e-6):
    """Central-difference gradient of sum(f(x) * g) for a small float64 ``x``."""
    out = np.zeros(x.shape)
    for i in range(x.size):
        p, m = x.copy(), x.copy()
        p.flat[i] += eps
        m.flat[i] -= eps
        out.flat[i] = ((f(p) - f(m)) * g).sum() / (2 * eps)
    return out


@pytest.mark.parametrize("stride, pad, dil, groups", [
    ((1, 1), (0, 0), (1, 1), 1), ((2, 1), (1, 2), (1, 1), 1), ((1, 1), (1, 1), (2, 1), 2)])
def test_conv2d_backward_is_the_gradient_of_forward(stride, pad, dil, groups):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 4 // groups, 3, 2))
    b = rng.standard_normal(4)
    y = reference.conv2d_forward(x, w, b, stride, pad, dil, groups)
    g = rng.standard_normal(y.shape)
    gx, gw, gb = reference.conv2d_backward(g, x, w, stride, pad, dil, groups)
    np.testing.assert_allclose(gx, finite_difference(
        lambda a: reference.conv2d_forward(a, w, b, stride, pad, dil, groups), x, g), atol=1e-6)
    np.testing.assert_allclose(gw, finite_difference(
        lambda a: reference.conv2d_forward(x, a, b, stride, pad, dil, groups), w, g), atol=1e-6)
    np.testing.assert_allclose(gb, finite_difference(
        lambda a: reference.conv2d_forward(x, w, a, stride, pad, dil, groups), b, g), atol=1e-6)


@pytest.mark.parametrize("kind", ["max", "exclude", "include", "adaptive"])
def test_pool_backward_is_the_gradient_of_forward(kind):
    rng = np.random.default_rng(1)
    x = rng.permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) * 0.1  # distinct: a unique max
    if kind == "adaptive":
        windows = list(reference.adaptive_windows(5, 6, (3, 4)))
    else:
        windows = list(reference.pool_windows(5, 6, (3, 2), (2, 1), (1, 1)))
    if kind == "max":
        forward = lambda a: reference.max_pool2d_forward(a, windows)  # noqa: E731
        backward = lambda g: reference.max_pool2d_backward(g, x, windows)  # noqa: E731
    else:
        count = kind == "include"
        forward = lambda a: reference.avg_pool2d_forward(a, windows, count)  # noqa: E731
        backward = lambda g: reference.avg_pool2d_backward(g, x.shape, windows, count)  # noqa: E731
    g = rng.standard_normal(forward(x).shape)
    np.testing.assert_allclose(backward(g), finite_difference(forward, x, g), atol=1e-6)


@pytest.mark.parametrize("batch_statistics", [True, False])
def test_batch_norm_backward_is_the_gradient_of_forward(batch_statistics):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 2, 2, 2)), rng.standard_normal(2), rng.standard_normal(2)
    mean, var = np.array([0.3, -0.2]), np.array([1.5, 0.7])

    def forward(x, w, b):
        stats = reference.batch_stats(x) if batch_statistics else (mean, var)
        return reference.batch_norm_forward(x, w, b, *stats, 1e-3)

    g = rng.standard_normal(x.shape)
    stats = reference.batch_stats(x) if batch_statistics else (mean, var)
    gx, gw, gb = reference.batch_norm_backward(g, x, w, *stats, 1e-3, batch_statistics)
    np.testing.assert_allclose(gx, finite_difference(lambda a: forward(a, w, b), x, g), atol=1e-6)
    np.testing.assert_allclose(gw, finite_difference(lambda a: forward(x, a, b), w, g), atol=1e-6)
    np.testing.assert_allclose(gb, finite_difference(lambda a: forward(x, w, a), b, g), atol=1e-6)


@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_softmax_cross_entropy_backward_is_the_gradient_of_forward(ls):
    rng = np.random.default_rng(3)
    x, labels, g = rng.standard_normal((4, 5)) * 3, np.array([0, 4, 2, 2]), rng.standard_normal(4)
    dx = reference.softmax_cross_entropy_backward(x, labels, ls, g)
    want = finite_difference(lambda a: reference.softmax_cross_entropy_forward(a, labels, ls), x, g)
    np.testing.assert_allclose(dx, want, atol=1e-6)


class Net(M.Module):
    """Every fused op once: conv (3 and 4 input channels), batch norm, ReLU, max/avg/adaptive
    pooling and cross-entropy."""

    def __init__(self):
        super().__init__()
        self.conv1 = M.Conv2d(3, 4, 3, padding=1)
        self.bn = M.BatchNorm2d(4)
        self.conv2 = M.Conv2d(4, 6, 3, stride=2, padding=1, bias=False)
        self.fc = M.Linear(6, 5)

    def forward(self, x):
        y = F.relu(self.bn(self.conv1(x)))
        y = F.nn.avg_pool2d(F.nn.max_pool2d(y, 2), 2, 1, 1)
        y = F.nn.adaptive_avg_pool2d(F.relu(self.conv2(y)), 1)
        return self.fc(F.flatten(y, 1))


def loss_and_grads(model, x, labels):
    gm = GradManager().attach(model.parameters())
    with gm:
        loss = F.nn.cross_entropy(model(x), labels)
        gm.backward(loss)
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    return float(loss.numpy()), grads


def test_use_reference_runs_a_whole_model_on_the_loops(monkeypatch):
    tl.random.seed(0)
    model = Net()
    rng = np.random.default_rng(4)
    x = tl.Tensor(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
    labels = tl.Tensor(rng.integers(0, 5, 4).astype(np.int32))
    fast_loss, fast_grads = loss_and_grads(model, x, labels)

    def refuse(*args, **kwargs):
        raise AssertionError("a fast kernel ran inside use_reference()")

    for module, names in ((conv, ["conv2d_forward", "conv2d_backward"]),
                          (pool, ["max_pool2d_forward", "max_pool2d_tiles_forward",
                                  "max_pool2d_backward", "avg_pool2d_forward",
                                  "avg_pool2d_backward"]),
                          (norm, ["batch_stats", "scale_shift", "batch_norm_backward"]),
                          (softmax, ["softmax_cross_entropy_forward",
                                     "softmax_cross_entropy_backward"])):
        for name in names:
            monkeypatch.setattr(module, name, refuse)
    import tutorlib.ops.elementwise as elementwise
    monkeypatch.setattr(elementwise, "relu_backward", refuse)
    with use_reference():
        ref_loss, ref_grads = loss_and_grads(model, x, labels)
    assert not reference.enabled()  # switched off again after the block
    assert ref_loss == pytest.approx(fast_loss, rel=1e-5)
    for got, want in zip(ref_grads, fast_grads):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_backward_uses_the_path_its_forward_used():
    """An op recorded inside the block differentiates on the loops even after the block ends."""
    x = tl.Parameter(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    gm = GradManager().attach([x])
    with gm:
        with use_reference():
            y = F.nn.max_pool2d(x, 2)
        gm.backward(y.sum())
    np.testing.assert_array_equal(x.grad.numpy().ravel()[[5, 7, 13, 15]], 1)
    assert x.grad.numpy().sum() == 4


def test_environment_variable_switches_the_references_on():
    code = "from tutorlib.kernels import reference; print(reference.enabled())"
    for value, printed in (("1", "True"), ("0", "False")):
        env = dict(os.environ, TUTORLIB_REFERENCE=value)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout
        assert out.strip() == printed


def test_relu_kernel_is_the_masked_gradient():
    """kernels/activation.py's one-pass backward equals the op's formula g * (y > 0)."""
    from tutorlib.kernels.activation import relu_backward
    rng = np.random.default_rng(5)
    y = np.maximum(rng.standard_normal((3, 4, 5)), 0).astype(np.float32)
    g = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_array_equal(relu_backward(g, y), g * (y > 0))
