"""``kernels.float16.round_to_float16`` against numpy's float16 conversion, bit for bit."""
import numpy as np
import pytest

from tutorlib.kernels.float16 import round_to_float16
from tutorlib.mlu.device import half


def numpy_round(x):
    with np.errstate(over="ignore"):
        return x.astype(np.float16).astype(np.float32)


def assert_same_bits(got, want):
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got.view(np.uint32)[~nan], want.view(np.uint32)[~nan])


def from_bits(bits):
    return np.asarray(bits, np.uint64).astype(np.uint32).view(np.float32)


def test_random_bit_patterns():
    x = from_bits(np.random.default_rng(0).integers(0, 2 ** 32, 2_000_000, dtype=np.uint64))
    assert_same_bits(round_to_float16(x), numpy_round(x))


@pytest.mark.parametrize("low, high", [
    (0x33000000 - 4096, 0x33800000 + 4096),      # 2^-25 (rounds to 0 or 2^-24), ties
    (0x38800000 - 65536, 0x38800000 + 65536),    # 2^-14, subnormal/normal boundary
    (0x3F800000 - 65536, 0x3F800000 + 65536),    # around 1.0, ties to even
    (0x477FE000 - 65536, 0x47800000 + 4096),     # 65504 (largest) .. 65520 (overflow) .. 65536
    (0x7F800000 - 4096, 0x7F800000 + 4096),      # float32 max, inf, NaNs
])
def test_every_value_near_the_boundaries(low, high):
    bits = np.arange(low, high, dtype=np.uint64)
    for sign in (0, 0x80000000):
        x = from_bits(bits | sign)
        assert_same_bits(round_to_float16(x), numpy_round(x))


def test_hand_picked_values():
    x = np.array([0.0, -0.0, 1.0, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504.0, 65519.996, 65520.0,
                  2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25, np.inf, -np.inf], np.float32)
    want = np.array([0.0, -0.0, 1.0, 1.0, 1 + 4 * 2 ** -11, 65504.0, 65504.0, np.inf,
                     2.0 ** -24, 0.0, 2 * 2.0 ** -24, np.inf, -np.inf], np.float32)
    assert_same_bits(round_to_float16(x), want)
    assert np.signbit(round_to_float16(np.array([-1e-9], np.float32)))[0]


def test_shapes_layouts_and_dtypes():
    x = np.random.default_rng(1).normal(0, 100, (3, 4, 5)).astype(np.float32)
    assert_same_bits(round_to_float16(x), numpy_round(x))
    strided = x.transpose(2, 0, 1)[::2]
    assert round_to_float16(strided).shape == strided.shape
    assert_same_bits(round_to_float16(strided), numpy_round(strided))
    assert round_to_float16(np.zeros((0, 3), np.float32)).shape == (0, 3)
    with pytest.raises(TypeError, match="float32"):
        round_to_float16(x.astype(np.float64))


def test_the_mlu_uses_it_and_leaves_the_input_alone():
    x = np.random.default_rng(2).normal(0, 1, 1000).astype(np.float32)
    before = x.copy()
    assert_same_bits(half(x), numpy_round(x))
    np.testing.assert_array_equal(x, before)
    assert half(x.astype(np.float64)).dtype == np.float32       # other float dtypes: numpy's path
