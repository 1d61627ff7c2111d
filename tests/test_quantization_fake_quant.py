"""FakeQuantize: forward formula, straight-through gradient (only inside the range), checked by
finite differences of the function the STE differentiates, and against PyTorch."""
import numpy as np
import pytest

from tutorlib import Tensor
from tutorlib.autodiff import GradManager
from tutorlib.quantization import FakeQuantize, create_qparams, fake_quant_tensor
from tutorlib.quantization.utils import QuantMode


def grad_of(x, qparams, upstream):
    t = Tensor(x)
    with GradManager().attach([t]) as gm:
        y = fake_quant_tensor(t, qparams)
        gm.backward((y * Tensor(upstream)).sum())
    return y.numpy(), t.grad.numpy()


def test_forward_formula_by_hand():
    """s = 0.5, zp = 3, quint8: q = clip(round(x/0.5) + 3, 0, 255); out = (q - 3)·0.5."""
    qp = create_qparams(QuantMode.ASYMMERTIC, "quint8", 0.5, 3)
    y, _ = grad_of(np.array([0.24, 0.26, -1.4, -2.0, 200.0], np.float32), qp, np.ones(5))
    np.testing.assert_allclose(y, [0.0, 0.5, -1.5, -1.5, 126.0])


def test_ste_gradient_passes_inside_the_range_only():
    qp = create_qparams(dtype="qint8", scale=0.1)            # range [-12.8, 12.7]
    x = np.array([-20.0, -12.8, -12.86, 0.04, 5.0, 12.7, 12.76, 13.0], np.float32)
    up = np.arange(1.0, 9.0, dtype=np.float32)
    _, g = grad_of(x, qp, up)
    # round(x/s) inside [-128, 127]: -128 (x=-12.8), -129 (x=-12.86 -> out), 127, 128 (out)
    np.testing.assert_array_equal(g, up * np.array([0, 1, 0, 1, 1, 1, 0, 0]))


def test_ste_gradient_matches_finite_differences_of_the_clipped_identity():
    """The STE differentiates clip(x, lo, hi) with lo = (qmin - zp)s, hi = (qmax - zp)s:
    central differences of that function, away from its corners, give the same gradient."""
    rng = np.random.default_rng(0)
    s, zp = 0.05, 10.0
    qp = create_qparams(QuantMode.ASYMMERTIC, "quint8", s, zp)
    lo, hi = (0 - zp) * s, (255 - zp) * s
    x = rng.uniform(lo - 3, hi + 3, 400)
    x = x[(np.abs(x - lo) > 0.1) & (np.abs(x - hi) > 0.1)].astype(np.float32)
    up = rng.normal(size=x.shape).astype(np.float32)
    _, g = grad_of(x, qp, up)
    eps = 1e-3

    def f(v):
        return (np.clip(v, lo, hi) * up).sum()
    fd = np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(len(x))])
    np.testing.assert_allclose(g, fd, atol=1e-3)
    assert 0 < (g == 0).sum() < len(x)                         # both cases were exercised


def test_per_channel_scales_broadcast():
    w = np.array([[1.0, -1.0], [0.1, 0.33]], np.float32)
    qp = create_qparams(dtype="qint8_narrow", scale=np.array([[0.5], [0.1]]))
    y, _ = grad_of(w, qp, np.ones_like(w))
    np.testing.assert_allclose(y, [[1.0, -1.0], [0.1, 0.3]], rtol=1e-6)


def test_module_enable_disable_and_dtype():
    fq = FakeQuantize("qint8_narrow")
    qp = create_qparams(dtype="qint8", scale=1.0)
    assert fq(Tensor([-200.0]), qp).numpy().tolist() == [-127.0]   # the module's own range
    fq.disable()
    assert fq(Tensor([-200.0]), qp).numpy().tolist() == [-200.0]


@pytest.mark.parametrize("per_channel", [False, True])
def test_matches_pytorch_forward_and_backward(per_channel):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.normal(0, 3, (4, 50)).astype(np.float32)
    up = rng.normal(size=x.shape).astype(np.float32)
    scale = np.array([0.02, 0.05, 0.01, 0.03], np.float32) if per_channel else np.float32(0.02)
    zp = np.array([0, 5, -3, 0], np.int32) if per_channel else np.int32(4)
    qp = create_qparams(QuantMode.ASYMMERTIC, "qint8",
                        scale.reshape(-1, 1) if per_channel else scale,
                        zp.reshape(-1, 1) if per_channel else zp)
    y, g = grad_of(x, qp, up)
    xt = torch.tensor(x, requires_grad=True)
    if per_channel:
        yt = torch.fake_quantize_per_channel_affine(xt, torch.tensor(scale), torch.tensor(zp),
                                                    0, -128, 127)
    else:
        yt = torch.fake_quantize_per_tensor_affine(xt, float(scale), int(zp), -128, 127)
    (yt * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-6)
    np.testing.assert_array_equal(g, xt.grad.numpy())
