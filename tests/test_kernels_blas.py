"""The OpenBLAS thread policy (tutorlib/kernels/blas.py) and the skipped input gradients.

The policy only changes *how many threads* a GEMM uses, never its result; these tests check
that it picks the counts it documents, always restores the caller's count, respects a count
of 1, degrades to a no-op without OpenBLAS, and that ops skip gradients nobody needs.
"""
import numpy as np
import pytest

import tutorlib as tl
from tutorlib.autodiff import GradManager
from tutorlib.kernels import blas, conv
from tutorlib.ops.core import apply
from tutorlib.ops.nn import Conv2d, Linear


def test_threads_for_small_and_big_gemms():
    assert blas.threads_for(64, 120, 400, 2) == 1                      # a LeNet linear layer
    big = blas.THREADED_MACS
    assert blas.threads_for(big, 1, 1, 2) == 2
    assert blas.threads_for(big - 1, 1, 1, 4) == 1
    assert blas.threads_for(big, 1, 1, 1) == 1                         # never more than allowed


@pytest.fixture
def api():
    if not blas.available():
        pytest.skip("numpy is not using an OpenBLAS tutorlib can find")
    get, set_ = blas._get_api()
    before = get()
    yield get, set_
    set_(before)


def test_gemm_threads_drops_to_one_and_restores(api):
    get, set_ = api
    set_(2)
    with blas.gemm_threads(8, 8, 8):
        assert get() == 1
    assert get() == 2
    with blas.gemm_threads(blas.THREADED_MACS, 1, 1):
        assert get() == 2
    with pytest.raises(RuntimeError):  # restored even if the block raises
        with blas.gemm_threads(8, 8, 8):
            raise RuntimeError
    assert get() == 2


def test_gemm_threads_respects_a_configured_single_thread(api):
    get, set_ = api
    set_(1)
    with blas.gemm_threads(blas.THREADED_MACS, 4, 4):
        assert get() == 1
    assert get() == 1


def test_gemm_threads_respects_a_threadpoolctl_limit(api):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    get, set_ = api
    set_(2)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        with blas.gemm_threads(blas.THREADED_MACS, 4, 4):  # big, but the limit is the most
            assert get() == 1
        assert blas.workers_for(blas.PARALLEL_MACS) == 1
    assert get() == 2


def test_gemm_threads_without_openblas_is_a_no_op(monkeypatch):
    monkeypatch.setattr(blas, "_api", False)
    assert not blas.available()
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    with blas.gemm_threads(2, 2, 3):
        np.testing.assert_array_equal(a @ a.T, [[5, 14], [14, 50]])


@pytest.mark.parametrize("path", [None, "im2col", "im2col_rows", "im2col_chw"])
@pytest.mark.parametrize("kernel, pad", [((3, 3), (1, 1)), ((1, 1), (0, 0))])
def test_conv_backward_without_input_gradient(kernel, pad, path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 6, 5)).astype(np.float32)
    w = rng.standard_normal((5, 4, *kernel)).astype(np.float32)
    y, xp = conv.conv2d_forward(x, w, None, (1, 1), pad, (1, 1), 1, path)
    g = rng.standard_normal(y.shape).astype(np.float32)
    full = conv.conv2d_backward(g, xp, w, x.shape, (1, 1), pad, (1, 1), 1, path)
    gx, gw, gb = conv.conv2d_backward(g, xp, w, x.shape, (1, 1), pad, (1, 1), 1, path,
                                      need_gx=False)
    assert gx is None
    np.testing.assert_array_equal(gw, full[1])
    np.testing.assert_array_equal(gb, full[2])


@pytest.mark.parametrize("op, shapes", [
    (Conv2d(padding=(1, 1)), ((2, 3, 5, 5), (4, 3, 3, 3), (1, 4, 1, 1))),
    (Linear(), ((6, 5), (3, 5), (3,))),
])
def test_ops_skip_the_gradient_of_an_untracked_input(op, shapes):
    """First layer: x is data (no gradient), only w and b are attached; their gradients equal
    the ones computed with x tracked too, and the op was told x needs none."""
    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    r = rng.standard_normal(op.forward(x, w, b).shape).astype(np.float32)

    def grads(track_x):
        params = [tl.Parameter(w), tl.Parameter(b)]
        xt = tl.Parameter(x) if track_x else tl.Tensor(x)
        gm = GradManager().attach(params + ([xt] if track_x else []))
        with gm:
            fresh = type(op)(**{k: getattr(op, k) for k in ("stride", "padding", "dilation",
                                                             "groups") if hasattr(op, k)})
            y = apply(fresh, xt, *params)
            gm.backward((y * tl.Tensor(r)).sum())
        return fresh, [p.grad.numpy() for p in params], xt

    op_skip, (gw, gb), xt = grads(False)
    assert op_skip.needs_input_grad[0] is False and xt.grad is None
    _, (gw_full, gb_full), xt_full = grads(True)
    np.testing.assert_allclose(gw, gw_full, rtol=1e-6)
    np.testing.assert_allclose(gb, gb_full, rtol=1e-6)
    assert xt_full.grad is not None


@pytest.mark.parametrize("case, path", [
    # (N, C, H, W, O, KH, KW, stride, pad, dil, groups), path (None: the one chosen)
    ((5, 4, 6, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1), None),           # im2col_chw
    ((5, 4, 6, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1), "row_shift"),    # forced
    ((5, 4, 6, 5, 4, 3, 3, (2, 1), (1, 1), (1, 1), 1), None),           # im2col_rows
    ((5, 1, 9, 8, 6, 5, 5, (1, 1), (2, 1), (1, 1), 1), None),           # im2col_chw
    ((4, 4, 7, 8, 6, 3, 2, (2, 1), (1, 0), (1, 2), 2), None),           # im2col (groups, dilation)
    ((3, 5, 4, 4, 2, 1, 1, (1, 1), (0, 0), (1, 1), 1), None),           # pointwise
])
def test_conv_chunks_on_two_threads_match_direct_loops(monkeypatch, api, case, path):
    """The parallel chunk path (2 Python threads, one or more images per chunk)."""
    from test_kernels_conv import check_against_reference, random_case
    get, set_ = api
    set_(2)
    monkeypatch.setattr(blas, "PARALLEL_MACS", 0)
    N, C, H, W, O, KH, KW, stride, pad, dil, groups = case
    assert conv._Geometry((N, C, H, W), (O, C // groups, KH, KW), stride, pad, dil,
                          groups).workers == 2
    rng = np.random.default_rng(2)
    for chunk_bytes in (1, conv.CHUNK_BYTES):  # one image per chunk, then one chunk per thread
        monkeypatch.setattr(conv, "CHUNK_BYTES", chunk_bytes)
        x, w, b = random_case(rng, N, C, H, W, O, KH, KW, groups)
        check_against_reference(x, w, b, stride, pad, dil, groups, rng, path)
    assert get() == 2  # OpenBLAS back to its configured count


def test_run_chunks_raises_a_chunk_error(api):
    get, set_ = api
    set_(2)

    def fn(n0, n1):
        if n0 == 2:
            raise ValueError("chunk 2")
        return n1

    with pytest.raises(ValueError, match="chunk 2"):
        blas.run_chunks(fn, [(0, 2), (2, 4)], 2)
    assert get() == 2
