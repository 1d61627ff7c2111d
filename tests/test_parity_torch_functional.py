"""Forward and backward parity of ``tutorlib.functional`` with PyTorch (skipped without torch).

Conventions that differ: MegEngine's batch-norm momentum 0.9 is PyTorch's 0.1, and
``F.softmax``'s default axis is 0 for 0-, 1- and 3-D inputs and 1 otherwise.
"""
import numpy as np
import pytest
from helpers import autodiff_grads, rand, torch_parity

import tutorlib as tl
import tutorlib.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

UNARY = {
    "neg": (F.neg, torch.neg, {}), "abs": (F.abs, torch.abs, {"away_from": 0}),
    "exp": (F.exp, torch.exp, {}), "expm1": (F.expm1, torch.expm1, {}),
    "log": (F.log, torch.log, {"low": 0.1}), "log1p": (F.log1p, torch.log1p, {"low": -0.9}),
    "sqrt": (F.sqrt, torch.sqrt, {"low": 0.1}), "square": (F.square, torch.square, {}),
    "sin": (F.sin, torch.sin, {}), "cos": (F.cos, torch.cos, {}),
    "tan": (F.tan, torch.tan, {"low": -1.2, "high": 1.2}), "tanh": (F.tanh, torch.tanh, {}),
    "sigmoid": (F.sigmoid, torch.sigmoid, {"low": -30, "high": 30}),
    "relu": (F.relu, torch.relu, {"away_from": 0}),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1), {}),
    "gelu": (F.gelu, TF.gelu, {"low": -5, "high": 5}), "silu": (F.silu, TF.silu, {}),
    "softplus": (F.softplus, TF.softplus, {"low": -30, "high": 30}),
    "clip": (lambda x: F.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5), {}),
    "pow": (lambda x: x ** 3, lambda x: x ** 3, {}),
    "round": (F.round, torch.round, {}), "floor": (F.floor, torch.floor, {}),
    "ceil": (F.ceil, torch.ceil, {}), "sign": (F.sign, torch.sign, {}),
    "erf": (F.erf, torch.erf, {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    ours, theirs, domain = UNARY[name]
    wrt = [] if name in ("round", "floor", "ceil", "sign", "erf") else None
    torch_parity(ours, theirs, rand((3, 4), 0, **domain), wrt=wrt, atol=2e-5)


BINARY = {
    "add": (F.add, torch.add), "sub": (F.sub, torch.sub), "mul": (F.mul, torch.mul),
    "div": (F.div, torch.div), "pow": (F.pow, torch.pow), "maximum": (F.maximum, torch.maximum),
    "minimum": (F.minimum, torch.minimum), "logaddexp": (F.logaddexp, torch.logaddexp),
    "where": (lambda a, b: F.where(a > b, a, b), lambda a, b: torch.where(a > b, a, b)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_broadcasting(name):
    ours, theirs = BINARY[name]
    torch_parity(ours, theirs, rand((2, 1, 4), 0, low=0.5), rand((3, 1), 1, low=0.5, high=3))


def test_comparisons_and_logic():
    a, b = rand((3, 4), 0), rand((4,), 1)
    ta, tb = torch.tensor(a), torch.tensor(b)
    for ours, theirs in [(F.equal, torch.eq), (F.less, torch.lt), (F.greater_equal, torch.ge),
                         (F.not_equal, torch.ne), (F.less_equal, torch.le), (F.greater, torch.gt)]:
        out = ours(tl.Tensor(a), tl.Tensor(b))
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out.numpy(), theirs(ta, tb).numpy())
    m, n = tl.Tensor(a) > 0, tl.Tensor(b) > 0
    np.testing.assert_array_equal((m & n).numpy(), ((ta > 0) & (tb > 0)).numpy())
    np.testing.assert_array_equal((m | n).numpy(), ((ta > 0) | (tb > 0)).numpy())
    np.testing.assert_array_equal((m ^ n).numpy(), ((ta > 0) ^ (tb > 0)).numpy())
    np.testing.assert_array_equal((~m).numpy(), (~(ta > 0)).numpy())


def _torch_prod(x, axes, keepdim):
    """torch.prod takes one dim: reduce the highest axis first so the others keep their index."""
    for a in sorted(np.atleast_1d(axes) % x.ndim, reverse=True):
        x = torch.prod(x, int(a), keepdim=keepdim)
    return x


REDUCTIONS = {
    "sum": (F.sum, lambda x, a, k: torch.sum(x, a, keepdim=k)),
    "mean": (F.mean, lambda x, a, k: torch.mean(x, a, keepdim=k)),
    "max": (F.max, lambda x, a, k: torch.amax(x, a, keepdim=k)),
    "min": (F.min, lambda x, a, k: torch.amin(x, a, keepdim=k)),
    "prod": (F.prod, lambda x, a, k: _torch_prod(x, a, k)),
    "var": (F.var, lambda x, a, k: torch.var(x, a, keepdim=k, unbiased=False)),
    "std": (F.std, lambda x, a, k: torch.std(x, a, keepdim=k, unbiased=False)),
    "logsumexp": (F.logsumexp, lambda x, a, k: torch.logsumexp(x, a, keepdim=k)),
    "norm": (lambda x, a, k: F.norm(x, axis=a, keepdims=k),
             lambda x, a, k: torch.linalg.vector_norm(x, dim=a, keepdim=k)),
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [1, -1, (0, 2)])
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name, axis, keepdims):
    ours, theirs = REDUCTIONS[name]
    x = np.random.default_rng(0).permutation(24).reshape(2, 3, 4) * 0.1 + 0.5
    torch_parity(lambda t: ours(t, axis, keepdims), lambda t: theirs(t, axis, keepdims), x)


def test_full_reductions_cumsum_and_argmax():
    x = rand((3, 4), 0)
    torch_parity(lambda t: F.sum(t) + F.mean(t) * F.max(t), lambda t: t.sum() + t.mean() * t.max(), x)
    torch_parity(lambda t: F.cumsum(t, 1), lambda t: torch.cumsum(t, 1), x)
    np.testing.assert_array_equal(F.argmax(tl.Tensor(x), 1).numpy(), torch.argmax(torch.tensor(x), 1))
    np.testing.assert_array_equal(F.argmin(tl.Tensor(x)).numpy(), torch.argmin(torch.tensor(x)))


@pytest.mark.parametrize("a, b", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                  ((5, 2, 3), (3, 4)), ((1, 2, 3), (5, 3, 4)),
                                  ((2, 1, 2, 3), (4, 3, 2))])
def test_matmul(a, b):
    torch_parity(F.matmul, torch.matmul, rand(a, 0), rand(b, 1))


def test_matmul_transposes_and_operator():
    torch_parity(lambda x, y: F.matmul(x, y, transpose_a=True, transpose_b=True) + x.T @ y.T,
                 lambda x, y: 2 * (x.T @ y.T), rand((3, 2), 0), rand((4, 3), 1))


SHAPE_OPS = {
    "reshape": (lambda t: F.reshape(t, (4, -1)), lambda t: t.reshape(4, -1)),
    "transpose": (lambda t: F.transpose(t, (2, 0, 1)), lambda t: t.permute(2, 0, 1)),
    "flatten": (lambda t: F.flatten(t, 1), lambda t: torch.flatten(t, 1)),
    "expand_dims": (lambda t: F.expand_dims(t, 1), lambda t: t.unsqueeze(1)),
    "squeeze": (lambda t: F.squeeze(t[:, :1], 1), lambda t: t[:, :1].squeeze(1)),
    "broadcast_to": (lambda t: F.broadcast_to(t[:, :1], (5, 2, 3, 4)),
                     lambda t: t[:, :1].expand(5, 2, 3, 4)),
    "concat": (lambda t: F.concat([t, t * 2], 1), lambda t: torch.cat([t, t * 2], 1)),
    "stack": (lambda t: F.stack([t, t * 2], 2), lambda t: torch.stack([t, t * 2], 2)),
    "split": (lambda t: F.split(t, [1], 1)[1] * 3, lambda t: torch.split(t, [1, 2], 1)[1] * 3),
    "indexing": (lambda t: t[:, ::2, np.array([0, 0, 3])],
                 lambda t: t[:, ::2, torch.tensor([0, 0, 3])]),
    "gather": (lambda t: F.gather(t, 2, np.array([[[3, 0]] * 3] * 2)),
               lambda t: torch.gather(t, 2, torch.tensor([[[3, 0]] * 3] * 2))),
    "repeat": (lambda t: F.repeat(t, 2, axis=1), lambda t: torch.repeat_interleave(t, 2, dim=1)),
    "tile": (lambda t: F.tile(t, (2, 1, 3)), lambda t: t.repeat(2, 1, 3)),
    "swapaxes": (lambda t: F.swapaxes(t, 0, 2), lambda t: t.transpose(0, 2)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name):
    torch_parity(*SHAPE_OPS[name], rand((2, 3, 4), 0))


def test_set_subtensor():
    def theirs(t, v):
        out = t.clone()
        out[:, 1] = v
        return out
    torch_parity(lambda t, v: F.set_subtensor(t, (slice(None), 1), v), theirs,
                 rand((2, 3, 4), 0), rand((2, 4), 1))


@pytest.mark.parametrize("mode, torch_mode", [("constant", "constant"), ("reflect", "reflect"),
                                              ("replicate", "replicate"), ("edge", "replicate")])
def test_pad(mode, torch_mode):
    torch_parity(lambda t: F.nn.pad(t, ((0, 0), (0, 0), (1, 2), (2, 1)), mode),
                 lambda t: TF.pad(t, (2, 1, 1, 2), mode=torch_mode), rand((1, 2, 4, 5), 0))


@pytest.mark.parametrize("shape, axis", [((5,), None), ((3, 4), None), ((2, 3, 4), None),
                                         ((2, 3, 4, 5), None), ((2, 3, 4), 2), ((3, 4), 0)])
def test_softmax_default_axis_and_logsoftmax(shape, axis):
    default = 0 if len(shape) in (0, 1, 3) else 1
    dim = default if axis is None else axis
    torch_parity(lambda t: F.nn.softmax(t, axis), lambda t: torch.softmax(t, dim), rand(shape, 0))
    torch_parity(lambda t: F.nn.logsoftmax(t, dim), lambda t: torch.log_softmax(t, dim),
                 rand(shape, 1, low=-50, high=50), atol=1e-4)


def test_linear():
    x, w, b = rand((4, 2, 3), 0), rand((5, 3), 1), rand((5,), 2)
    torch_parity(F.nn.linear, TF.linear, x, w, b)
    torch_parity(F.nn.linear, TF.linear, x, w)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, padding=2),
                                dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1)),
                                dict(groups=2, padding=1), dict(groups=4, stride=2)])
