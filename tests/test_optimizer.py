"""Optimizers: the MegEngine doc examples, update rules vs numpy references, groups, state, errors."""
import numpy as np
import pytest

import tutorlib as tl
import tutorlib.optimizer as optim
from tutorlib.optimizer import lr_scheduler


def _backward(w, b):
    gm = tl.GradManager().attach([w, b])
    with gm:
        gm.backward(w * tl.Tensor(2.0) + b)


def test_gradmanager_doc_example_accumulates_then_sgd_steps():
    w, b = tl.Parameter(3.0), tl.Parameter(-1.0)
    _backward(w, b)
    assert w.grad.item() == 2.0
    _backward(w, b)
    assert w.grad.item() == 4.0          # accumulated, not replaced
    w, b = tl.Parameter(3.0), tl.Parameter(-1.0)
    _backward(w, b)
    opt = optim.SGD([w, b], lr=0.01)
    assert opt.step() is opt
    opt.clear_grad()
    assert w.item() == pytest.approx(2.98) and b.item() == pytest.approx(-1.01)
    assert w.grad is None and b.grad is None


def test_bad_params():
    with pytest.raises(TypeError, match="optimizer can only optimize Parameters, but one of the "
                                        "params is <class 'tutorlib.tensor.Tensor'>"):
        optim.SGD([tl.Parameter(1.0), tl.Tensor(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({tl.Parameter(1.0)}, lr=0.1)
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        optim.SGD([tl.Parameter(1.0)])
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([tl.Parameter(1.0)], lr=0.1, nesterov=True)
    p = tl.Parameter(1.0)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_skips_params_without_grad_and_keeps_snapshots_and_float32():
    a, b = tl.Parameter([1.0, 2.0]), tl.Parameter([3.0])
    a.grad = tl.Tensor([1.0, 1.0])
    snapshot = a.detach()
    grad_array = a.grad._data
    for opt in (optim.SGD([a, b], lr=0.1, momentum=0.9, weight_decay=1e-3),
                optim.Adam([a, b], lr=0.1, weight_decay=1e-3), optim.AdamW([a, b], lr=0.1),
                optim.Adagrad([a, b], lr=0.1, weight_decay=1e-3)):
        opt.step()
        assert b.tolist() == [3.0]
        assert a.dtype == np.float32
        assert opt._state[id(a)].get("momentum_buffer", opt._state[id(a)].get("exp_avg",
               opt._state[id(a)].get("square_avg"))).dtype == np.float32
    assert snapshot.tolist() == [1.0, 2.0]            # new arrays, never in place
    assert grad_array.tolist() == [1.0, 1.0]          # gradients untouched
    assert a.tolist() != [1.0, 2.0]


def _run(opt_factory, reference, steps=4, seed=0):
    """Compare an optimizer against a numpy reference rule over a few steps."""
    rng = np.random.default_rng(seed)
    p0 = rng.normal(size=(3, 4)).astype(np.float32)
    grads = [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(steps)]
    p = tl.Parameter(p0)
    opt = opt_factory([p])
    ref_p, state = p0.astype(np.float64), {}
    for t, g in enumerate(grads, 1):
        p.grad = tl.Tensor(g)
        opt.step()
        ref_p = reference(ref_p, g.astype(np.float64), state, t)
        np.testing.assert_allclose(p.numpy(), ref_p, rtol=1e-5, atol=1e-6)


def test_sgd_rules():
    def plain(p, g, s, t):
        return p - 0.1 * g

    def momentum(p, g, s, t, nesterov=False):
        g = g + 0.01 * p
        s["v"] = 0.9 * s.get("v", 0) + g
        return p - 0.1 * (g + 0.9 * s["v"] if nesterov else s["v"])

    _run(lambda ps: optim.SGD(ps, lr=0.1), plain)
    _run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01), momentum)
    _run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
         lambda p, g, s, t: momentum(p, g, s, t, nesterov=True))


def test_adam_and_adamw_rules():
    def adam(p, g, s, t, wd=0.0, decoupled=False):
        if not decoupled:
            g = g + wd * p
        s["m"] = 0.8 * s.get("m", 0) + 0.2 * g
        s["v"] = 0.99 * s.get("v", 0) + 0.01 * g * g
        delta = (s["m"] / (1 - 0.8 ** t)) / (np.sqrt(s["v"] / (1 - 0.99 ** t)) + 1e-3)
        return p - 0.05 * (delta + (wd * p if decoupled else 0))

    _run(lambda ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1),
         lambda p, g, s, t: adam(p, g, s, t, wd=0.1))
    _run(lambda ps: optim.AdamW(ps, lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1),
         lambda p, g, s, t: adam(p, g, s, t, wd=0.1, decoupled=True))
    assert optim.AdamW([tl.Parameter(1.0)], lr=0.1).param_groups[0]["weight_decay"] == 0.01


