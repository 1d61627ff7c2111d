"""Finite-difference gradient checks of every loss, for every reduction."""
import numpy as np
import pytest
from helpers import gradcheck, rand
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import tutorlib.functional as F

SETTINGS = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**16)
shapes = array_shapes(min_dims=1, max_dims=3, max_side=4)
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_square_and_l1_loss(reduction, shape, seed):
    pred, label = rand(shape, seed), rand(shape, seed + 1)
    label = np.where(np.abs(pred - label) < 0.1, label + 0.3, label)    # away from |·|'s kink
    gradcheck(lambda p, y: F.nn.square_loss(p, y, reduction), pred, label)
    gradcheck(lambda p, y: F.nn.l1_loss(p, y, reduction), pred, label)


@st.composite
def classification(draw):
    """(logits shape, axis, labels) with labels of the logits' shape without ``axis``."""
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    shape = (draw(st.integers(1, 3)),) + shape             # at least 2-D
    axis = draw(st.integers(0, len(shape) - 1))
    seed = draw(seeds)
    labels = np.random.default_rng(seed).integers(0, shape[axis], shape[:axis] + shape[axis + 1:])
    return shape, axis, labels.astype(np.int32), seed


@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(case=classification(), smooth=st.sampled_from([0.0, 0.2]))
def test_cross_entropy_with_logits(reduction, case, smooth):
    shape, axis, labels, seed = case
    gradcheck(lambda p: F.nn.cross_entropy(p, labels, axis, label_smooth=smooth,
                                           reduction=reduction), rand(shape, seed), float64=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(case=classification(), smooth=st.sampled_from([0.0, 0.2]))
def test_cross_entropy_on_probabilities(reduction, case, smooth):
    shape, axis, labels, seed = case
    probs = rand(shape, seed, low=0.1, high=1.0)
    gradcheck(lambda p: F.nn.cross_entropy(p, labels, axis, with_logits=False,
                                           label_smooth=smooth, reduction=reduction), probs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_binary_cross_entropy(reduction, shape, seed):
    label = np.random.default_rng(seed).random(shape)        # soft targets in [0, 1)
    gradcheck(lambda p, y: F.nn.binary_cross_entropy(p, y, reduction=reduction),
              rand(shape, seed, low=-6, high=6), label)
    gradcheck(lambda p, y: F.nn.binary_cross_entropy(p, y, with_logits=False, reduction=reduction),
              rand(shape, seed, low=0.05, high=0.95), label)


@pytest.mark.parametrize("norm", ["L1", "L2"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_loss(norm, reduction):
    label = np.where(rand((4, 3), 0) > 0, 1.0, -1.0)
    pred = rand((4, 3), 1, away_from=0) * label * np.where(rand((4, 3), 2) > 0, 1, 2)
    pred = np.where(np.abs(pred * label - 1) < 0.1, pred * 1.5, pred)   # away from the hinge
    gradcheck(lambda p: F.nn.hinge_loss(p, label, norm, reduction), pred)


def test_megengine_documented_values():
    """The values in MegEngine's docstrings (square_loss, cross_entropy on probabilities)."""
    import tutorlib as tl
    assert F.nn.square_loss(tl.Tensor([3.0, 3, 3, 3]), tl.Tensor([2.0, 8, 6, 1])).item() == 9.75
    for p, expected in [(1.0, 0.0), (0.7, 0.3566749691963196), (0.3, 1.2039728164672852)]:
        pred = tl.Tensor([[0.0, 0.0, 1 - p, p]])
        loss = F.nn.cross_entropy(pred, tl.Tensor([3]), with_logits=False).item()
        assert loss == pytest.approx(expected, abs=1e-6)
    logits = tl.Tensor([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(F.nn.cross_entropy(logits, tl.Tensor([2])).item(),
                               np.log(np.exp([1, 2, 3]).sum()) - 3, rtol=1e-6)


@pytest.mark.parametrize("with_logits", [True, False])
def test_cross_entropy_label_smoothing_value(with_logits):
    """(1 - ls)·(-log p[label]) + ls·mean_c(-log p_c), computed here directly in numpy."""
    import tutorlib as tl
    logits = rand((3, 4), 0)
    labels = np.array([0, 3, 1], np.int32)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = np.mean(0.8 * -logp[np.arange(3), labels] + 0.2 * -logp.mean(1))
    pred = tl.Tensor(logits if with_logits else np.exp(logp))
    loss = F.nn.cross_entropy(pred, tl.Tensor(labels), with_logits=with_logits, label_smooth=0.2)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