def test_conv2d(kw):
    g = kw.get("groups", 1)
    x, w, b = rand((2, 4, 7, 6), 0), rand((8, 4 // g, 3, 3), 1), rand((8,), 2)
    torch_parity(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), x, w, b,
                 rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("c, k, kw", [(1, 5, dict()), (3, 5, dict()), (3, 3, dict(padding=1)),
                                      (6, 5, dict()), (16, 1, dict())])
def test_conv2d_first_layers_and_pointwise(c, k, kw):
    """The im2col_chw (1 or 3 input channels), row-shift (LeNet's second layer) and pointwise
    paths."""
    x, w, b = rand((3, c, 12, 11), 0), rand((6, c, k, k), 1), rand((6,), 2)
    torch_parity(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), x, w, b,
                 rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("k, s, p", [(2, None, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 0))])
def test_pools(k, s, p):
    x = np.random.default_rng(0).permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) * 0.01
    torch_parity(lambda t: F.max_pool2d(t, k, s, p), lambda t: TF.max_pool2d(t, k, s, p), x)
    torch_parity(lambda t: F.avg_pool2d(t, k, s, p, mode="average"),
                 lambda t: TF.avg_pool2d(t, k, s, p, count_include_pad=True), x)
    torch_parity(lambda t: F.avg_pool2d(t, k, s, p),
                 lambda t: TF.avg_pool2d(t, k, s, p, count_include_pad=False), x)


