"""Batch-norm kernels and the BatchNorm op against the reference loops
(``tutorlib.kernels.reference``), finite differences and PyTorch."""
import numpy as np
import pytest

import tutorlib as tl
from tutorlib.autodiff import GradManager
from tutorlib.kernels import norm, reference
from tutorlib.ops.core import apply
from tutorlib.ops.nn import BatchNorm


def batch_norm(x, w, b, eps, mean=None, var=None):
    """The reference loops (float64); batch statistics unless mean/var are given."""
    x = x.astype(np.float64)
    if mean is None:
        mean, var = reference.batch_stats(x)
    return reference.batch_norm_forward(x, w.ravel(), b.ravel(), mean, var, eps)


def numeric_grads(f, arrays, g, eps=1e-3):
    """Central-difference gradients of sum(f(*arrays) * g) w.r.t. each (tiny, float64) array."""
    grads = []
    for i, a in enumerate(arrays):
        out = np.zeros(a.shape)
        for k in range(a.size):
            p = [v.copy() for v in arrays]
            m = [v.copy() for v in arrays]
            p[i].flat[k] += eps
            m[i].flat[k] -= eps
            out.flat[k] = ((f(*p) - f(*m)) * g).sum() / (2 * eps)
        grads.append(out)
    return grads


def test_batch_stats_kernel():
    x = np.random.default_rng(0).standard_normal((4, 3, 5)).astype(np.float32) * 3 + 2
    mean, var = norm.batch_stats(x)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=(0, 2)), rtol=1e-6)


@pytest.mark.parametrize("shape, wshape", [((5, 3), (3,)), ((4, 3, 6), (1, 3, 1)),
                                           ((3, 2, 3, 2), (1, 2, 1, 1))])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_forward_and_backward(shape, wshape, training):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal(wshape) + 1).astype(np.float32)
    b = rng.standard_normal(wshape).astype(np.float32)
    C = shape[1]
    rm = rng.standard_normal(C).astype(np.float32)
    rv = rng.uniform(0.5, 2, C).astype(np.float32)
    eps = 1e-3
    op = BatchNorm(training, 0.9, eps, rm.copy(), rv.copy())
    y = op.forward(x, w, b)
    stats = {} if training else {"mean": rm.astype(np.float64), "var": rv.astype(np.float64)}
    np.testing.assert_allclose(y, batch_norm(x, w, b, eps, **stats), rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(shape)
    gx, gw, gb = op.backward(g.astype(np.float32))
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == b.shape
    mean, var = (stats["mean"], stats["var"]) if stats else reference.batch_stats(x)
    loops = reference.batch_norm_backward(g, x.astype(np.float64), w.ravel(), mean, var, eps,
                                          training)
    for got, expect in zip((gx, gw, gb), loops):
        np.testing.assert_allclose(got, expect.reshape(got.shape), rtol=1e-4, atol=1e-4)
    want = numeric_grads(lambda *a: batch_norm(*a, eps, **stats),
                         [x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)], g)
    for got, expect in zip((gx, gw, gb), want):
        np.testing.assert_allclose(got, expect, rtol=1e-3, atol=1e-3)


def test_running_stats_update_in_place_with_megengine_momentum():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 3, 4, 4)).astype(np.float32) * 2 + 1
    rm, rv = np.zeros((1, 3, 1, 1), np.float32), np.ones((1, 3, 1, 1), np.float32)
    rm_id, rv_id = id(rm), id(rv)
    BatchNorm(True, 0.9, 1e-5, rm, rv).forward(x, np.ones(3, np.float32), np.zeros(3, np.float32))
    xd = x.astype(np.float64)
    np.testing.assert_allclose(rm.ravel(), 0.1 * xd.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(rv.ravel(), 0.9 + 0.1 * xd.var(axis=(0, 2, 3), ddof=1), rtol=1e-5)
    assert (id(rm), id(rv)) == (rm_id, rv_id) and rm.shape == (1, 3, 1, 1)


def test_eval_does_not_touch_running_stats_and_none_means_batch_stats():
    x = np.random.default_rng(3).standard_normal((6, 2)).astype(np.float32)
    rm, rv = np.full(2, 0.5, np.float32), np.full(2, 2.0, np.float32)
    BatchNorm(False, 0.9, 1e-5, rm, rv).forward(x, np.ones(2, np.float32), np.zeros(2, np.float32))
    np.testing.assert_array_equal(rm, 0.5)
    np.testing.assert_array_equal(rv, 2.0)
    y = BatchNorm(False, 0.9, 1e-5).forward(x, np.ones(2, np.float32), np.zeros(2, np.float32))
    np.testing.assert_allclose(y, batch_norm(x, np.ones(2), np.zeros(2), 1e-5), rtol=1e-5, atol=1e-6)


def test_batch_norm_through_apply_and_grad_manager():
    rng = np.random.default_rng(4)
    x = tl.Parameter(rng.standard_normal((4, 3, 2, 2)).astype(np.float32))
    w = tl.Parameter(np.ones((1, 3, 1, 1), np.float32))
    b = tl.Parameter(np.zeros((1, 3, 1, 1), np.float32))
    gm = GradManager().attach([x, w, b])
    with gm:
        y = apply(BatchNorm(True, 0.9, 1e-5), x, w, b)
        gm.backward((y * y).sum())
    # sum(xhat^2) = M per channel whatever x is, so d/dx is ~0, d/dw = 2M, d/db = 0
    np.testing.assert_allclose(x.grad.numpy(), 0, atol=1e-3)
    np.testing.assert_allclose(w.grad.numpy().ravel(), 2 * 16, rtol=1e-3)
    np.testing.assert_allclose(b.grad.numpy(), 0, atol=1e-3)


def test_batch_norm_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"batch_norm: weight \(4,\) must have 3 elements"):
        BatchNorm(True).forward(np.zeros((2, 3), np.float32), np.ones(4, np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"batch_norm: expected \(N, C, ...\) input"):
        BatchNorm(True).forward(np.zeros(3, np.float32), np.ones(3, np.float32), np.zeros(3, np.float32))


@pytest.mark.parametrize("shape", [(6, 4), (5, 4, 7), (4, 4, 5, 3)])
def test_batch_norm_matches_torch(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    w = rng.standard_normal(4).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    rm, rv = np.zeros(4, np.float32), np.ones(4, np.float32)
    trm, trv = torch.zeros(4), torch.ones(4)
    for step in range(2):  # train twice (running stats), then eval
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x + step, w, b))
        yt = torch.nn.functional.batch_norm(xt, trm, trv, wt, bt, training=True, momentum=0.1, eps=1e-5)
        g = rng.standard_normal(shape).astype(np.float32)
        yt.backward(torch.tensor(g))
        op = BatchNorm(True, 0.9, 1e-5, rm, rv)
        np.testing.assert_allclose(op.forward(x + step, w, b), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
        gx, gw, gb = op.backward(g)
        np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-5, atol=1e-6)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.batch_norm(xt, trm, trv, wt, torch.tensor(b), training=False, eps=1e-5)
    g = rng.standard_normal(shape).astype(np.float32)
    yt.backward(torch.tensor(g))
    op = BatchNorm(False, 0.9, 1e-5, rm, rv)
    np.testing.assert_allclose(op.forward(x, w, b), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    gx, gw, _ = op.backward(g)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-4, atol=1e-3)
