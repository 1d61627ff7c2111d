"""Finite-difference gradient checks of ``F.nn``: activations, softmax, linear, conv, pools,
batch_norm, dropout, indexing_one_hot. Ops backed by float32 kernels are checked in float32."""
import numpy as np
import pytest
from helpers import gradcheck, rand
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import tutorlib as tl
import tutorlib.functional as F

SETTINGS = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**16)
shapes = array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_softmax_logsoftmax_logsumexp(shape, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rand(shape, seed, low=-4, high=4)
    gradcheck(lambda t: F.softmax(t, axis), x)
    gradcheck(lambda t: F.softmax(t), x)
    gradcheck(lambda t: F.nn.logsoftmax(t, axis), x)
    gradcheck(lambda t: F.nn.logsumexp(t, axis, keepdims=True), x)


@SETTINGS
@given(shape=shapes, seed=seeds)
def test_nn_activations(shape, seed):
    x = rand(shape, seed, away_from=0)
    for fn in (F.nn.relu, F.nn.sigmoid, F.nn.gelu, F.nn.silu, F.nn.softplus,
               lambda t: F.nn.leaky_relu(t, 0.2)):
        gradcheck(fn, x)


@SETTINGS
@given(batch=array_shapes(min_dims=0, max_dims=2, max_side=3), n_in=st.integers(1, 4),
       n_out=st.integers(1, 4), bias=st.booleans(), seed=seeds)
def test_linear(batch, n_in, n_out, bias, seed):
    x, w, b = rand(batch + (n_in,), seed), rand((n_out, n_in), seed + 1), rand((n_out,), seed + 2)
    if bias:
        gradcheck(F.linear, x, w, b)
    else:
        gradcheck(F.linear, x, w)


@st.composite
def conv_cases(draw):
    g = draw(st.integers(1, 2))
    c, o = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.sampled_from([1, 2, (1, 2)]))
    padding = draw(st.sampled_from([0, 1, (2, 0)]))
    dilation = draw(st.sampled_from([1, 2, (2, 1)]))
    hw = (draw(st.integers(3, 6)), draw(st.integers(3, 6)))
    return dict(n=draw(st.integers(1, 2)), c=c, o=o, g=g, k=k, hw=hw, stride=stride,
                padding=padding, dilation=dilation)


def _fits(hw, k, padding, dilation):
    p = (padding, padding) if isinstance(padding, int) else padding
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    return all(h + 2 * p_ - d_ * (k_ - 1) - 1 >= 0 for h, k_, p_, d_ in zip(hw, k, p, d))