@pytest.mark.parametrize("oshp", [1, (2, 3), (3, 4), (7, 6)])
def test_adaptive_avg_pool2d(oshp):
    torch_parity(lambda t: F.adaptive_avg_pool2d(t, oshp),
                 lambda t: TF.adaptive_avg_pool2d(t, oshp), rand((2, 3, 7, 6), 0))


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (4, 3, 5, 6)])
def test_batch_norm_training_updates_running_stats_like_torch(shape):
    c = shape[1]
    ours_mean, ours_var = tl.Tensor(rand((1, c) + (1,) * (len(shape) - 2), 5)), \
        tl.Tensor(rand((1, c) + (1,) * (len(shape) - 2), 6, low=0.5))
    theirs_mean = torch.tensor(ours_mean.numpy().reshape(c))
    theirs_var = torch.tensor(ours_var.numpy().reshape(c))
    wb_shape = (1, c) + (1,) * (len(shape) - 2)
    torch_parity(
        lambda x, w, b: F.nn.batch_norm(x, ours_mean, ours_var, w, b, training=True, momentum=0.9),
        lambda x, w, b: TF.batch_norm(x, theirs_mean, theirs_var, w.reshape(c), b.reshape(c),
                                      training=True, momentum=0.1),
        rand(shape, 0), rand(wb_shape, 1), rand(wb_shape, 2), atol=1e-4)
    np.testing.assert_allclose(ours_mean.numpy().ravel(), theirs_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours_var.numpy().ravel(), theirs_var.numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_eval():
    c = 3
    mean, var = rand((1, c, 1, 1), 5), rand((1, c, 1, 1), 6, low=0.5)
    torch_parity(
        lambda x, w, b: F.nn.batch_norm(x, tl.Tensor(mean), tl.Tensor(var), w, b),
        lambda x, w, b: TF.batch_norm(x, torch.tensor(mean.ravel(), dtype=torch.float32),
                                      torch.tensor(var.ravel(), dtype=torch.float32),
                                      w.ravel(), b.ravel(), training=False),
        rand((2, c, 4, 4), 0), rand((1, c, 1, 1), 1), rand((1, c, 1, 1), 2), atol=1e-4)


def test_dropout_matches_torchs_scaling_for_the_same_mask():
    x = rand((50, 40), 0)
    tl.random.seed(3)
    y, (g,) = autodiff_grads(lambda t: F.nn.dropout(t, 0.3), [x], [0], dy=np.ones((50, 40)))
    mask = torch.tensor(y != 0)
    expected = torch.tensor(x, dtype=torch.float32) * mask / 0.7    # torch's inverted dropout
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(g, (mask / 0.7).numpy(), rtol=1e-6)
    assert 0.6 < mask.float().mean() < 0.8


def test_one_hot_and_indexing_one_hot():
    labels = np.array([[0, 2], [1, 1]], np.int32)
    np.testing.assert_array_equal(F.nn.one_hot(tl.Tensor(labels), 3).numpy(),
                                  TF.one_hot(torch.tensor(labels).long(), 3).numpy())
    torch_parity(lambda t: F.nn.indexing_one_hot(t, labels, 1),
                 lambda t: torch.gather(t, 1, torch.tensor(labels[:, None]).long()).squeeze(1),
                 rand((2, 3, 2), 0))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(reduction):
    p, y = rand((4, 3), 0), rand((4, 3), 1)
    torch_parity(lambda a, b: F.nn.square_loss(a, b, reduction),
                 lambda a, b: TF.mse_loss(a, b, reduction=reduction), p, y)
    torch_parity(lambda a, b: F.nn.l1_loss(a, b, reduction),
                 lambda a, b: TF.l1_loss(a, b, reduction=reduction), p, y)


@pytest.mark.parametrize("smooth", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape, axis", [((5, 4), 1), ((3, 4, 2), 1), ((2, 3, 5), 2)])
def test_cross_entropy(shape, axis, reduction, smooth):
    labels_shape = shape[:axis] + shape[axis + 1:]
    labels = np.random.default_rng(0).integers(0, shape[axis], labels_shape).astype(np.int32)

    def theirs(logits):
        return TF.cross_entropy(torch.movedim(logits, axis, 1), torch.tensor(labels).long(),
                                reduction=reduction, label_smoothing=smooth)
    torch_parity(lambda t: F.nn.cross_entropy(t, labels, axis, label_smooth=smooth,
                                              reduction=reduction), theirs,
                 rand(shape, 1, low=-5, high=5))
    torch_parity(lambda t: F.nn.cross_entropy(F.softmax(t, axis), labels, axis, with_logits=False,
                                              label_smooth=smooth, reduction=reduction), theirs,
                 rand(shape, 2, low=-5, high=5), atol=2e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(reduction):
    y = np.random.default_rng(0).random((4, 3))
    torch_parity(lambda p, t: F.nn.binary_cross_entropy(p, t, reduction=reduction),
                 lambda p, t: TF.binary_cross_entropy_with_logits(p, t, reduction=reduction),
                 rand((4, 3), 1, low=-20, high=20), y)
    torch_parity(lambda p, t: F.nn.binary_cross_entropy(p, t, with_logits=False,
                                                        reduction=reduction),
                 lambda p, t: TF.binary_cross_entropy(p, t, reduction=reduction),
                 rand((4, 3), 2, low=0.02, high=0.98), y)


@pytest.mark.parametrize("norm", ["L1", "L2"])
def test_hinge_loss(norm):
    y = np.where(rand((5, 3), 0) > 0, 1.0, -1.0)

    def theirs(p):
        m = torch.relu(1 - p * torch.tensor(y, dtype=torch.float32))
        return (m if norm == "L1" else m * m).sum(1).mean()
    torch_parity(lambda p: F.nn.hinge_loss(p, y, norm), theirs, rand((5, 3), 1))


def test_topk_accuracy():
    logits = rand((50, 10), 0)
    target = np.random.default_rng(1).integers(0, 10, 50).astype(np.int32)
    top = torch.topk(torch.tensor(logits), 5, dim=1).indices.numpy()
    expected = tuple(float((top[:, :k] == target[:, None]).any(1).mean()) for k in (1, 5))
    assert F.topk_accuracy(tl.Tensor(logits), tl.Tensor(target), topk=(1, 5)) == expected
    assert F.topk_accuracy(tl.Tensor(logits), tl.Tensor(target)) == expected[0]


def test_dot_normalize_sort_topk():
    torch_parity(F.dot, torch.dot, rand((5,), 0), rand((5,), 1))
    torch_parity(lambda t: F.normalize(t, axis=1), lambda t: TF.normalize(t, dim=1), rand((3, 4), 2))
    x = np.random.default_rng(3).permutation(12).reshape(3, 4) * 0.5
    torch_parity(lambda t: F.sort(t)[0], lambda t: torch.sort(t, 1)[0], x)
    torch_parity(lambda t: F.topk(t, 2)[0], lambda t: torch.topk(t, 2, 1)[0], x)
    np.testing.assert_array_equal(F.topk(tl.Tensor(x), 2)[1].numpy(), torch.topk(torch.tensor(x), 2)[1])
