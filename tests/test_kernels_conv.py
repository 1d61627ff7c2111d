"""Convolution kernels and the Conv2d op against the reference loops
(``tutorlib.kernels.reference``), finite differences and PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tutorlib as tl
from tutorlib.autodiff import GradManager
from tutorlib.kernels import conv, reference
from tutorlib.kernels.im2col import (
    col2im_add,
    col2im_rows_add,
    from_padded_nhwc,
    im2col,
    im2col_rows,
    to_padded_nhwc,
)
from tutorlib.ops.core import apply
from tutorlib.ops.nn import Conv2d

# strided convolutions: channels-first when it runs as numba's parallel loop over images
STRIDED = "im2col_chw" if conv.PARALLEL_IMAGES else "im2col_rows"
# layers of 16 channels or more: one GEMM per kernel tap, when numba can call the BLAS
WIDE = "shift_gemm" if conv.PARALLEL_IMAGES else "im2col_chw"


def run_kernels(x, w, b, stride, pad, dil, groups, g, path=None):
    y, xp = conv.conv2d_forward(x, w, b, stride, pad, dil, groups, path)
    return y, conv.conv2d_backward(g, xp, w, x.shape, stride, pad, dil, groups, path)


def random_case(rng, N, C, H, W, O, KH, KW, groups):
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((O, C // groups, KH, KW)).astype(np.float32)
    b = rng.standard_normal(O).astype(np.float32)
    return x, w, b


def check_against_reference(x, w, b, stride, pad, dil, groups, rng, path=None):
    want_y = reference.conv2d_forward(x, w, b, stride, pad, dil, groups)
    g = rng.standard_normal(want_y.shape).astype(np.float32)
    y, (gx, gw, gb) = run_kernels(x, w, b, stride, pad, dil, groups, g, path)
    want_gx, want_gw, want_gb = reference.conv2d_backward(g, x, w, stride, pad, dil, groups)
    np.testing.assert_allclose(y, want_y, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, want_gw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gb, want_gb, rtol=1e-4, atol=1e-4)
    assert y.dtype == gx.dtype == gw.dtype == gb.dtype == np.float32


# --- the layout helpers -------------------------------------------------------------------------

def test_im2col_rows_are_patches_and_col2im_is_its_adjoint():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    xp = to_padded_nhwc(x, 1, 2)
    np.testing.assert_array_equal(xp, np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2))).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(from_padded_nhwc(xp, 1, 2, np.empty_like(x)), x)
    groups, KH, KW, s, d = 2, 2, 3, (2, 1), (1, 2)
    OH, OW = (7 - 2) // 2 + 1, (10 - 5) // 1 + 1
    cols = im2col(xp, groups, KH, KW, *s, *d, OH, OW, np.empty((2 * OH * OW, 2 * 2 * 3 * 2), np.float32))
    # row (n, oh, ow), column (g, kh, kw, cg) == xp[n, oh*sh + kh*dh, ow*sw + kw*dw, g*Cg + cg]
    n, oh, ow, g, kh, kw, cg = 1, 2, 3, 1, 1, 2, 1
    assert cols[(n * OH + oh) * OW + ow, ((g * KH + kh) * KW + kw) * 2 + cg] == \
        xp[n, oh * 2 + kh * 1, ow * 1 + kw * 2, g * 2 + cg]
    # adjoint: <im2col(a), b> == <a, col2im(b)>
    b = rng.standard_normal(cols.shape).astype(np.float32)
    back = col2im_add(b, groups, KH, KW, *s, *d, OH, OW, np.zeros_like(xp))
    assert np.isclose(np.vdot(cols.astype(np.float64), b), np.vdot(xp.astype(np.float64), back))


# --- each path against direct loops ------------------------------------------------------------

def test_im2col_rows_equals_general_im2col():
    rng = np.random.default_rng(7)
    xp = rng.standard_normal((2, 7, 8, 3)).astype(np.float32)
    KH, KW, sh, sw, dh, OH, OW = 3, 2, 2, 3, 2, 2, 3
    rows = im2col_rows(xp, KH, KW, sh, sw, dh, OH, OW, np.empty((12, 18), np.float32))
    general = im2col(xp, 1, KH, KW, sh, sw, dh, 1, OH, OW, np.empty((12, 18), np.float32))
    np.testing.assert_array_equal(rows, general)
    g = rng.standard_normal(rows.shape).astype(np.float32)
    np.testing.assert_allclose(col2im_rows_add(g, KH, KW, sh, sw, dh, OH, OW, np.zeros_like(xp)),
                               col2im_add(g, 1, KH, KW, sh, sw, dh, 1, OH, OW, np.zeros_like(xp)),
                               rtol=1e-6, atol=1e-6)


def test_forward_and_backward_share_the_path():
    """Both passes of a stride-1 3x3 convolution use the same path, at any image size."""
    one = (1, 1)
    for hw in (32, 8):
        assert conv._Geometry((2, 64, hw, hw), (64, 64, 3, 3), one, one, one, 1).path == WIDE
    grouped = conv._Geometry((2, 64, 32, 32), (64, 32, 3, 3), one, one, one, 2)
    assert grouped.path == "im2col"


def test_path_choice():
    one = (1, 1)
    assert conv.choose_path((8, 4, 1, 1), one, (0, 0), one, 1) == "pointwise"
    assert conv.choose_path((8, 4, 1, 1), (2, 2), (0, 0), one, 1) == STRIDED
    assert conv.choose_path((8, 4, 1, 1), one, (1, 1), one, 1) == STRIDED
    assert conv.choose_path((8, 4, 3, 3), one, (1, 1), (2, 1), 1) == "im2col_chw"
    assert conv.choose_path((8, 4, 3, 3), (2, 1), (1, 1), one, 1) == STRIDED
    assert conv.choose_path((8, 4, 3, 3), (1, 2), (1, 1), one, 1) == "im2col_chw"
    assert conv.choose_path((8, 4, 3, 3), one, (1, 1), (1, 2), 1) == "im2col"
    assert conv.choose_path((8, 2, 1, 1), one, (0, 0), one, 2) == "im2col"
    assert conv.choose_path((6, 1, 5, 5), one, (0, 0), one, 1) == "im2col_chw"
    assert conv.choose_path((6, 3, 5, 5), one, (0, 0), one, 1) == "row_shift"   # LeNet-5, RGB
    assert conv.choose_path((16, 3, 3, 3), one, one, one, 1) == "im2col_chw"    # ResNet's stem
    assert conv.choose_path((6, 3, 5, 5), (2, 2), (0, 0), (1, 2), 1) == "im2col_chw"
    assert conv.choose_path((6, 4, 5, 5), one, (0, 0), one, 1) == "im2col_chw"
    assert conv.choose_path((16, 16, 3, 3), one, one, one, 1) == WIDE            # ResNet-20
    assert conv.choose_path((64, 64, 3, 3), one, one, (2, 2), 1) == WIDE          # dilated
    assert conv.choose_path((16, 6, 5, 5), one, (0, 0), one, 1) == "im2col_chw"   # LeNet-5's 2nd
    assert conv.choose_path((32, 16, 3, 3), (2, 2), one, one, 1) == \
        ("shift_gemm" if conv.PARALLEL_IMAGES else STRIDED)                        # on phases
    assert conv.choose_path((32, 16, 1, 1), (2, 2), (0, 0), one, 1) == STRIDED      # shortcut


def applicable_paths(C, KH, KW, stride, pad, dil, groups):
    """Every path that can compute this convolution (the general "im2col" always can)."""
    paths = ["im2col"]
    if groups == 1:
        paths.append("im2col_chw")
        if conv.PARALLEL_IMAGES:
            paths.append("shift_gemm")
        if dil[1] == 1:
            paths.append("im2col_rows")
            if stride[0] == 1:
                paths.append("row_shift")
        if (KH, KW) == (1, 1) and tuple(stride) == (1, 1) and tuple(pad) == (0, 0):
            paths.append("pointwise")
    return paths


CASES = [
    # (N, C, H, W, O, KH, KW, stride, pad, dil, groups), the path chosen for it
    ((2, 4, 6, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1), "im2col_chw"),    # 3x3 same
    ((2, 3, 6, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1), "im2col_chw"),    # RGB 3x3 same
    ((2, 4, 7, 8, 6, 3, 2, (2, 1), (1, 0), (1, 2), 2), "im2col"),        # stride/dilation/groups
    ((2, 4, 7, 8, 6, 3, 2, (2, 1), (1, 0), (2, 1), 1), STRIDED),        # vertical stride
    ((2, 4, 9, 8, 6, 3, 2, (1, 2), (1, 0), (2, 1), 1), "im2col_chw"),    # vertical dilation
    ((3, 5, 4, 4, 2, 1, 1, (1, 1), (0, 0), (1, 1), 1), "pointwise"),     # plain GEMM
    ((2, 4, 5, 5, 3, 1, 1, (2, 2), (0, 0), (1, 1), 1), STRIDED),         # strided 1x1
    ((1, 1, 5, 5, 2, 5, 5, (1, 1), (0, 0), (1, 1), 1), "row_shift"),     # kernel == input, C=1
    ((3, 1, 9, 8, 6, 5, 5, (1, 1), (2, 1), (1, 1), 1), "im2col_chw"),    # LeNet-like, padded
    ((2, 3, 9, 8, 4, 3, 2, (2, 1), (1, 0), (1, 2), 1), "im2col_chw"),    # RGB, strided, dilated
    ((2, 6, 5, 5, 6, 3, 3, (1, 1), (1, 1), (1, 1), 6), "im2col"),        # depthwise
    ((2, 4, 32, 32, 3, 3, 3, (1, 1), (1, 1), (1, 1), 1), "im2col_chw"),  # a 32x32 image
    ((3, 16, 8, 8, 16, 3, 3, (1, 1), (1, 1), (1, 1), 1), WIDE),          # a ResNet-20 layer
    ((2, 16, 9, 7, 5, 3, 2, (1, 1), (2, 0), (2, 2), 1), WIDE),           # dilated, uneven pad
    ((2, 16, 6, 6, 4, 5, 5, (1, 1), (0, 0), (1, 1), 1), WIDE),           # no padding, 5x5
    ((2, 16, 9, 8, 6, 3, 3, (2, 2), (1, 1), (1, 1), 1),                   # a stage's first 3x3
     "shift_gemm" if conv.PARALLEL_IMAGES else STRIDED),
    ((2, 16, 9, 8, 6, 3, 2, (3, 2), (1, 0), (2, 1), 1),                   # odd strides, dilated
     "shift_gemm" if conv.PARALLEL_IMAGES else STRIDED),
]


@pytest.mark.parametrize("case, auto_path", CASES)
def test_conv_matches_direct_loops(case, auto_path):
    """The chosen path, then every other path that applies, forced, on the same case."""
    N, C, H, W, O, KH, KW, stride, pad, dil, groups = case
    assert conv.choose_path((O, C // groups, KH, KW), stride, pad, dil, groups) == auto_path
    paths = applicable_paths(C, KH, KW, stride, pad, dil, groups)
    assert auto_path in paths
    for path in [None] + paths:
        rng = np.random.default_rng(1)
        x, w, b = random_case(rng, N, C, H, W, O, KH, KW, groups)
        check_against_reference(x, w, b, stride, pad, dil, groups, rng, path)


@pytest.mark.parametrize("path", [p for p in conv.PATHS if p != "shift_gemm"])  # never chunked
def test_conv_many_chunks_matches_one_chunk(monkeypatch, path):
    """Force the chunk loop (one image per chunk) on every path and compare with direct loops."""
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    rng = np.random.default_rng(2)
    C, kernel = (1, (3, 3)) if path == "im2col_chw" else (4, (1, 1) if path == "pointwise" else (3, 3))
    x, w, b = random_case(rng, 3, C, 5, 5, 3, *kernel, 1)
    pad = (kernel[0] // 2, kernel[1] // 2)
    assert len(conv._Geometry(x.shape, w.shape, (1, 1), pad, (1, 1), 1, path).chunks) == 3
    check_against_reference(x, w, b, (1, 1), pad, (1, 1), 1, rng, path)


def test_unknown_path_is_named():
    with pytest.raises(ValueError, match="unknown path 'winograd'"):
        conv.conv2d_forward(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 3, 3), np.float32),
                            None, (1, 1), (0, 0), (1, 1), 1, "winograd")


@settings(max_examples=25, deadline=None)
@given(N=st.integers(1, 3), Cg=st.integers(1, 3), Og=st.integers(1, 3), groups=st.integers(1, 2),
       H=st.integers(1, 7), W=st.integers(1, 7), KH=st.integers(1, 3), KW=st.integers(1, 3),
       sh=st.integers(1, 2), sw=st.integers(1, 2), ph=st.integers(0, 2), pw=st.integers(0, 2),
       dh=st.integers(1, 2), dw=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_conv_random_shapes(N, Cg, Og, groups, H, W, KH, KW, sh, sw, ph, pw, dh, dw, seed):
    if H + 2 * ph < dh * (KH - 1) + 1 or W + 2 * pw < dw * (KW - 1) + 1:
        return
    for path in applicable_paths(Cg * groups, KH, KW, (sh, sw), (ph, pw), (dh, dw), groups):
        rng = np.random.default_rng(seed)
        x, w, b = random_case(rng, N, Cg * groups, H, W, Og * groups, KH, KW, groups)
        check_against_reference(x, w, b, (sh, sw), (ph, pw), (dh, dw), groups, rng, path)


# --- the op through autodiff -------------------------------------------------------------------

def grads_through_apply(op, *arrays):
    """Gradients of sum(op(*arrays) * r) w.r.t. every input, via apply + GradManager."""
    params = [tl.Parameter(a) for a in arrays]
    gm = GradManager().attach(params)
    with gm:
        y = apply(op, *params)
        r = np.random.default_rng(3).standard_normal(y.shape).astype(np.float32)
        gm.backward((y * tl.Tensor(r)).sum())
    return y.numpy(), r, [p.grad.numpy() for p in params]


def finite_difference(f, arrays, i, eps=1e-2, n=6, seed=0):
    """Central differences of scalar f at n random coordinates of arrays[i]."""
    rng = np.random.default_rng(seed)
    out = []
    for flat in rng.choice(arrays[i].size, size=min(n, arrays[i].size), replace=False):
        plus = [a.copy() for a in arrays]
        minus = [a.copy() for a in arrays]
        plus[i].flat[flat] += eps
        minus[i].flat[flat] -= eps
        out.append((flat, (f(*plus) - f(*minus)) / (2 * eps)))
    return out


def test_conv_op_gradients_by_finite_differences():
    rng = np.random.default_rng(4)
    x, w, b = random_case(rng, 2, 4, 5, 5, 4, 3, 3, 2)
    b = b.reshape(1, 4, 1, 1)
    attrs = {"stride": (2, 1), "padding": (1, 1), "dilation": (1, 1), "groups": 2}
    _y, r, grads = grads_through_apply(Conv2d(**attrs), x, w, b)
    assert grads[2].shape == (1, 4, 1, 1)

    def loss(*a):
        return float((Conv2d(**attrs).forward(*a).astype(np.float64) * r).sum())

    for i in range(3):
        for flat, num in finite_difference(loss, [x, w, b], i):
            assert grads[i].flat[flat] == pytest.approx(num, rel=2e-2, abs=2e-2)


def test_conv_op_without_bias_and_with_scalar_bias():
    rng = np.random.default_rng(5)
    x, w, _ = random_case(rng, 1, 2, 4, 4, 3, 3, 3, 1)
    op = Conv2d()
    y = op.forward(x, w)
    assert len(op.backward(np.ones_like(y))) == 2
    op = Conv2d()
    y2 = op.forward(x, w, np.array([2.0], np.float32))
    np.testing.assert_allclose(y2, y + 2, rtol=1e-6, atol=1e-5)  # bias added first or last
    assert op.backward(np.ones_like(y))[2].shape == (1,)
    assert op.backward(np.ones_like(y))[2][0] == pytest.approx(y.size)


@pytest.mark.parametrize("xs, ws, groups, pad, match", [
    ((1, 3, 5, 5), (4, 2, 3, 3), 1, 0, r"conv2d: x \(1, 3, 5, 5\).*w \(4, 2, 3, 3\)"),
    ((1, 4, 5, 5), (3, 2, 3, 3), 2, 0, r"conv2d: .*groups=2"),
    ((1, 3, 2, 2), (4, 3, 3, 3), 1, 0, r"conv2d: kernel of w \(4, 3, 3, 3\).*x \(1, 3, 2, 2\)"),
    ((3, 5, 5), (4, 3, 3, 3), 1, 0, r"conv2d: expected x \(N, C, H, W\)"),
])
def test_conv_bad_shapes_raise(xs, ws, groups, pad, match):
    with pytest.raises(ValueError, match=match):
        Conv2d(padding=pad, groups=groups).forward(np.zeros(xs, np.float32), np.zeros(ws, np.float32))


def test_conv_kernel_fits_after_padding():
    y = Conv2d(padding=(1, 1)).forward(np.zeros((1, 1, 1, 1), np.float32), np.zeros((1, 1, 3, 3), np.float32))
    assert y.shape == (1, 1, 1, 1)


# --- PyTorch parity ----------------------------------------------------------------------------

@pytest.mark.parametrize("stride, pad, dil, groups", [
    ((1, 1), (1, 1), (1, 1), 1), ((2, 2), (1, 1), (1, 1), 1), ((1, 2), (2, 0), (2, 1), 1),
    ((1, 1), (0, 0), (1, 1), 1), ((2, 1), (1, 1), (1, 1), 3), ((1, 1), (1, 1), (1, 1), 6),
])
def test_conv_matches_torch(stride, pad, dil, groups):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x, w, b = random_case(rng, 3, 6, 9, 8, 12, 3, 3, groups)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride, pad, dil, groups)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.tensor(g))
    y, (gx, gw, gb) = run_kernels(x, w, b, stride, pad, dil, groups, g)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_conv_bad_bias_raises():
    with pytest.raises(ValueError, match=r"conv2d: bias \(3,\) does not broadcast to \(1, 2, 1, 1\)"):
        Conv2d().forward(np.zeros((1, 1, 3, 3), np.float32), np.zeros((2, 1, 2, 2), np.float32),
                         np.zeros(3, np.float32))
