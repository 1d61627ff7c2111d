"""Cambricon fixed point (tutorlib.quantization.fixed_point) against values computed by hand
from the CNNL formulas (reference §2.5)."""
import math

import numpy as np
import pytest

from tutorlib.kernels import integer
from tutorlib.quantization import fixed_point as fp


def test_reference_round_trip_int8_absmax_3():
    """absmax 3.0, int8: position -5, scale 2^-5·127/3 ≈ 1.3229, 1.0 -> 42 -> 0.9921."""
    p = fp.params(np.array([0.5, -3.0, 2.0]), 8, "position_scale")
    assert p.position == -5
    assert p.scale == pytest.approx(2 ** -5 * 127 / 3) and round(p.scale, 4) == 1.3229
    q = fp.quantize(np.array([1.0]), p)
    assert q.dtype == np.int8 and q[0] == 42
    assert fp.dequantize(q, p)[0] == pytest.approx(42 * 2 ** -5 / (2 ** -5 * 127 / 3))
    assert round(float(fp.dequantize(q, p)[0]), 4) == 0.9921
    assert fp.quantize(np.array([3.0, -3.0]), p).tolist() == [127, -127]  # absmax -> ±(2^7-1)


def test_position_mode_uses_half_the_range():
    """position = floor(log2 3) - 6 = -5: q = round(32 x), so absmax 3 gives 96, not 127."""
    p = fp.params(np.array([3.0]), 8, "position")
    assert (p.position, p.scale, p.offset) == (-5, 1.0, 0)
    assert fp.quantize(np.array([3.0, 1.0, 0.015625]), p).tolist() == [96, 32, 0]  # 0.5 -> even
    assert fp.dequantize(np.array([96], np.int8), p)[0] == 3.0


@pytest.mark.parametrize("bitwidth,absmax,position", [
    (8, 1.0, -6), (8, 0.99, -7), (8, 127.0, 0), (16, 3.0, -13), (16, 1000.0, -5),
    (31, 3.0, -28), (31, 1.0, -29),
])
def test_position_formula(bitwidth, absmax, position):
    """position = floor(log2(absmax)) - (n - 2)."""
    assert fp.params(np.array([-absmax, absmax / 2]), bitwidth).position == position
    assert position == math.floor(math.log2(absmax)) - (bitwidth - 2)


def test_position_scale_offset_by_hand():
    """D in [-1, 3], int8: span 4, position = 2 - 7 = -5, scale = 2^-5·255/4,
    offset = round(-128 + 1·255/4) = round(-64.25) = -64; min -> -128, max -> 127, and the
    rounded offset moves both ends by a quarter step: (q + 64)·4/255 = -1.0039, 2.9961."""
    p = fp.params(np.array([-1.0, 3.0, 0.2]), 8, "position_scale_offset")
    assert p.position == -5
    assert p.scale == pytest.approx(2 ** -5 * 255 / 4)
    assert p.offset == -64
    q = fp.quantize(np.array([-1.0, 3.0, 0.0]), p)
    assert q.tolist() == [-128, 127, -64]
    np.testing.assert_allclose(fp.dequantize(q, p), [-64 * 4 / 255, 191 * 4 / 255, 0.0], rtol=1e-6)


def test_offset_mode_widens_the_range_to_contain_zero():
    """All-positive data still maps 0 exactly (min is min(0, min D))."""
    p = fp.params(np.array([2.0, 5.0]), 8, "position_scale_offset")
    assert fp.quantize(np.array([0.0]), p)[0] == -128 and fp.dequantize([-128], p)[0] == 0.0


def test_all_zero_data():
    for mode in fp.MODES[:2]:
        assert fp.params(np.zeros(4), 8, mode)[:3] == (0, 1.0, 0)


@pytest.mark.parametrize("rounding,expected", [
    ("half_even", [-2, -2, 0, 0, 2, 2]),
    ("half_away", [-3, -2, -1, 1, 2, 3]),
    ("half_up", [-2, -1, 0, 1, 2, 3]),
])
def test_rounding_modes_on_ties(rounding, expected):
    p = fp.FixedPointParams(0, 1.0, 0, 8, "position")   # q = round(x)
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    assert fp.quantize(x, p, rounding=rounding).tolist() == expected


