"""Integer kernels (tutorlib/kernels/integer.py): bit-exact against int64 numpy, right
accumulator width, reached by the warm-up so that numba's cache holds them."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tutorlib.kernels import integer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def conv_reference(x, w, stride, padding, dilation, groups, pad_value):
    """Direct loops in int64: the definition of a grouped, strided, dilated cross-correlation."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    xp = np.full((N, C, H + 2 * ph, W + 2 * pw), pad_value, np.int64)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    OH = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((N, O, OH, OW), np.int64)
    Og = O // groups
    for o in range(O):
        g = o // Og
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * Cg:(g + 1) * Cg, i * dh:i * dh + sh * (OH - 1) + 1:sh,
                           j * dw:j * dw + sw * (OW - 1) + 1:sw]
                out[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, i, j].astype(np.int64))
    return out


INT8 = (np.int8, -128, 128)
INT16 = (np.int16, -32768, 32768)


@pytest.mark.parametrize("kind", [INT8, INT16], ids=["int8", "int16"])
@pytest.mark.parametrize("stride,padding,dilation,groups,pad_value", [
    ((1, 1), (0, 0), (1, 1), 1, 0), ((2, 1), (1, 2), (1, 1), 1, 0),
    ((1, 1), (1, 1), (2, 2), 1, 0), ((1, 2), (1, 1), (1, 1), 2, 0), ((1, 1), (2, 2), (1, 1), 1, -7),
])
def test_conv2d_is_bit_exact_against_int64_loops(kind, stride, padding, dilation, groups,
                                                 pad_value):
    dt, lo, hi = kind
    rng = np.random.default_rng(0)
    x = rng.integers(lo, hi, (2, 4, 7, 6)).astype(dt)       # extreme values included
    x[0, 0, 0, 0], x[0, 0, 0, 1] = lo, hi - 1
    w = rng.integers(lo, hi, (6, 4 // groups, 3, 2)).astype(dt)
    got = integer.conv2d(x, w, stride, padding, dilation, groups, pad_value)
    want = conv_reference(x, w, stride, padding, dilation, groups, pad_value)
    assert got.dtype == (np.int32 if dt is np.int8 else np.int64)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", [INT8, INT16], ids=["int8", "int16"])
def test_linear_is_bit_exact_against_int64_matmul(kind):
    dt, lo, hi = kind
    rng = np.random.default_rng(1)
    x, w = rng.integers(lo, hi, (37, 300)).astype(dt), rng.integers(lo, hi, (11, 300)).astype(dt)
    got = integer.linear(x, w)
    np.testing.assert_array_equal(got, x.astype(np.int64) @ w.astype(np.int64).T)


def test_int16_sums_need_int64():
    """The worst int16 dot product of length 4 is 2^32: it would wrap in int32."""
    x = np.full((1, 4), -32768, np.int16)
    assert int(integer.linear(x, x)[0, 0]) == 4 * 2 ** 30
    assert integer.accumulator_dtype(np.int16, np.int8) == np.int64


def test_large_int8_problem_splits_over_threads_exactly():
    """A job big enough for the threaded path gives the same sums as the single-threaded one."""
    rng = np.random.default_rng(2)
    x = rng.integers(-128, 128, (4096, 512)).astype(np.int8)
    w = rng.integers(-127, 128, (64, 512)).astype(np.int8)
    np.testing.assert_array_equal(integer.linear(x, w), x.astype(np.int64) @ w.astype(np.int64).T)


def test_requantize_rounds_half_to_even_and_clips():
    acc = np.array([5, 15, 25, -15, 100000, -100000], np.int32)
    np.testing.assert_array_equal(integer.requantize(acc, 0.1, -128, 127, np.int8),
                                  [0, 2, 2, -2, 127, -128])


def test_unsupported_operand_types_are_named():
    with pytest.raises(ValueError, match="int8 or int16.*int32"):
        integer.accumulator_dtype(np.int32, np.int8)


def test_warm_up_compiles_the_integer_kernels(tmp_path):
    """After the warm-up, a quantized conv/linear in a new process loads every integer kernel
    from numba's cache (nothing compiled)."""
    cache = str(tmp_path / "numba-cache")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    subprocess.run([sys.executable, "-m", "tutorlib.kernels.warmup"], cwd=ROOT, check=True,
                   capture_output=True, env=env)
    code = textwrap.dedent("""
        import json
        import numpy as np
        from numba.core.registry import CPUDispatcher
        from tutorlib.kernels import integer
        for dt in (np.int8, np.int16):
            x = np.ones((3, 2, 5, 5), dt)
            integer.conv2d(x, np.ones((4, 2, 3, 3), dt), stride=2, padding=1)
            integer.linear(np.ones((3, 7), dt), np.ones((2, 7), dt))
        print(json.dumps({f.py_func.__name__: [sum(f.stats.cache_hits.values()),
                                                sum(f.stats.cache_misses.values())]
                          for f in vars(integer).values() if isinstance(f, CPUDispatcher)}))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                         text=True, env=env)
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(stats) == {"conv2d_images", "gemm_rows", "im2col_chw"}
    # conv2d_images and gemm_rows are called from Python (int8 and int16 each); im2col_chw is
    # compiled into conv2d_images, so it is never dispatched itself
    assert stats["conv2d_images"][0] >= 2 and stats["gemm_rows"][0] >= 2, stats
    assert all(misses == 0 for _, misses in stats.values()), stats
