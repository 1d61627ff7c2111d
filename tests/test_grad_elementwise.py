"""Finite-difference gradient checks of the elementwise functions, on hypothesis-generated shapes.

Binary ops get mutually broadcastable shapes, so the engine's sum-back-to-shape is checked too.
"""
import numpy as np
import pytest
from helpers import gradcheck, rand
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import tutorlib.functional as F

SETTINGS = settings(max_examples=15, deadline=None)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
seeds = st.integers(0, 2**16)

# name -> (function, kwargs for helpers.rand: the input domain, away from kinks)
UNARY = {
    "neg": (F.neg, {}),
    "abs": (F.abs, {"away_from": 0}),
    "exp": (F.exp, {}),
    "expm1": (F.expm1, {}),
    "log": (F.log, {"low": 0.2, "high": 3}),
    "log1p": (F.log1p, {"low": -0.7, "high": 3}),
    "sqrt": (F.sqrt, {"low": 0.2, "high": 3}),
    "square": (F.square, {}),
    "sin": (F.sin, {}),
    "cos": (F.cos, {}),
    "tan": (F.tan, {"low": -1.2, "high": 1.2}),
    "tanh": (F.tanh, {}),
    "sigmoid": (F.sigmoid, {"low": -8, "high": 8}),
    "relu": (F.relu, {"away_from": 0}),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), {"away_from": 0}),
    "gelu": (F.gelu, {"low": -4, "high": 4}),
    "silu": (F.silu, {}),
    "softplus": (F.softplus, {"low": -8, "high": 8}),
    "clip": (lambda x: F.clip(x, -0.5, 0.7), {"away_from": 0.7}),
    "clip_lower": (lambda x: F.clip(x, lower=-0.5), {"away_from": -0.5}),
    "pow_scalar": (lambda x: x ** 3, {}),
    "rpow": (lambda x: 2.0 ** x, {}),
    "copy": (lambda x: F.copy(x) * 3, {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_unary_gradients(name, shape, seed):
    fn, domain = UNARY[name]
    gradcheck(fn, rand(shape, seed, **domain))


@SETTINGS
@given(shape=shapes, seed=seeds)
def test_astype_float_gradient_flows_back(shape, seed):     # a float32 cast: check in float32
    gradcheck(lambda x: F.astype(x, "float16") * 2, rand(shape, seed), float64=False, eps=1e-1)


def test_astype_to_int_has_no_gradient():
    from helpers import autodiff_grads
    _, (g,) = autodiff_grads(lambda x: x + F.astype(x, "int32"), [np.array([1.5, 2.5])], [0])
    np.testing.assert_allclose(g, [1.0, 1.0])


BINARY = {
    "add": (F.add, {}, {}),
    "sub": (F.sub, {}, {}),
    "mul": (F.mul, {}, {}),
    "div": (F.div, {}, {"low": 0.5, "high": 2}),
    "pow": (F.pow, {"low": 0.5, "high": 2}, {}),
    "maximum": (F.maximum, {}, {}),
    "minimum": (F.minimum, {}, {}),
    "logaddexp": (F.logaddexp, {}, {}),
    "operators": (lambda a, b: (a - b) * a / (b * b + 1) + (-a), {}, {}),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(shapes=pairs, seed=seeds)
def test_binary_gradients_with_broadcasting(name, shapes, seed):
    fn, dom_a, dom_b = BINARY[name]
    a_shape, b_shape = shapes.input_shapes
    a, b = rand(a_shape, seed, **dom_a), rand(b_shape, seed + 1, **dom_b)
    if name in ("maximum", "minimum"):      # a - b is k/10 + 0.05: never within 0.05 of a tie
        a, b = np.asarray(np.round(a, 1) + 0.03), np.asarray(np.round(b, 1) - 0.02)
    gradcheck(fn, a, b)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=seeds)
def test_where_routes_gradient_by_mask(shapes, seed):
    m_shape, x_shape, y_shape = shapes.input_shapes
    mask = np.random.default_rng(seed).random(m_shape) > 0.5
    gradcheck(lambda x, y: F.where(mask, x, y), rand(x_shape, seed), rand(y_shape, seed + 1))


def test_maximum_splits_gradient_on_ties():
    from helpers import autodiff_grads
    _, (ga, gb) = autodiff_grads(F.maximum, [np.array([1.0, 2.0]), np.array([1.0, 3.0])], [0, 1])
    np.testing.assert_allclose(ga, [0.5, 0.0])
    np.testing.assert_allclose(gb, [0.5, 1.0])


def test_pow_gradient_for_the_exponent_is_zero_where_base_is_not_positive():
    from helpers import autodiff_grads
    _, (_, gb) = autodiff_grads(F.pow, [np.array([-2.0, 0.0, 2.0]), np.array([2.0, 2.0, 2.0])], [0, 1])
    np.testing.assert_allclose(gb, [0.0, 0.0, 4 * np.log(2)], rtol=1e-6)
