"""Every layer against PyTorch: forward, input gradient and parameter gradients (weights copied)."""
import numpy as np
import pytest

import tutorlib as tl
import tutorlib.module as M

torch = pytest.importorskip("torch")
nn = torch.nn


def _copy_weights(ours, theirs):
    theirs_params = dict(theirs.named_parameters())
    assert sorted(theirs_params) == sorted(n for n, _ in ours.named_parameters())
    with torch.no_grad():
        for name, p in ours.named_parameters():
            tp = theirs_params[name]
            tp.copy_(torch.from_numpy(p.numpy().reshape(tp.shape)))


def _parity(ours, theirs, shape, rtol=1e-4, atol=1e-5, seed=0):
    """Forward and backward of ``ours`` and ``theirs`` on the same random input and output gradient."""
    rng = np.random.default_rng(seed)
    _copy_weights(ours, theirs)
    x = rng.normal(size=shape).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    dy = rng.normal(size=tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.from_numpy(dy))

    xx = tl.Tensor(x)
    gm = tl.GradManager().attach([xx, *ours.parameters()])
    with gm:
        y = ours(xx)
        gm.backward(y, tl.Tensor(dy))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(xx.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        expected = theirs_params[name].grad.numpy()
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad.numpy().reshape(expected.shape), expected,
                                   rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias):
    _parity(M.Linear(7, 5, bias=bias), nn.Linear(7, 5, bias=bias), (4, 7))
    _parity(M.Linear(3, 2, bias=bias), nn.Linear(3, 2, bias=bias), (2, 6, 3))


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3},
    {"kernel_size": (3, 2), "stride": 2, "padding": 1, "bias": False},
    {"kernel_size": 3, "padding": 2, "dilation": 2},
    {"kernel_size": 3, "padding": 1, "groups": 2},
    {"kernel_size": 3, "padding": 1, "padding_mode": "reflect"},
    {"kernel_size": 3, "padding": (1, 2), "padding_mode": "replicate"},
])
def test_conv2d(kwargs):
    _parity(M.Conv2d(4, 6, **kwargs), nn.Conv2d(4, 6, **kwargs), (2, 4, 9, 8), rtol=1e-4, atol=1e-4)


def test_pools():
    _parity(M.MaxPool2d(2), nn.MaxPool2d(2), (2, 3, 8, 8))
    _parity(M.MaxPool2d(3, stride=2, padding=1), nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 9, 7))
    _parity(M.AvgPool2d(3, stride=2, padding=1),
            nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 9, 7))
    _parity(M.AvgPool2d(3, stride=2, padding=1, mode="average"),
            nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True), (2, 3, 9, 7))
    _parity(M.AdaptiveAvgPool2d((3, 2)), nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5))
    _parity(M.AdaptiveAvgPool2d(1), nn.AdaptiveAvgPool2d(1), (2, 3, 7, 5))


@pytest.mark.parametrize("ours, theirs, shape", [
    (M.BatchNorm2d(3), nn.BatchNorm2d(3), (4, 3, 5, 5)),
    (M.BatchNorm1d(3), nn.BatchNorm1d(3), (8, 3)),
    (M.BatchNorm1d(3), nn.BatchNorm1d(3), (4, 3, 6)),
    (M.BatchNorm2d(3, momentum=0.7, eps=1e-3), nn.BatchNorm2d(3, momentum=0.3, eps=1e-3), (4, 3, 5, 5)),
])
def test_batchnorm_train_running_stats_and_eval(ours, theirs, shape):
    for seed in range(3):   # several training steps move the running statistics
        _parity(ours, theirs, shape, seed=seed)
    np.testing.assert_allclose(ours.running_mean.numpy().ravel(), theirs.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_var.numpy().ravel(), theirs.running_var.numpy(), rtol=1e-5, atol=1e-6)
    ours.eval(), theirs.eval()
    _parity(ours, theirs, shape, seed=9)


def test_batchnorm_without_affine_or_running_stats():
    _parity(M.BatchNorm2d(3, affine=False, track_running_stats=False),
            nn.BatchNorm2d(3, affine=False, track_running_stats=False), (4, 3, 5, 5))


@pytest.mark.parametrize("ours, theirs", [
    (M.ReLU(), nn.ReLU()), (M.Sigmoid(), nn.Sigmoid()), (M.LeakyReLU(0.2), nn.LeakyReLU(0.2)),
    (M.LeakyReLU(), nn.LeakyReLU()), (M.GELU(), nn.GELU()), (M.SiLU(), nn.SiLU()),
    (M.Softmax(axis=1), nn.Softmax(dim=1)), (M.Softmax(), nn.Softmax(dim=1)),
    (M.Identity(), nn.Identity()), (M.Flatten(), nn.Flatten()), (M.Flatten(0, 2), nn.Flatten(0, 2)),
])
def test_activations_and_shape_layers(ours, theirs):
    _parity(ours, theirs, (3, 4, 2, 5))


def test_dropout_in_eval_and_with_zero_probability_is_identity():
    d = M.Dropout(0.3)
    d.eval()
    _parity(d, nn.Dropout(0.3).eval(), (3, 4))
    _parity(M.Dropout(0.0), nn.Dropout(0.0), (3, 4))


def test_whole_lenet():
    def lenet(m):
        return m.Sequential(m.Conv2d(1, 6, 5), m.BatchNorm2d(6), m.ReLU(), m.MaxPool2d(2),
                            m.Conv2d(6, 16, 5), m.ReLU(), m.MaxPool2d(2), m.Flatten(),
                            m.Linear(256, 120), m.ReLU(), m.Linear(120, 10))

    _parity(lenet(M), lenet(nn), (4, 1, 28, 28), rtol=1e-3, atol=1e-4)
