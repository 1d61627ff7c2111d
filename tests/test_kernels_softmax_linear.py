"""Fused softmax cross-entropy and linear ops against the reference loops
(``tutorlib.kernels.reference``) and float64 products, finite differences, PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tutorlib as tl
from tutorlib.autodiff import GradManager
from tutorlib.kernels import reference
from tutorlib.ops.core import apply
from tutorlib.ops.nn import Linear, SoftmaxCrossEntropy


def reference_ce(logits, labels, axis, ls, reduction):
    """The reference loops (float64) on the rows of ``logits`` along ``axis``, then reduced."""
    x = np.moveaxis(logits.astype(np.float64), axis, -1)
    loss = reference.softmax_cross_entropy_forward(x.reshape(-1, x.shape[-1]), labels.ravel(), ls)
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss.reshape(labels.shape)}[reduction]


def numeric_grad(f, x, g, eps=1e-3):
    out = np.zeros(x.shape)
    for i in range(x.size):
        p, m = x.copy(), x.copy()
        p.flat[i] += eps
        m.flat[i] -= eps
        out.flat[i] = ((f(p) - f(m)) * g).sum() / (2 * eps)
    return out


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ls", [0.0, 0.1])
@pytest.mark.parametrize("shape, axis", [((5, 4), 1), ((2, 3, 4), 1), ((2, 3, 4), -1), ((3, 2), 0)])
def test_cross_entropy_against_reference_and_finite_differences(shape, axis, ls, reduction):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    lshape = np.delete(np.array(shape), axis % len(shape))
    labels = rng.integers(0, shape[axis], lshape).astype(np.int32)
    op = SoftmaxCrossEntropy(axis, ls, reduction)
    loss = op.forward(x, labels)
    want = reference_ce(x, labels, axis, ls, reduction)
    np.testing.assert_allclose(loss, want, rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(np.shape(want))
    gx, glabels = op.backward(np.asarray(g, np.float32))
    assert glabels is None and gx.shape == x.shape and gx.dtype == np.float32
    rows = np.moveaxis(x, axis, -1)
    g_rows = np.broadcast_to(g / labels.size if reduction == "mean" else g, labels.shape)
    loops = reference.softmax_cross_entropy_backward(rows.reshape(-1, shape[axis]), labels.ravel(),
                                                     ls, g_rows.ravel())
    np.testing.assert_allclose(gx, np.moveaxis(loops.reshape(rows.shape), -1, axis),
                               rtol=1e-5, atol=1e-6)
    num = numeric_grad(lambda a: reference_ce(a, labels, axis, ls, reduction), x.astype(np.float64), g)
    np.testing.assert_allclose(gx, num, rtol=1e-4, atol=1e-5)


def test_cross_entropy_is_stable_for_huge_logits():
    x = np.array([[1e4, 0.0, -1e4]], np.float32)
    op = SoftmaxCrossEntropy()
    assert op.forward(x, np.array([1], np.int32)) == pytest.approx(1e4)
    gx, _ = op.backward(np.float32(1.0))
    np.testing.assert_allclose(gx, [[1.0, -1.0, 0.0]], atol=1e-6)


def test_cross_entropy_megengine_doc_value():
    # with_logits=False doc example, rewritten with logits: p = 0.7 for label 3 -> -log 0.7
    p = np.array([[0.1, 0.1, 0.1, 0.7]], np.float32)
    loss = SoftmaxCrossEntropy().forward(np.log(p), np.array([3], np.int32))
    assert float(loss) == pytest.approx(0.3566749691963196, rel=1e-6)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 6), c=st.integers(1, 7), ls=st.floats(0, 1), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1.0, 30.0]))
def test_cross_entropy_random(m, c, ls, seed, scale):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((m, c)) * scale).astype(np.float32)
    labels = rng.integers(0, c, m).astype(np.int32)
    loss = SoftmaxCrossEntropy(1, ls, "none").forward(x, labels)
    np.testing.assert_allclose(loss, reference_ce(x, labels, 1, ls, "none"), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("labels, match", [
    (np.array([0.0, 1.0], np.float32), r"cross_entropy: labels must be integer.*float32"),
    (np.array([0, 4], np.int32), r"cross_entropy: labels must be in \[0, 4\).*\[0, 4\]"),
    (np.array([-1, 2], np.int32), r"cross_entropy: labels must be in \[0, 4\).*\[-1, 2\]"),
    (np.array([0, 1, 2], np.int32), r"cross_entropy: labels \(3,\) must have shape \(2,\)"),
    (np.array([[0], [1]], np.int32), r"cross_entropy: logits \(2, 4\) must have one more axis"),
])
def test_cross_entropy_bad_labels_raise(labels, match):
    with pytest.raises(ValueError, match=match):
        SoftmaxCrossEntropy().forward(np.zeros((2, 4), np.float32), labels)


def test_cross_entropy_accepts_other_integer_dtypes_and_rejects_bad_reduction():
    x = np.zeros((2, 3), np.float32)
    assert SoftmaxCrossEntropy().forward(x, np.array([1, 2], np.uint8)) == pytest.approx(np.log(3))
    with pytest.raises(ValueError, match="cross_entropy: reduction"):
        SoftmaxCrossEntropy(reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_cross_entropy_matches_torch(ls, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((16, 10)) * 3).astype(np.float32)
    labels = rng.integers(0, 10, 16).astype(np.int32)
    xt = torch.tensor(x, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(labels).long(), reduction=reduction,
                                           label_smoothing=ls)
    g = rng.standard_normal(tuple(lt.shape)).astype(np.float32)
    lt.backward(torch.tensor(g))
    op = SoftmaxCrossEntropy(1, ls, reduction)
    np.testing.assert_allclose(op.forward(x, labels), lt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(op.backward(g)[0], xt.grad.numpy(), rtol=1e-5, atol=1e-6)


# --- linear -------------------------------------------------------------------------------------

@pytest.mark.parametrize("xshape, bias", [((4, 3), True), ((2, 5, 3), True), ((3,), False), ((4, 3), False)])
def test_linear_forward_backward_through_grad_manager(xshape, bias):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(xshape).astype(np.float32)
    w = rng.standard_normal((6, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    params = [tl.Parameter(a) for a in ((x, w, b) if bias else (x, w))]
    r = rng.standard_normal(xshape[:-1] + (6,)).astype(np.float32)
    gm = GradManager().attach(params)
    with gm:
        y = apply(Linear(), *params)
        gm.backward((y * tl.Tensor(r)).sum())
    want = x.astype(np.float64) @ w.T + (b if bias else 0)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-5)
    x2, r2 = x.reshape(-1, 3).astype(np.float64), r.reshape(-1, 6)
    np.testing.assert_allclose(params[0].grad.numpy(), (r2 @ w).reshape(xshape), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(params[1].grad.numpy(), r2.T @ x2, rtol=1e-5, atol=1e-5)
    if bias:
        np.testing.assert_allclose(params[2].grad.numpy(), r2.sum(axis=0), rtol=1e-5, atol=1e-5)


def test_linear_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"linear: x \(2, 4\) and weight \(3, 5\)"):
        Linear().forward(np.zeros((2, 4), np.float32), np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"linear: bias \(4,\) does not broadcast to \(3,\)"):
        Linear().forward(np.zeros((2, 5), np.float32), np.zeros((3, 5), np.float32), np.zeros(4, np.float32))


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((8, 7), (5, 7), (5,)))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.linear(xt, wt, bt)
    g = rng.standard_normal((8, 5)).astype(np.float32)
    yt.backward(torch.tensor(g))
    op = Linear()
    np.testing.assert_allclose(op.forward(x, w, b), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    for got, want in zip(op.backward(g), (xt.grad, wt.grad, bt.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)
