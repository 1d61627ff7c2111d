"""Finite-difference gradient checks of the shape functions (they move gradients around)."""
import numpy as np
import pytest
from helpers import autodiff_grads, gradcheck, rand
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import tutorlib.functional as F

SETTINGS = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**16)
shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@SETTINGS
@given(shape=shapes, seed=seeds)
def test_reshape_flatten_transpose(shape, seed):
    x = rand(shape, seed)
    perm = tuple(np.random.default_rng(seed).permutation(len(shape)))
    gradcheck(lambda t: F.reshape(t, (-1,)) * 2, x)
    gradcheck(lambda t: F.flatten(t, 0, -1), x)
    gradcheck(lambda t: F.transpose(t, perm), x)
    gradcheck(lambda t: t.T, x)


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_expand_dims_squeeze_broadcast_to(shape, seed, data):
    x = rand(shape, seed)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    gradcheck(lambda t: F.expand_dims(t, axis), x)
    gradcheck(lambda t: F.squeeze(F.expand_dims(t, axis), axis), x)
    lead = data.draw(st.integers(1, 3))
    target = (lead,) + tuple(n * data.draw(st.integers(1, 2)) if n == 1 else n for n in shape)
    gradcheck(lambda t: F.broadcast_to(t, target), x)


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_concat_stack_split(shape, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    other = shape[:axis] + (data.draw(st.integers(1, 3)),) + shape[axis + 1:]
    a, b, c = rand(shape, seed), rand(other, seed + 1), rand(shape, seed + 2)
    gradcheck(lambda x, y: F.concat([x, y, x], axis), a, b)
    gradcheck(lambda x, y: F.stack([x, y], axis), a, c)
    gradcheck(lambda x, y: F.stack([x, y], axis) * F.stack([y, x], axis), a, c)
    sections = data.draw(st.sampled_from([1, [0], [shape[axis] // 2]]))
    gradcheck(lambda x: F.concat([p * (i + 1) for i, p in enumerate(F.split(x, sections, axis))],
                                 axis), a)


BASIC_INDICES = [
    (slice(None), 1), (0,), (slice(1, None, 2),), (Ellipsis, -1), (None, slice(None, 2)),
    (slice(None, None, -1),), (1, slice(None), 0),
]


@pytest.mark.parametrize("index", BASIC_INDICES, ids=repr)
def test_basic_indexing_gradient(index):
    gradcheck(lambda t: t[index], rand((3, 4, 2), 0))


FANCY_INDICES = [
    (np.array([0, 2, 0, 0]),),                                      # repeated rows accumulate
    (np.array([1, 1]), np.array([3, 3])),                           # the same element twice
    (slice(None), np.array([[0, 3], [3, 3]])),
    (np.array([True, False, True]),),                               # a boolean mask
    (np.array([2, 0]), slice(1, 3), np.array([1, 1])),
]


@pytest.mark.parametrize("index", FANCY_INDICES, ids=lambda i: f"{len(i)}-part")
def test_fancy_indexing_gradient_accumulates_repeats(index):
    gradcheck(lambda t: t[index], rand((3, 4, 2), 1))


def test_repeated_index_gradient_counts_every_use():
    _, (g,) = autodiff_grads(lambda t: t[np.array([0, 0, 0, 2])].sum(), [np.zeros(3)], [0])
    np.testing.assert_allclose(g, [3.0, 0.0, 1.0])


@pytest.mark.parametrize("index, vshape", [
    ((slice(None), 1), (3, 2)), ((0,), (2,)), ((np.array([0, 2]), slice(None), 0), (2, 4)),
    ((slice(1, 3),), (1, 4, 2)),
])
def test_set_subtensor_gradient_for_tensor_and_value(index, vshape):
    gradcheck(lambda t, v: F.set_subtensor(t, index, v) * 2, rand((3, 4, 2), 2), rand(vshape, 3))


def test_setitem_is_differentiable():
    def fn(t, v):
        out = t * 1
        out[1:, 0] = v * v
        return out
    gradcheck(fn, rand((3, 2), 4), rand((2,), 5))


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_gather_gradient(shape, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    idx_shape = shape[:axis] + (data.draw(st.integers(1, 4)),) + shape[axis + 1:]
    index = np.random.default_rng(seed).integers(0, shape[axis], size=idx_shape)
    gradcheck(lambda t: F.gather(t, axis, index), rand(shape, seed))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "edge"])
@pytest.mark.parametrize("pad_width", [((1, 2), (0, 1)), ((0, 0), (2, 2)), ((2, 0), (1, 1))])
def test_pad_gradient(mode, pad_width):
    gradcheck(lambda t: F.pad(t, pad_width, mode=mode, constant_value=0.5), rand((3, 4), 6))


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_repeat_tile_gradient(shape, seed, data):
    x = rand(shape, seed)
    axis = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)))
    repeats = data.draw(st.integers(1, 3))
    reps = tuple(data.draw(st.integers(1, 3)) for _ in range(data.draw(st.integers(1, 4))))
    gradcheck(lambda t: F.repeat(t, repeats, axis), x)
    gradcheck(lambda t: F.tile(t, reps), x)


def test_swapaxes_gradient():
    gradcheck(lambda t: F.swapaxes(t, 0, 2), rand((2, 3, 4), 7))


def test_sort_and_topk_values_are_differentiable():
    x = np.random.default_rng(8).permutation(12).reshape(3, 4) * 0.5
    gradcheck(lambda t: F.sort(t, descending=True)[0], x)
    gradcheck(lambda t: F.topk(t, 2)[0], x)


def test_set_subtensor_with_a_broadcast_value():
    gradcheck(lambda t, v: F.set_subtensor(t, (slice(None), slice(1, 3)), v) * 2,
              rand((3, 4), 0), rand((1, 2), 1))