@pytest.mark.parametrize("bitwidth,dtype,qmax", [(8, np.int8, 127), (16, np.int16, 32767),
                                                 (31, np.int32, 2 ** 30 - 1)])
def test_storage_and_clamping(bitwidth, dtype, qmax):
    p = fp.params(np.array([1.0]), bitwidth)
    q = fp.quantize(np.array([1e9, -1e9, 1.0]), p)
    assert q.dtype == dtype
    assert q[0] == 2 ** (bitwidth - 1) - 1 and q[1] == -2 ** (bitwidth - 1)
    assert q[2] == 2 ** (bitwidth - 2)          # absmax 1: position -(n-2), q = 2^(n-2)
    assert fp.dequantize(q[2:], p)[0] == 1.0


def test_int16_is_256_times_finer_than_int8():
    x = np.random.default_rng(0).normal(size=1000)
    errs = {}
    for n in (8, 16):
        p = fp.params(x, n, "position_scale")
        errs[n] = np.abs(fp.dequantize(fp.quantize(x, p), p) - x).max()
        assert errs[n] <= 0.5 * 2.0 ** p.position / p.scale * (1 + 1e-6)  # half a step
    assert 200 < errs[8] / errs[16] < 300


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="bitwidth must be 8, 16 or 31"):
        fp.params(np.ones(2), 12)
    with pytest.raises(ValueError, match="int31 supports only mode='position'"):
        fp.params(np.ones(2), 31, "position_scale")
    with pytest.raises(ValueError, match="rounding must be"):
        fp.quantize(np.ones(2), fp.params(np.ones(2)), rounding="down")
    with pytest.raises(ValueError, match="differs"):
        fp.quantize(np.ones(2), fp.params(np.ones(2)), bitwidth=16)
    with pytest.raises(ValueError, match="inf or nan"):
        fp.params(np.array([1.0, np.nan]))


@pytest.mark.parametrize("bitwidth", [8, 16])
@pytest.mark.parametrize("x_mode", ["position", "position_scale", "position_scale_offset"])
def test_conv2d_equals_float_conv_of_dequantized_values(bitwidth, x_mode):
    """Integer conv then one rescale == float conv of the dequantized input and weight (the
    positions add), including the offset mode whose padding holds the offset."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(size=(2, 3, 6, 6)), 0) + 0.1 * (x_mode != "position_scale_offset")
    w, b = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    px, pw = fp.params(x, bitwidth, x_mode), fp.params(w, bitwidth, "position_scale")
    qx, qw = fp.quantize(x, px), fp.quantize(w, pw)
    got = fp.conv2d(qx, px, qw, pw, b, padding=1)
    xd = fp.dequantize(qx, px).astype(np.float64)
    xpad = np.pad(xd, ((0, 0), (0, 0), (1, 1), (1, 1)))
    wd = fp.dequantize(qw, pw).astype(np.float64)
    want = np.zeros((2, 4, 6, 6))
    for i in range(3):
        for j in range(3):
            want += np.einsum("nchw,oc->nohw", xpad[:, :, i:i + 6, j:j + 6], wd[:, :, i, j])
    want += b.reshape(1, -1, 1, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    exact = np.abs(np.asarray(x) - xd).max() + np.abs(w - wd).max()
    assert np.abs(got - want).max() < 1e-3 and exact > 0      # rounding did happen


def test_linear_uses_int32_for_int8_and_int64_for_int16():
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(5, 64)), rng.normal(size=(3, 64))
    for n, acc in ((8, np.int32), (16, np.int64)):
        px, pw = fp.params(x, n, "position_scale"), fp.params(w, n, "position_scale")
        qx, qw = fp.quantize(x, px), fp.quantize(w, pw)
        assert integer.linear(qx, qw).dtype == acc
        want = fp.dequantize(qx, px).astype(np.float64) @ fp.dequantize(qw, pw).T.astype(np.float64)
        np.testing.assert_allclose(fp.linear(qx, px, qw, pw), want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="weights must be symmetric"):
        pw = fp.params(w, 8, "position_scale_offset")
        fp.linear(qx.astype(np.int8), px, fp.quantize(w, pw), pw)
