"""Optimizers, clipping and schedulers against PyTorch.

Conventions agree for SGD (plain, momentum, Nesterov, weight decay), Adam and AdamW. Adagrad
differs: MegEngine (and tutorlib) divide by √(s + eps), PyTorch by √s + eps, so Adagrad is
compared with ``eps=0`` here (identical rules) and against a numpy reference of the MegEngine rule
with a large eps in ``tests/test_optimizer.py``.
"""
import math

import numpy as np
import pytest

import tutorlib as tl
import tutorlib.optimizer as optim
from tutorlib.optimizer import lr_scheduler

torch = pytest.importorskip("torch")


def _compare(ours_cls, theirs_cls, kwargs, theirs_kwargs=None, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (3,), ()]
    init = [rng.normal(size=s).astype(np.float32) for s in shapes]
    ours = [tl.Parameter(a) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt = ours_cls(ours, **kwargs)
    topt = theirs_cls(theirs, **(theirs_kwargs or kwargs))
    for step in range(steps):
        for p, tp in zip(ours, theirs):
            g = rng.normal(size=p.shape).astype(np.float32)
            p.grad = tl.Tensor(g)
            tp.grad = torch.from_numpy(g.copy())
        opt.step().clear_grad()
        topt.step()
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=2e-5, atol=2e-6,
                                       err_msg=f"step {step}")
            assert p.dtype == np.float32


@pytest.mark.parametrize("kwargs", [
    {"lr": 0.1},
    {"lr": 0.1, "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 1e-2},
])
def test_sgd(kwargs):
    _compare(optim.SGD, torch.optim.SGD, kwargs)


@pytest.mark.parametrize("kwargs", [
    {"lr": 0.01},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
])
def test_adam(kwargs):
    _compare(optim.Adam, torch.optim.Adam, kwargs)


@pytest.mark.parametrize("kwargs", [{"lr": 0.01}, {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.3}])
def test_adamw(kwargs):
    _compare(optim.AdamW, torch.optim.AdamW, kwargs)


def test_adamw_default_weight_decay_matches_torch():
    _compare(optim.AdamW, torch.optim.AdamW, {"lr": 0.1})   # both default to 0.01


@pytest.mark.parametrize("kwargs", [{"lr": 0.1, "eps": 0.0}, {"lr": 0.1, "lr_decay": 0.3, "weight_decay": 0.05, "eps": 0.0}])
def test_adagrad_with_eps_zero(kwargs):
    _compare(optim.Adagrad, torch.optim.Adagrad, kwargs)


def test_adagrad_eps_convention_differs_from_torch():
    with pytest.raises(AssertionError):
        _compare(optim.Adagrad, torch.optim.Adagrad, {"lr": 0.1, "eps": 0.5}, steps=1)


@pytest.mark.parametrize("ord", [2.0, 1.0, math.inf])
def test_clip_grad_norm(ord):
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=s).astype(np.float32) * 3 for s in [(5, 4), (7,)]]
    ours = [tl.Parameter(np.zeros(g.shape)) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad, tp.grad = tl.Tensor(g), torch.from_numpy(g.copy())
    total = optim.clip_grad_norm(ours, max_norm=1.5, ord=ord)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=ord)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-5)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_value():
    g = np.linspace(-3, 3, 13).astype(np.float32)
    p, tp = tl.Parameter(np.zeros(13)), torch.zeros(13, requires_grad=True)
    p.grad, tp.grad = tl.Tensor(g), torch.from_numpy(g.copy())
    optim.clip_grad_value([p], -1.0, 2.0)
    torch.nn.utils.clip_grad_value_([tp], 2.0)
    tp.grad.clamp_(min=-1.0)
    np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())


@pytest.mark.parametrize("make_ours, make_theirs", [
    (lambda o: lr_scheduler.MultiStepLR(o, [3, 7, 8], gamma=0.3),
     lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [3, 7, 8], gamma=0.3)),
    (lambda o: lr_scheduler.StepLR(o, 4, gamma=0.5),
     lambda o: torch.optim.lr_scheduler.StepLR(o, 4, gamma=0.5)),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.01),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.01)),
])
def test_schedulers(make_ours, make_theirs):
    opt = optim.SGD([{"params": [tl.Parameter(1.0)]}, {"params": [tl.Parameter(1.0)], "lr": 0.3}], lr=0.1)
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                            {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    sched, tsched = make_ours(opt), make_theirs(topt)
    for epoch in range(16):
        ours = [g["lr"] for g in opt.param_groups]
        theirs = [g["lr"] for g in topt.param_groups]
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, err_msg=f"epoch {epoch}")
        topt.step()
        sched.step(), tsched.step()
