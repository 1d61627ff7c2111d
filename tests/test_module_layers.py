"""Layers: default initialisation, seeding, shapes and bad input."""
import math

import numpy as np
import pytest

import tutorlib as tl
import tutorlib.module as M
from tutorlib.module import init


def test_default_init_is_megengine_normal():
    tl.random.seed(1)
    fc = M.Linear(1024, 512)
    w = fc.weight.numpy()
    assert w.shape == (512, 1024) and w.dtype == np.float32
    assert abs(w.mean()) < 0.002
    assert w.std() == pytest.approx(math.sqrt(1 / 1024), rel=0.01)
    assert np.all(fc.bias.numpy() == 0)
    # a normal, not a uniform: about 31.7% of samples lie beyond one std
    assert np.mean(np.abs(w) > math.sqrt(1 / 1024)) == pytest.approx(0.317, abs=0.01)

    conv = M.Conv2d(64, 128, 3)
    assert conv.weight.numpy().std() == pytest.approx(math.sqrt(1 / (64 * 9)), rel=0.01)
    assert conv.bias.shape == (1, 128, 1, 1) and np.all(conv.bias.numpy() == 0)
    grouped = M.Conv2d(64, 128, 3, groups=4)
    assert grouped.weight.shape == (4, 32, 16, 3, 3)
    assert grouped.weight.numpy().std() == pytest.approx(math.sqrt(1 / (16 * 9)), rel=0.02)


def test_seeding_makes_models_reproducible():
    tl.random.seed(20200325)
    a = M.Sequential(M.Conv2d(3, 4, 3), M.Linear(8, 2)).state_dict()
    tl.random.seed(20200325)
    b = M.Sequential(M.Conv2d(3, 4, 3), M.Linear(8, 2)).state_dict()
    c = M.Sequential(M.Conv2d(3, 4, 3), M.Linear(8, 2)).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["0.weight"], c["0.weight"])


def test_init_functions():
    tl.random.seed(0)
    t = tl.Parameter(np.zeros((200, 300)))
    init.xavier_uniform_(t)
    a = math.sqrt(6 / 500)
    assert np.abs(t.numpy()).max() <= a and np.abs(t.numpy()).max() > 0.95 * a
    init.xavier_normal_(t, gain=2.0)
    assert t.numpy().std() == pytest.approx(2 * math.sqrt(2 / 500), rel=0.02)
    init.msra_normal_(t, mode="fan_out", nonlinearity="relu")
    assert t.numpy().std() == pytest.approx(math.sqrt(2) / math.sqrt(200), rel=0.02)
    init.msra_uniform_(t, a=0.2)
    bound = math.sqrt(3) * math.sqrt(2 / (1 + 0.04)) / math.sqrt(300)
    assert bound * 0.95 < np.abs(t.numpy()).max() <= bound
    init.ones_(t)
    assert np.all(t.numpy() == 1) and t.dtype == np.float32
    i = tl.Tensor([1, 2, 3])
    init.fill_(i, 4)
    assert i.dtype == np.int32 and i.tolist() == [4, 4, 4]
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 1e-4)))
    assert init.calculate_fan_in_and_fan_out(tl.Tensor(np.zeros((10, 20)))) == (20, 10)
    assert init.calculate_fan_in_and_fan_out(tl.Tensor(np.zeros((4, 8, 2, 3, 3)))) == (18, 72)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(tl.Tensor(np.zeros(5)))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="mode must be"):
        init.msra_normal_(t, mode="fan_avg")


def test_init_replaces_the_array():
    w = tl.Parameter(np.zeros(3))
    snapshot = w.detach()
    init.ones_(w)
    assert snapshot.tolist() == [0, 0, 0] and w.tolist() == [1, 1, 1]


