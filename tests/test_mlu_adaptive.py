"""adaptive_quantize: the update schedule, bit-widths that only grow, STE gradients, training on the MLU."""
import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.mlu.mlu_model as ct
import tutorlib.module as M
import tutorlib.optimizer as optim
from tutorlib.mlu.adaptive import AdaptiveLinear, next_update
from tutorlib.mlu.mlu_quantize import adaptive_quantize


def _train_steps(layer, batches):
    layer.train()
    for x in batches:
        layer(tl.Tensor(x))


def test_schedule_constant_data_backs_off_then_once_per_epoch():
    net = adaptive_quantize(M.Sequential(M.Linear(2, 1)), steps_per_epoch=200)
    x = np.array([[0.5, -0.25]], np.float32)
    steps = []
    layer = net[0]
    for step in range(600):
        before = layer.updates
        layer.train()
        layer(tl.Tensor(x))
        if layer.updates > before:
            steps.append(step)
    # warm-up (1% of 200 = 2 steps), then intervals 2, 4, ..., capped at 100 and at the epoch end
    assert steps == [0, 1, 3, 7, 15, 31, 63, 127, 200, 400]


def test_schedule_changing_data_updates_every_step_in_the_first_epoch():
    layer = adaptive_quantize(M.Sequential(M.Linear(2, 1)), steps_per_epoch=50)[0]
    xs = [np.array([[2.0 ** (k % 2 * 4), 1.0]], np.float32) for k in range(120)]
    counts = []
    for x in xs:
        before = layer.updates
        _train_steps(layer, [x])
        counts.append(layer.updates - before)
    assert counts[:50] == [1] * 50 and sum(counts[50:]) == 2      # then steps 50 and 100


def test_bitwidth_grows_when_the_error_passes_the_threshold_and_never_shrinks():
    fc = M.Linear(201, 1)
    fc.weight._data = (np.linspace(-1, 1, 201) ** 3).reshape(1, -1).astype(np.float32)
    layer = AdaptiveLinear(fc, steps_per_epoch=10, bitwidth=8)
    x = np.ones((1, 201), np.float32)
    _train_steps(layer, [x])
    assert layer.weight_fp.bitwidth == 16 and layer.input_fp.bitwidth == 8
    fc.weight._data[:] = 0.5
    _train_steps(layer, [x] * 3)
    assert layer.weight_fp.bitwidth == 16
    with pytest.raises(ValueError, match="bitwidth must be 8, 16 or 31, got 12"):
        adaptive_quantize(fc, steps_per_epoch=10, bitwidth=12)
    with pytest.raises(ValueError, match="steps_per_epoch must be a positive int"):
        adaptive_quantize(fc, steps_per_epoch=0)


def test_forward_uses_the_grid_and_gradients_pass_straight_through():
    tl.random.seed(0)
    conv = M.Conv2d(2, 3, 3)
    layer = adaptive_quantize(M.Sequential(conv), steps_per_epoch=10)[0]
    x = tl.Tensor(np.random.default_rng(0).normal(size=(2, 2, 5, 5)).astype(np.float32))
    gm = tl.GradManager().attach([layer.weight, x])
    with gm:
        y = layer(x)
        gm.backward((y * y).sum())
    p_in, p_w = layer.input_fp.position, layer.weight_fp.position
    xq = np.rint(x.numpy() / 2.0 ** p_in) * 2.0 ** p_in
    wq = np.rint(conv.weight.numpy() / 2.0 ** p_w) * 2.0 ** p_w
    assert np.all(np.abs(x.numpy() / 2.0 ** p_in) < 128)    # no clipping: STE is the identity
    xr, wr = tl.Tensor(xq.astype(np.float32)), tl.Tensor(wq.astype(np.float32))
    gm2 = tl.GradManager().attach([wr, xr])
    with gm2:
        y2 = F.conv2d(xr, wr, conv.bias)
        gm2.backward((y2 * y2).sum())
    np.testing.assert_allclose(y.numpy(), y2.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layer.weight.grad.numpy(), wr.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), xr.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_training_on_the_mlu_lowers_the_loss():
    rng = np.random.default_rng(0)
    tl.random.seed(0)
    x = rng.normal(size=(64, 1, 6, 6)).astype(np.float32)
    labels = (x[:, 0, :3].sum((1, 2)) > x[:, 0, 3:].sum((1, 2))).astype(np.int32)
    net = adaptive_quantize(M.Sequential(M.Conv2d(1, 4, 3), M.ReLU(), M.Flatten(),
                                         M.Linear(64, 2)), steps_per_epoch=20)
    mlu = ct.mlu_device()
    try:
        ct.set_cnml_enabled(False)
        net.to(mlu)
        opt = ct.to(optim.SGD(net.parameters(), lr=0.1), mlu)
        gm = tl.GradManager().attach(net.parameters())
        xm, ym = tl.Tensor(x).to(mlu), tl.Tensor(labels).to(mlu)
        losses = []
        for _ in range(20):
            with gm:
                loss = F.nn.cross_entropy(net(xm), ym)
                gm.backward(loss)
            opt.step().clear_grad()
            losses.append(loss.item())
    finally:
        ct.config.__init__()
    assert loss.device is mlu and net[0].weight.device is mlu
    assert losses[-1] < 0.7 * losses[0]


def test_next_update_never_skips_an_epoch_boundary():
    for spe in (1, 7, 100, 1000):
        step, seen = 0, []
        while step < 3 * spe:
            seen.append(step)
            step = next_update(step, spe, 100)
        assert {spe, 2 * spe} <= set(seen)
