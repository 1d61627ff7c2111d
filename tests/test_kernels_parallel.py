"""The convolution as numba's parallel loops over images (``conv_images.py``: "im2col_chw" and
"shift_gemm"), the BLAS calls they make from inside numba (``gemm.py``), and the ReLU kernel,
against numpy or the reference loops, with the thread count forced above one (also on a 1-thread
run)."""
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


@pytest.mark.skipif(not gemm.AVAILABLE, reason="numpy's BLAS is not an OpenBLAS")
@pytest.mark.parametrize("ta, tb", [(False, False), (False, True), (True, False)])
def test_sgemm_strided_reads_and_writes_overlapping_rows(ta, tb):
    """Matrices as views into one buffer at an offset, rows ``ld`` floats apart (the shifted
    images of "shift_gemm"); the result lands at an offset of another buffer."""
    rng = np.random.default_rng(1)
    buf = rng.standard_normal(64).astype(np.float32)
    M, N, K, ld = 3, 5, 4, 7           # B: K rows of N floats, 7 apart, from offset 2
    A = rng.standard_normal((K, M) if ta else (M, K)).astype(np.float32)
    rows = np.lib.stride_tricks.as_strided(buf[2:], (N, K) if tb else (K, N), (4 * ld, 4))
    out = np.zeros(40, np.float32)
    gemm.sgemm_strided(ta, tb, M, N, K, A, A.shape[1], buf[2:], ld, 0.0, out[3:], 9)
    want = (A.T if ta else A) @ (rows.T if tb else rows)
    got = np.lib.stride_tricks.as_strided(out[3:], (M, N), (4 * 9, 4))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    written = np.zeros(out.shape, bool)
    for r in range(M):
        written[3 + 9 * r:3 + 9 * r + N] = True
    assert not out[~written].any()      # nothing outside the M rows of N floats


CONV_CASES = [  # (N, C, H, W, O, K, stride, pad, dil): the shapes conv_images meets
    (5, 16, 8, 8, 16, 3, 1, 1, 1),     # a ResNet 3x3 layer
    (3, 16, 9, 8, 32, 3, 2, 1, 1),     # ... and a stage's first, strided, on odd sizes
    (4, 8, 9, 7, 6, 3, 2, 1, 1),       # strided (the first block of a stage)
    (3, 8, 8, 8, 4, 1, 2, 0, 1),       # the 1x1 stride-2 shortcut
    (3, 3, 10, 10, 6, 5, 1, 2, 2),     # RGB, dilated, padded
    (1, 2, 5, 5, 3, 3, 1, 0, 1),       # one image: fewer images than threads
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("need_gx", [True, False])
@pytest.mark.parametrize("path", ["im2col_chw", "shift_gemm"])
def test_conv_images_match_the_reference(case, need_gx, path, three_threads):
    if not conv.PARALLEL_IMAGES:
        pytest.skip("conv_images needs numpy's OpenBLAS")
    N, C, H, W, O, K, s, p, d = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((O, C, K, K)).astype(np.float32)
    b = rng.standard_normal(O).astype(np.float32)
    attrs = ((s, s), (p, p), (d, d), 1)
    y, saved = conv.conv2d_forward(x, w, b, *attrs, path=path)
    g = rng.standard_normal(y.shape).astype(np.float32)
    gx, gw, gb = conv.conv2d_backward(g, saved, w, x.shape, *attrs, path=path, need_gx=need_gx)
    want_gx, want_gw, want_gb = reference.conv2d_backward(g, x, w, *attrs)
    np.testing.assert_allclose(y, reference.conv2d_forward(x, w, b, *attrs), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, want_gw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gb, want_gb, rtol=1e-4, atol=1e-4)
    if need_gx:
        np.testing.assert_allclose(gx, want_gx, rtol=1e-4, atol=1e-4)
    else:
        assert gx is None


@pytest.mark.parametrize("path", ["im2col_chw", "shift_gemm"])
def test_conv_images_ignore_what_their_workspaces_held(monkeypatch, path, three_threads):
    """Workspaces are reused between calls: filled with NaN beforehand, they must not leak into
    a result (the thrown-away columns and the padded image's tail of "shift_gemm" included)."""
    if not conv.PARALLEL_IMAGES:
        pytest.skip("conv_images needs numpy's OpenBLAS")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 16, 6, 5)).astype(np.float32)
    w = rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    attrs = ((1, 1), (1, 0), (1, 1), 1)
    clean = conv._workspace

    def dirty(name, rows, cols):
        buf = clean(name, rows, cols)
        buf.fill(np.nan)
        return buf

    y, saved = conv.conv2d_forward(x, w, None, *attrs, path=path)
    g = rng.standard_normal(y.shape).astype(np.float32)
    want = (y,) + conv.conv2d_backward(g, saved, w, x.shape, *attrs, path=path)
    monkeypatch.setattr(conv, "_workspace", dirty)
    y2, saved2 = conv.conv2d_forward(x, w, None, *attrs, path=path)
    got = (y2,) + conv.conv2d_backward(g, saved2, w, x.shape, *attrs, path=path)
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


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