@SETTINGS
@given(case=conv_cases(), bias=st.booleans(), seed=seeds)
def test_conv2d(case, bias, seed):
    assume(_fits(case["hw"], case["k"], case["padding"], case["dilation"]))
    x = rand((case["n"], case["c"]) + case["hw"], seed)
    w = rand((case["o"], case["c"] // case["g"]) + case["k"], seed + 1)
    b = rand((1, case["o"], 1, 1), seed + 2)
    kw = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"],
              groups=case["g"])
    if bias:
        gradcheck(lambda x_, w_, b_: F.conv2d(x_, w_, b_, **kw), x, w, b, float64=False)
    else:
        gradcheck(lambda x_, w_: F.conv2d(x_, w_, **kw), x, w, float64=False)


@pytest.mark.parametrize("x_shape, w_shape, kw, path", [
    ((2, 1, 6, 5), (3, 1, 3, 3), dict(padding=1), "im2col_chw"),             # grayscale
    ((2, 3, 6, 6), (2, 3, 5, 5), dict(), "row_shift"),                       # RGB, LeNet-like
    ((2, 3, 7, 6), (2, 3, 3, 3), dict(stride=2, dilation=(1, 2), padding=1), "im2col_chw"),
    ((2, 5, 4, 3), (3, 5, 1, 1), dict(), "pointwise"),
    ((2, 4, 6, 5), (3, 4, 3, 3), dict(padding=1), "im2col_chw"),                # 3x3 same
    ((2, 3, 9, 6), (2, 3, 3, 3), dict(padding=2, dilation=(2, 1)), "row_shift"),
    ((2, 4, 6, 5), (3, 4, 3, 3), dict(stride=2, padding=1), "im2col_rows"),      # (fallback)
    ((2, 4, 6, 5), (3, 4, 1, 1), dict(stride=2), "im2col_chw"),                 # 1x1 shortcut
    ((2, 4, 6, 5), (4, 2, 3, 3), dict(groups=2, dilation=(1, 2), padding=2), "im2col"),
    ((2, 16, 5, 4), (3, 16, 3, 3), dict(padding=(2, 1), dilation=(2, 1)), "shift_gemm"),  # 16 ch
    ((2, 16, 5, 6), (3, 16, 3, 3), dict(stride=2, padding=1), "shift_gemm"),      # on phases
])
def test_conv2d_every_kernel_path(x_shape, w_shape, kw, path, monkeypatch):
    """One finite-difference check per convolution algorithm (the path is asserted, so a change
    of the path rules cannot silently drop one from the checks). Strided convolutions run
    channels-first on numba's threads when numba can call numpy's BLAS, else on "im2col_rows"
    (the fallback, forced here); "im2col_chw" itself runs either way. Layers of 16 channels or
    more run on "shift_gemm", which needs numba's BLAS (else "im2col_chw" or, strided,
    "im2col_rows")."""
    from tutorlib.kernels import conv
    from tutorlib.ops.nn import _pair
    if path == "im2col_rows" or not conv.PARALLEL_IMAGES:
        monkeypatch.setattr(conv, "PARALLEL_IMAGES", False)
        path = "im2col_rows" if kw.get("stride") == 2 and x_shape[1] > 3 else path
        path = "im2col_chw" if path == "shift_gemm" else path
    attrs = [_pair(kw.get(k, d), k, "conv2d") for k, d in
             (("stride", 1), ("padding", 0), ("dilation", 1))]
    assert conv.choose_path(w_shape, *attrs, kw.get("groups", 1)) == path
    x, w, b = rand(x_shape, 0), rand(w_shape, 1), rand((1, w_shape[0], 1, 1), 2)
    gradcheck(lambda x_, w_, b_: F.conv2d(x_, w_, b_, **kw), x, w, b, float64=False)


def test_conv2d_grouped_5d_weight_and_1d_bias():
    x, w, b = rand((2, 4, 5, 5), 0), rand((2, 3, 2, 3, 3), 1), rand((6,), 2)
    gradcheck(lambda x_, w_, b_: F.conv2d(x_, w_, b_, padding=1, groups=2), x, w, b, float64=False)


def _distinct(shape, seed):
    """Values 0.1 apart (no ties in a max window, even after a 1e-3 nudge)."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1


@st.composite
def pool_cases(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.one_of(st.none(), st.sampled_from([1, 2, (2, 1)])))
    padding = (draw(st.integers(0, k[0] - 1)), draw(st.integers(0, k[1] - 1)))
    hw = (draw(st.integers(k[0], 5)), draw(st.integers(k[1], 5)))
    return k, stride, padding, hw


@settings(max_examples=8, deadline=None)
@given(case=pool_cases(), seed=seeds)
def test_pools(case, seed):
    k, stride, padding, hw = case
    x = _distinct((1, 2) + hw, seed)
    gradcheck(lambda t: F.max_pool2d(t, k, stride, padding), x, float64=False)
    for mode in ("average", "average_count_exclude_padding"):
        gradcheck(lambda t, m=mode: F.avg_pool2d(t, k, stride, padding, mode=m), x, float64=False)


@settings(max_examples=10, deadline=None)
@given(hw=st.tuples(st.integers(1, 7), st.integers(1, 7)),
       oshp=st.tuples(st.integers(1, 4), st.integers(1, 4)), seed=seeds)
def test_adaptive_avg_pool2d(hw, oshp, seed):
    gradcheck(lambda t: F.adaptive_avg_pool2d(t, oshp), rand((1, 2) + hw, seed), float64=False)


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 4, 4)])
def test_batch_norm_training(shape):
    c = (1, shape[1]) + (1,) * (len(shape) - 2)
    x, w, b = rand(shape, 0), rand(c, 1, away_from=0), rand(c, 2)
    mean, var = tl.Tensor(np.zeros(c)), tl.Tensor(np.ones(c))
    gradcheck(lambda x_, w_, b_: F.batch_norm(x_, mean, var, w_, b_, training=True), x, w, b,
              float64=False)
    gradcheck(lambda x_: F.batch_norm(x_, training=True), x, float64=False)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4, 4)])
def test_batch_norm_eval(shape):
    c = (1, shape[1]) + (1,) * (len(shape) - 2)
    mean, var = tl.Tensor(rand(c, 3)), tl.Tensor(rand(c, 4, low=0.5, high=2))
    gradcheck(lambda x_, w_, b_: F.batch_norm(x_, mean, var, w_, b_, training=False),
              rand(shape, 0), rand(c, 1), rand(c, 2), float64=False)


@SETTINGS
@given(shape=shapes, p=st.sampled_from([0.0, 0.3, 0.7]), seed=seeds)
def test_dropout_with_a_fixed_seed(shape, p, seed):
    def fn(t):
        tl.random.seed(seed)            # the same mask on every call
        return F.nn.dropout(t, p)
    gradcheck(fn, rand(shape, seed))


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), seed=seeds, data=st.data())
def test_indexing_one_hot(shape, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    index = np.random.default_rng(seed).integers(0, shape[axis], shape[:axis] + shape[axis + 1:])
    keepdims = data.draw(st.booleans())
    gradcheck(lambda t: F.nn.indexing_one_hot(t, index, axis, keepdims), rand(shape, seed))


@pytest.mark.parametrize("ndim, axis", [(1, 0), (2, 1), (3, 0), (4, 1)])
def test_softmax_default_axis(ndim, axis):
    y = F.softmax(tl.Tensor(rand((2,) * ndim, 0))).numpy()
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-6)


def test_batch_norm_not_inplace_returns_new_stats_and_keeps_buffers():
    x = tl.Tensor(rand((4, 2, 3), 0))
    mean, var = tl.Tensor(np.zeros((1, 2, 1))), tl.Tensor(np.ones((1, 2, 1)))
    out, new_mean, new_var = F.nn.batch_norm(x, mean, var, training=True, inplace=False)
    assert mean.numpy().tolist() == [[[0.0], [0.0]]] and var.numpy().ravel().tolist() == [1, 1]
    batch = x.numpy().transpose(1, 0, 2).reshape(2, -1)
    np.testing.assert_allclose(new_mean.numpy().ravel(), 0.1 * batch.mean(1), rtol=1e-5)
    np.testing.assert_allclose(new_var.numpy().ravel(), 0.9 + 0.1 * batch.var(1, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(out.numpy(), F.nn.batch_norm(x, training=True).numpy())


def test_dropout_is_identity_when_not_training_and_keeps_the_expected_fraction():
    x = tl.Tensor(np.ones((200, 50)))
    assert F.nn.dropout(x, 0.4, training=False) is x
    tl.random.seed(0)
    y = F.nn.dropout(x, 0.4).numpy()
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.6)}
    assert abs((y > 0).mean() - 0.6) < 0.02


def test_global_avg_pool2d():
    """Output size (1, 1) has a path of its own (``kernels/pool.py``: ``global_avg_pool_*``)."""
    gradcheck(lambda t: F.adaptive_avg_pool2d(t, 1), rand((2, 3, 4, 5), 0), float64=False)
