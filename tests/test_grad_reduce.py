"""Finite-difference gradient checks of reductions and matrix products."""
import numpy as np
import pytest
from helpers import autodiff_grads, gradcheck, rand
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import tutorlib as tl
import tutorlib.functional as F

SETTINGS = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**16)


@st.composite
def shape_and_axis(draw, min_dims=1):
    """A shape and an axis argument for it: None, an int (maybe negative) or a tuple."""
    shape = draw(array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4))
    axes = st.integers(-len(shape), len(shape) - 1)
    axis = draw(st.one_of(st.none(), axes, st.lists(st.integers(0, len(shape) - 1), min_size=1,
                                                     max_size=len(shape), unique=True).map(tuple)))
    return shape, axis


REDUCTIONS = {
    "sum": F.sum, "mean": F.mean, "max": F.max, "min": F.min, "prod": F.prod,
    "var": F.var, "std": F.std, "norm": lambda x, axis, keepdims: F.norm(x, axis=axis, keepdims=keepdims),
    "logsumexp": lambda x, axis, keepdims: F.logsumexp(x, axis, keepdims),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@SETTINGS
@given(case=shape_and_axis(), keepdims=st.booleans(), seed=seeds)
def test_reduction_gradients(name, case, keepdims, seed):
    shape, axis = case
    if name == "logsumexp" and axis is None:
        axis = tuple(range(len(shape)))
    x = rand(shape, seed)
    if name in ("max", "min"):        # distinct values: no ties near the answer
        x = np.random.default_rng(seed).permutation(x.size).reshape(shape) * 0.1
    if name in ("std", "norm", "prod"):
        x = rand(shape, seed, low=0.5, high=2) * np.where(rand(shape, seed + 1) > 0, 1, -1)
    groups = np.sum(np.zeros(shape), axis=axis, keepdims=True).size
    assume(not (name == "std" and groups == x.size))   # std of one element: √0, no derivative
    gradcheck(lambda t: REDUCTIONS[name](t, axis=axis, keepdims=keepdims), x)


def test_max_shares_the_gradient_between_ties():
    _, (g,) = autodiff_grads(lambda x: F.max(x), [np.array([1.0, 3.0, 3.0])], [0])
    np.testing.assert_allclose(g, [0.0, 0.5, 0.5])


def test_prod_gradient_with_a_zero_entry():
    _, (g,) = autodiff_grads(lambda x: F.prod(x), [np.array([2.0, 0.0, 3.0])], [0])
    np.testing.assert_allclose(g, [0.0, 6.0, 0.0])


@SETTINGS
@given(case=shape_and_axis(), seed=seeds)
def test_cumsum_gradient(case, seed):
    shape, axis = case
    axis = 0 if not isinstance(axis, int) else axis
    gradcheck(lambda t: F.cumsum(t, axis), rand(shape, seed))


@st.composite
def matmul_shapes(draw):
    """Shapes for matmul: vectors, matrices, and batches whose leading axes broadcast."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    a_kind, b_kind = draw(st.sampled_from(["vec", "mat", "batch"])), \
        draw(st.sampled_from(["vec", "mat", "batch"]))
    batch = draw(array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    squash = draw(st.booleans())      # give one side size-1 batch axes to broadcast
    a = {"vec": (k,), "mat": (n, k),
         "batch": (tuple(1 for _ in batch) if squash else batch) + (n, k)}[a_kind]
    b = {"vec": (k,), "mat": (k, m), "batch": batch + (k, m)}[b_kind]
    return a, b


@SETTINGS
@given(shapes=matmul_shapes(), seed=seeds)
def test_matmul_gradients(shapes, seed):
    a, b = shapes
    gradcheck(F.matmul, rand(a, seed), rand(b, seed + 1))


@pytest.mark.parametrize("ta, tb", [(True, False), (False, True), (True, True)])
def test_matmul_transposed_gradients(ta, tb):
    a = rand((2, 4, 3) if ta else (2, 3, 4), 0)
    b = rand((5, 4) if tb else (4, 5), 1)
    gradcheck(lambda x, y: F.matmul(x, y, transpose_a=ta, transpose_b=tb), a, b)


def test_dot_gradient():
    gradcheck(F.dot, rand((5,), 0), rand((5,), 1))



@SETTINGS
@given(case=shape_and_axis(), seed=seeds)
def test_normalize_gradient(case, seed):
    shape, axis = case
    gradcheck(lambda t: F.normalize(t, axis=axis), rand(shape, seed, away_from=0))


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reducing_axis_0_of_a_scalar_is_the_identity(name):
    x = np.asarray(0.7)
    fn = REDUCTIONS[name]
    y = fn(tl.Tensor(x), axis=0, keepdims=False)
    expected = {"var": 0.0, "std": 0.0}.get(name, 0.7)
    assert y.shape == () and y.item() == pytest.approx(expected)
    if name not in ("var", "std"):
        gradcheck(lambda t: fn(t, axis=0, keepdims=False), x)


def test_softmax_of_a_scalar():
    assert F.softmax(tl.Tensor(3.0)).item() == 1.0