def test_batchnorm_input_checks_and_shapes():
    x = tl.Tensor(np.random.default_rng(0).normal(size=(4, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(N, C, H, W\), got 2D input of shape \(4, 3\)"):
        M.BatchNorm2d(3)(x)
    with pytest.raises(ValueError, match="BatchNorm1d: expected 2D or 3D input"):
        M.BatchNorm1d(3)(tl.Tensor(np.zeros((2, 3, 4, 5))))
    bn = M.BatchNorm1d(3)
    y = bn(x)
    assert y.shape == (4, 3)
    np.testing.assert_allclose(y.numpy().mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.numpy().ravel(), 0.1 * x.numpy().mean(0), rtol=1e-5)
    assert bn(tl.Tensor(np.zeros((4, 3, 7)))).shape == (4, 3, 7)
    bn.eval()
    np.testing.assert_allclose(bn(x).numpy(), (x.numpy() - bn.running_mean.numpy().reshape(1, 3))
                               / np.sqrt(bn.running_var.numpy().reshape(1, 3) + 1e-5), rtol=1e-5)


def test_batchnorm_freeze_and_no_running_stats():
    x = tl.Tensor(np.random.default_rng(1).normal(3, 2, size=(8, 2, 3, 3)))
    frozen = M.BatchNorm2d(2, freeze=True)
    np.testing.assert_allclose(frozen(x).numpy(), x.numpy() / np.sqrt(1 + 1e-5), rtol=1e-6)
    np.testing.assert_array_equal(frozen.running_mean.numpy(), 0)      # not updated
    gm = tl.GradManager().attach([x, *frozen.parameters()])
    with gm:
        gm.backward(frozen(x).sum())
    assert x.grad is not None and frozen.weight.grad is None           # affine detached
    free = M.BatchNorm2d(2, track_running_stats=False, affine=False)
    assert free.running_mean is None and list(free.parameters()) == []
    free.eval()
    np.testing.assert_allclose(free(x).numpy().mean((0, 2, 3)), 0, atol=1e-5)   # batch stats


def test_dropout_layers_and_activations():
    tl.random.seed(0)
    d = M.Dropout(0.5)
    y = d(tl.Tensor(np.ones(10000))).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and abs((y == 0).mean() - 0.5) < 0.03
    d.eval()
    assert np.all(d(tl.Tensor(np.ones(10))).numpy() == 1)
    x = tl.Tensor([-2.0, 0.5])
    np.testing.assert_allclose(M.Sigmoid()(x).numpy(), 1 / (1 + np.exp([2.0, -0.5])), rtol=1e-6)
    np.testing.assert_allclose(M.SiLU()(x).numpy(), x.numpy() / (1 + np.exp([2.0, -0.5])), rtol=1e-6)
    assert M.Softmax()(tl.Tensor(np.zeros((2, 4)))).numpy()[0].tolist() == [0.25] * 4
    assert M.Softmax(axis=0)(tl.Tensor(np.zeros((2, 4)))).numpy()[0].tolist() == [0.5] * 4
    ident = M.Identity()(x)
    assert ident is not x and ident.tolist() == x.tolist()
    assert M.Flatten()(tl.Tensor(np.zeros((2, 3, 4, 5)))).shape == (2, 60)
    assert M.Flatten(0, 1)(tl.Tensor(np.zeros((2, 3, 4)))).shape == (6, 4)


def test_conv_padding_modes_and_bad_arguments():
    x = tl.Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    conv = M.Conv2d(1, 1, 3, padding=1, padding_mode="replicate", bias=False)
    init.ones_(conv.weight)
    y = conv(x).numpy()
    assert y.shape == (1, 1, 4, 4)
    assert y[0, 0, 0, 0] == 0 + 0 + 1 + 0 + 0 + 1 + 4 + 4 + 5   # edge values repeated
    with pytest.raises(ValueError, match="padding_mode"):
        M.Conv2d(1, 1, 3, padding_mode="circular")
    with pytest.raises(ValueError, match="divisible by groups"):
        M.Conv2d(3, 4, 3, groups=2)
    assert "bias=False" in repr(conv) and "padding_mode=replicate" in repr(conv)