def test_adagrad_rule_has_eps_inside_the_sqrt():
    def adagrad(p, g, s, t):
        g = g + 0.01 * p
        s["s"] = s.get("s", 0) + g * g
        return p - 0.1 / (1 + (t - 1) * 0.5) * g / np.sqrt(s["s"] + 0.25)

    # a large eps makes "inside" and "outside the sqrt" clearly different
    _run(lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.5, eps=0.25, weight_decay=0.01), adagrad)


def test_param_groups_have_their_own_options():
    a, b = tl.Parameter(1.0), tl.Parameter(1.0)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    c = tl.Parameter(1.0)
    opt.add_param_group({"params": [c], "momentum": 0.9})
    for p in (a, b, c):
        p.grad = tl.Tensor(1.0)
    opt.step()
    assert (a.item(), b.item(), c.item()) == pytest.approx((0.9, 0.5, 0.9))
    assert opt.param_groups[2]["momentum"] == 0.9 and opt.param_groups[2]["nesterov"] is False


def test_state_dict_round_trip_through_save(tmp_path):
    def make():
        ps = [tl.Parameter(np.ones((2, 2))), tl.Parameter(np.ones(3))]
        return ps, optim.Adam(ps, lr=0.01, betas=(0.5, 0.9))

    ps, opt = make()
    for step in range(3):
        for p in ps:
            p.grad = tl.Tensor(np.full(p.shape, step + 1.0))
        opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["state"][0]["step"] == 3 and sd["state"][1]["exp_avg"].shape == (3,)
    tl.save(sd, tmp_path / "opt.tl")

    ps2, opt2 = make()
    for p, q in zip(ps, ps2):
        q._data = p._data.copy()
    opt2.param_groups[0]["lr"] = 123.0
    opt2.load_state_dict(tl.load(tmp_path / "opt.tl"))
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.5, 0.9)
    for p, q in zip(ps, ps2):
        p.grad = q.grad = tl.Tensor(np.full(p.shape, 0.3))
    opt.step(), opt2.step()
    for p, q in zip(ps, ps2):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    with pytest.raises(ValueError, match="different number"):
        optim.Adam([tl.Parameter(1.0)], lr=0.1).load_state_dict(sd)


def test_clip_grad_norm_and_value():
    a, b, c = tl.Parameter(np.zeros(2)), tl.Parameter(np.zeros(1)), tl.Parameter(0.0)
    a.grad, b.grad = tl.Tensor([3.0, 0.0]), tl.Tensor([4.0])
    shared = a.grad._data
    total = optim.clip_grad_norm([a, b, c], max_norm=2.5)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [1.5, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [2.0], rtol=1e-5)
    assert shared.tolist() == [3.0, 0.0] and c.grad is None
    total = optim.clip_grad_norm([a, b], max_norm=100.0, ord=np.inf)
    assert total.item() == pytest.approx(2.0)
    np.testing.assert_allclose(a.grad.numpy(), [1.5, 0.0], rtol=1e-5)   # below max: unchanged
    assert optim.clip_grad_norm([c], 1.0).item() == 0.0
    optim.clip_grad_value([a, b], -1.0, 1.0)
    assert a.grad.tolist() == [1.0, 0.0] and b.grad.tolist() == [1.0]


def test_schedulers():
    opt = optim.SGD([tl.Parameter(1.0)], lr=1.0)
    sched = lr_scheduler.MultiStepLR(opt, milestones=[2, 5], gamma=0.5)
    assert sched.current_epoch == 0 and opt.param_groups[0]["initial_lr"] == 1.0
    lrs = []
    for _ in range(7):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    state = sched.state_dict()
    assert state["current_epoch"] == 7 and "optimizer" not in state
    with pytest.raises(ValueError, match="increasing"):
        lr_scheduler.MultiStepLR(opt, milestones=[3, 1])
    with pytest.raises(TypeError, match="should be an Optimizer"):
        lr_scheduler.StepLR(object(), 2)
    fresh = optim.SGD([tl.Parameter(1.0)], lr=1.0)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(fresh, 2, current_epoch=3)
    resumed = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1, current_epoch=3)
    assert resumed.current_epoch == 4 and opt.param_groups[0]["lr"] == pytest.approx(0.01)
