"""Pooling kernels and ops against the reference loops (``tutorlib.kernels.reference``),
finite differences and PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutorlib.kernels import reference
from tutorlib.ops.nn import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d


def windows(x, kernel, stride, pad):
    return list(reference.pool_windows(*x.shape[2:], kernel, stride, pad))


def reference_pool(x, kernel, stride, pad, kind):
    """kind: "max", "exclude" (average over real inputs) or "include" (divide by kh*kw)."""
    if kind == "max":
        return reference.max_pool2d_forward(x, windows(x, kernel, stride, pad))
    return reference.avg_pool2d_forward(x, windows(x, kernel, stride, pad), kind == "include")


def reference_pool_backward(g, x, kernel, stride, pad, kind):
    if kind == "max":
        return reference.max_pool2d_backward(g, x, windows(x, kernel, stride, pad))
    return reference.avg_pool2d_backward(g, x.shape, windows(x, kernel, stride, pad),
                                         kind == "include")


def numeric_grad(f, x, g, eps=1e-2):
    """Full central-difference gradient of sum(f(x) * g) (x is tiny)."""
    out = np.zeros(x.shape)
    for i in range(x.size):
        p, m = x.copy(), x.copy()
        p.flat[i] += eps
        m.flat[i] -= eps
        out.flat[i] = ((f(p).astype(np.float64) - f(m)) * g).sum() / (2 * eps)
    return out


def make_op(kind, kernel, stride, pad):
    if kind == "max":
        return MaxPool2d(kernel, stride, pad)
    return AvgPool2d(kernel, stride, pad, "average" if kind == "include" else
                     "average_count_exclude_padding")


@pytest.mark.parametrize("kind", ["max", "exclude", "include"])
@pytest.mark.parametrize("kernel, stride, pad", [
    ((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 0)), ((2, 2), (1, 1), (1, 1)),
])
def test_pool_matches_direct_loops_and_finite_differences(kind, kernel, stride, pad):
    rng = np.random.default_rng(0)
    # distinct values, well separated, so the max is unique and finite differences are exact
    x = (rng.permutation(2 * 3 * 5 * 6).reshape(2, 3, 5, 6) * 0.1).astype(np.float32)
    op = make_op(kind, kernel, stride, pad)
    y = op.forward(x)
    np.testing.assert_allclose(y, reference_pool(x, kernel, stride, pad, kind), rtol=1e-6, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(np.float32)
    (gx,) = op.backward(g)
    np.testing.assert_allclose(gx, reference_pool_backward(g, x, kernel, stride, pad, kind),
                               rtol=1e-6, atol=1e-6)
    want = numeric_grad(lambda a: make_op(kind, kernel, stride, pad).forward(a), x, g)
    np.testing.assert_allclose(gx, want, rtol=1e-3, atol=1e-3)


@settings(max_examples=30, deadline=None)
@given(H=st.integers(1, 7), W=st.integers(1, 7), kh=st.integers(1, 3), kw=st.integers(1, 3),
       sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
       kind=st.sampled_from(["max", "exclude", "include"]), seed=st.integers(0, 2**16))
def test_pool_random_shapes(H, W, kh, kw, sh, sw, ph, pw, kind, seed):
    if ph >= kh or pw >= kw or H + 2 * ph < kh or W + 2 * pw < kw:
        return
    x = np.random.default_rng(seed).standard_normal((2, 2, H, W)).astype(np.float32)
    op = make_op(kind, (kh, kw), (sh, sw), (ph, pw))
    y = op.forward(x)
    np.testing.assert_allclose(y, reference_pool(x, (kh, kw), (sh, sw), (ph, pw), kind), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(np.float32)
    want = reference_pool_backward(g, x, (kh, kw), (sh, sw), (ph, pw), kind)
    np.testing.assert_allclose(op.backward(g)[0], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape, oshp", [((2, 3, 7, 5), (3, 2)), ((1, 2, 4, 4), (1, 1)),
                                         ((1, 1, 3, 5), (5, 7)), ((2, 2, 6, 6), (3, 3))])
def test_adaptive_avg_pool(shape, oshp):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    op = AdaptiveAvgPool2d(oshp)
    y = op.forward(x)
    adaptive = list(reference.adaptive_windows(*shape[2:], oshp))
    np.testing.assert_allclose(y, reference.avg_pool2d_forward(x, adaptive), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_allclose(op.backward(g)[0], reference.avg_pool2d_backward(g, shape, adaptive),
                               rtol=1e-5, atol=1e-6)
    want = numeric_grad(lambda a: AdaptiveAvgPool2d(oshp).forward(a), x, g)
    np.testing.assert_allclose(op.backward(g)[0], want, rtol=1e-3, atol=1e-3)


def test_max_pool_ties_send_gradient_to_one_element():
    op = MaxPool2d(2, 2)
    op.forward(np.ones((1, 1, 2, 2), np.float32))
    assert op.backward(np.ones((1, 1, 1, 1), np.float32))[0].sum() == 1.0


@pytest.mark.parametrize("make, match", [
    (lambda: MaxPool2d(3, 1, 3), r"max_pool2d: kernel \(3, 3\).*padding \(3, 3\)"),
    (lambda: AvgPool2d(5, 1), r"avg_pool2d: kernel \(5, 5\).*input \(1, 1, 4, 4\)"),
    (lambda: AdaptiveAvgPool2d((0, 2)), r"adaptive_avg_pool2d: .*oshp \(0, 2\)"),
])
def test_pool_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make().forward(np.zeros((1, 1, 4, 4), np.float32))


def test_pool_bad_mode_and_rank_raise():
    with pytest.raises(ValueError, match="avg_pool2d: mode"):
        AvgPool2d(2, 2, 0, "sum")
    with pytest.raises(ValueError, match=r"max_pool2d: expected NCHW input, got shape \(4, 4\)"):
        MaxPool2d(2, 2).forward(np.zeros((4, 4), np.float32))


@pytest.mark.parametrize("kernel, stride, pad", [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)),
                                                 ((3, 2), (1, 2), (1, 1))])
@pytest.mark.parametrize("kind", ["max", "exclude", "include"])
def test_pool_matches_torch(kind, kernel, stride, pad):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 9, 8)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    if kind == "max":
        yt = torch.nn.functional.max_pool2d(xt, kernel, stride, pad)
    else:
        yt = torch.nn.functional.avg_pool2d(xt, kernel, stride, pad, count_include_pad=kind == "include")
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.tensor(g))
    op = make_op(kind, kernel, stride, pad)
    np.testing.assert_allclose(op.forward(x), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(op.backward(g)[0], xt.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("oshp", [(1, 1), (3, 2), (4, 5)])
def test_adaptive_avg_pool_matches_torch(oshp):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 9, 7)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.adaptive_avg_pool2d(xt, oshp)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.tensor(g))
    op = AdaptiveAvgPool2d(oshp)
    np.testing.assert_allclose(op.forward(x), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(op.backward(g)[0], xt.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,k", [((2, 3, 8, 8), 2), ((1, 2, 7, 9), 2), ((2, 1, 9, 9), 3),
                                     ((1, 1, 6, 4), (3, 2))])
def test_max_pool_tiles_path_equals_general_path(shape, k):
    """The tiling fast path (kernel == stride, no padding) gives the same maxima and argmaxes,
    including ties (values rounded to a few levels) and floor-mode leftovers (odd sizes)."""
    x = np.round(np.random.default_rng(0).normal(size=shape)).astype(np.float32)
    tiled, general = MaxPool2d(k, k), MaxPool2d(k, k)
    y_fast = tiled.forward(x, tiles=True)
    y_slow = general.forward(x, tiles=False)
    np.testing.assert_array_equal(y_fast, y_slow)
    np.testing.assert_array_equal(tiled.arg, general.arg)
    np.testing.assert_array_equal(y_fast, reference_pool(x.astype(np.float64), tiled.kernel,
                                                         tiled.stride, (0, 0), "max"))
