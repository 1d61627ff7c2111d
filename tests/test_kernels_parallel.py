"""The convolution as numba's parallel loop over images (``conv_images.py``), the BLAS call it
makes from inside numba (``gemm.py``), and the ReLU kernel, against numpy or the reference loops,
with the thread count forced above one (also on a 1-thread run)."""
import os

import numpy as np
import pytest

from tutorlib.kernels import activation, blas, conv, gemm, reference


@pytest.fixture
def three_threads(monkeypatch):
    """Convolutions believe they may use 3 threads (numba caps it at its own count)."""
    monkeypatch.setattr(blas, "workers_for", lambda macs: 3)


def test_numpys_blas_is_callable_from_numba_in_ci():
    if os.environ.get("CI") == "true":   # the wheels CI installs ship OpenBLAS
        assert gemm.AVAILABLE and conv.PARALLEL_IMAGES


@pytest.mark.skipif(not gemm.AVAILABLE, reason="numpy's BLAS is not an OpenBLAS")
@pytest.mark.parametrize("ta, tb", [(False, False), (False, True), (True, False), (True, True)])
def test_sgemm_matches_numpy(ta, tb):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((7, 5) if ta else (5, 7)).astype(np.float32)
    B = rng.standard_normal((3, 7) if tb else (7, 3)).astype(np.float32)
    C = rng.standard_normal((5, 3)).astype(np.float32)
    want = (A.T if ta else A) @ (B.T if tb else B) + np.float32(0.5) * C
    gemm.sgemm(A, B, C, 0.5, ta, tb)
    np.testing.assert_allclose(C, want, rtol=1e-5, atol=1e-5)


CONV_CASES = [  # (N, C, H, W, O, K, stride, pad, dil): the shapes conv_images meets
    (5, 16, 8, 8, 16, 3, 1, 1, 1),     # a ResNet 3x3 layer
    (4, 8, 9, 7, 6, 3, 2, 1, 1),       # strided (the first block of a stage)
    (3, 8, 8, 8, 4, 1, 2, 0, 1),       # the 1x1 stride-2 shortcut
    (3, 3, 10, 10, 6, 5, 1, 2, 2),     # RGB, dilated, padded
    (1, 2, 5, 5, 3, 3, 1, 0, 1),       # one image: fewer images than threads
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("need_gx", [True, False])
def test_conv_images_match_the_reference(case, need_gx, three_threads):
    if not conv.PARALLEL_IMAGES:
        pytest.skip("conv_images needs numpy's OpenBLAS")
    N, C, H, W, O, K, s, p, d = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((O, C, K, K)).astype(np.float32)
    b = rng.standard_normal(O).astype(np.float32)
    attrs = ((s, s), (p, p), (d, d), 1)
    y, saved = conv.conv2d_forward(x, w, b, *attrs, path="im2col_chw")
    g = rng.standard_normal(y.shape).astype(np.float32)
    gx, gw, gb = conv.conv2d_backward(g, saved, w, x.shape, *attrs, path="im2col_chw",
                                      need_gx=need_gx)
    want_gx, want_gw, want_gb = reference.conv2d_backward(g, x, w, *attrs)
    np.testing.assert_allclose(y, reference.conv2d_forward(x, w, b, *attrs), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, want_gw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gb, want_gb, rtol=1e-4, atol=1e-4)
    if need_gx:
        np.testing.assert_allclose(gx, want_gx, rtol=1e-4, atol=1e-4)
    else:
        assert gx is None


def test_conv_images_and_python_thread_chunks_agree(monkeypatch, three_threads):
    """The same convolution on numba's threads and on the fallback (chunks on Python threads)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 4, 7, 7)).astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    attrs = ((1, 1), (1, 1), (1, 1), 1)
    results = []
    for on_images in (True, False):
        monkeypatch.setattr(conv, "PARALLEL_IMAGES", on_images and gemm.AVAILABLE)
        y, saved = conv.conv2d_forward(x, w, None, *attrs, path="im2col_chw")
        results.append((y,) + conv.conv2d_backward(np.ones_like(y), saved, w, x.shape, *attrs,
                                                   path="im2col_chw"))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_relu_kernel_matches_numpy():
    x = np.random.default_rng(5).standard_normal(1001).astype(np.float32)
    x[[3, 10]] = np.nan, -0.0
    g = np.arange(1001, dtype=np.float32)
    np.testing.assert_array_equal(activation.relu(x.reshape(7, 143)), np.maximum(x, 0).reshape(7, 143))
    np.testing.assert_array_equal(activation.relu_backward(g, np.maximum(x, 0)), g * (x > 0))
    assert activation.relu(np.array([-1, 2])).dtype == np.array([-1, 2]).dtype   # ints: numpy's
