"""NaN/Inf: ``detect_anomaly`` names the first op that produced one, in forward or backward, and
``gm.backward(loss, check_finite=True)`` refuses a non-finite loss before touching a gradient."""
import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.module as M
import tutorlib.optimizer as optim
from tutorlib.autodiff import GradManager, detect_anomaly, is_anomaly_enabled

T = tl.Tensor


def test_forward_names_the_first_op_and_the_calling_line():
    x = T([1.0, 0.0])
    with detect_anomaly(), pytest.raises(FloatingPointError) as info:
        y = F.exp(x)
        F.log(y - 1.0)        # log(0) = -inf: the first bad op; the ones after it are not reached
    message = str(info.value)
    assert message.startswith("detect_anomaly: forward of 'log' produced -Inf (1 of 2 values) "
                              "from finite inputs")
    assert "test_anomaly.py:" in message and "F.log(y - 1.0)" in message


def test_forward_says_when_the_inputs_were_already_bad():
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"forward of 'add' produced NaN "
                                         r"\(1 of 2 values\) from inputs that already held NaN/Inf"):
        np_nan = np.array([np.nan, 1.0], np.float32)
        F.add(np_nan, 1.0)


def test_backward_names_the_op_whose_gradient_is_not_finite():
    w = tl.Parameter([0.0, 4.0])
    with detect_anomaly(), GradManager().attach([w]) as gm:
        y = F.sqrt(w).sum()                # forward is finite: sqrt(0) = 0
        with pytest.raises(FloatingPointError, match=r"backward of 'sqrt' produced Inf \(1 of 2 "
                           r"values\) in the gradient of input 0, with an incoming gradient that "
                           r"was finite; the op was called at test_anomaly.py:\d+ \(y = F.sqrt"):
            gm.backward(y)
    assert w.grad is None


def test_without_anomaly_mode_nan_passes_silently_and_the_mode_nests():
    assert not is_anomaly_enabled()
    assert np.isnan(F.log(T([-1.0])).item())        # the default: no scan, no error
    with detect_anomaly():
        with detect_anomaly():
            assert is_anomaly_enabled()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()


def test_as_a_decorator():
    @detect_anomaly()
    def divide(a, b):
        return a / b

    assert divide(T([1.0]), T([2.0])).item() == 0.5
    with pytest.raises(FloatingPointError, match=r"forward of 'div' produced Inf"):
        divide(T([1.0]), T([0.0]))
    assert not is_anomaly_enabled()


def test_check_finite_refuses_a_nan_loss_and_leaves_the_parameters_alone():
    w = tl.Parameter([1.0, 2.0])
    with GradManager().attach([w]) as gm:
        loss = (F.log(w - 5.0)).sum()         # log of negatives: nan
        with pytest.raises(FloatingPointError, match=r"backward: the loss is nan; training has "
                           r"diverged \(is the learning rate too high\?\)\. Wrap the step in "
                           r"tutorlib.autodiff.detect_anomaly\(\)"):
            gm.backward(loss, check_finite=True)
    assert w.grad is None and not gm.is_recording
    with GradManager().attach([w]) as gm:
        gm.backward((w * w).sum(), check_finite=True)     # a finite loss goes through
    assert w.grad.numpy().tolist() == [2.0, 4.0]


def test_exploding_learning_rate_is_caught_at_the_first_overflow():
    """The chapter demo: SGD with lr=1e4 on a linear fit; anomaly mode stops at the first Inf."""
    rng = np.random.default_rng(0)
    x = T(rng.normal(size=(32, 4)))
    y = T(rng.normal(size=(32, 1)))
    tl.random.seed(0)
    model = M.Linear(4, 1)
    gm = GradManager().attach(model.parameters())
    opt = optim.SGD(model.parameters(), lr=1e4)
    with detect_anomaly(), pytest.raises(FloatingPointError) as info:
        for _ in range(20):
            with gm:
                loss = F.nn.square_loss(model(x), y)
                gm.backward(loss, check_finite=True)
            opt.step().clear_grad()
    assert "produced Inf" in str(info.value)
