"""Bad arguments raise ValueError/TypeError naming the op, the argument and the value (issue 18):
before any kernel runs, never a ZeroDivisionError from inside, never a silently wrong result."""
import math

import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.module as M
import tutorlib.optimizer as optim
from tutorlib.optimizer import lr_scheduler

T = tl.Tensor
X4 = np.ones((1, 3, 8, 8), np.float32)
W4 = np.ones((4, 3, 3, 3), np.float32)


def params():
    return [tl.Parameter([1.0, 2.0])]


# -- strides, windows, kernel sizes, feature counts: once crashed inside the kernels ----------
@pytest.mark.parametrize("fn, error, message", [
    (lambda: F.conv2d(T(X4), T(W4), stride=0), ValueError,
     r"conv2d: stride must be an int >= 1 or a pair of them, got 0"),
    (lambda: F.conv2d(T(X4), T(W4), padding=-1), ValueError,
     r"conv2d: padding must be an int >= 0 or a pair of them, got -1"),
    (lambda: F.conv2d(T(X4), T(W4), dilation=(1, 0)), ValueError, r"conv2d: dilation .* got \(1, 0\)"),
    (lambda: F.conv2d(T(X4), T(W4), stride=1.5), TypeError,
     r"conv2d: stride must be an int or a pair of ints, got 1.5"),
    (lambda: F.conv2d(T(X4), T(W4), groups=0), ValueError, r"conv2d: groups must be an int >= 1, got 0"),
    (lambda: F.max_pool2d(T(X4), 2, stride=0), ValueError,
     r"max_pool2d: stride must be an int >= 1 or a pair of them, got 0"),
    (lambda: F.avg_pool2d(T(X4), 0), ValueError,
     r"avg_pool2d: kernel_size must be an int >= 1 or a pair of them, got 0"),
    (lambda: F.avg_pool2d(T(X4), 2, padding=2), ValueError,
     r"avg_pool2d: padding \(2, 2\) must be smaller than kernel_size \(2, 2\)"),
    (lambda: F.adaptive_avg_pool2d(T(X4), (0, 2)), ValueError, r"adaptive_avg_pool2d: oshp .* got \(0, 2\)"),
    (lambda: M.Linear(0, 3), ValueError, r"Linear: in_features must be an int >= 1, got 0"),
    (lambda: M.Linear(3, 2.5), TypeError, r"Linear: out_features must be an int, got 2.5"),
    (lambda: M.Conv2d(3, 4, 0), ValueError,
     r"Conv2d: kernel_size must be an int >= 1 or a pair of them, got 0"),
    (lambda: M.Conv2d(0, 4, 3), ValueError, r"Conv2d: in_channels must be an int >= 1, got 0"),
    (lambda: M.Conv2d(3, 4, 3, stride=0), ValueError, r"Conv2d: stride .* got 0"),
    (lambda: M.MaxPool2d(2, stride=0), ValueError, r"MaxPool2d: stride .* got 0"),
    (lambda: M.AvgPool2d(0), ValueError, r"AvgPool2d: kernel_size .* got 0"),
    (lambda: M.AdaptiveAvgPool2d(0), ValueError, r"AdaptiveAvgPool2d: oshp .* got 0"),
    (lambda: M.BatchNorm2d(0), ValueError, r"BatchNorm2d: num_features must be an int >= 1, got 0"),
    (lambda: M.BatchNorm1d(4, eps=0), ValueError, r"BatchNorm1d: eps must be a finite number > 0, got 0"),
    (lambda: M.BatchNorm2d(4, momentum=1.5), ValueError, r"BatchNorm2d: momentum .* in \[0, 1\], got 1.5"),
    (lambda: M.Dropout(1.0), ValueError, r"Dropout: drop_prob must be a finite number in \[0, 1\), got 1.0"),
    (lambda: M.Flatten(1.0), TypeError, r"Flatten: start_axis must be an int, got 1.0"),
    (lambda: F.nn.one_hot(T([0, 1]), 0), ValueError, r"one_hot: num_classes must be an int >= 1, got 0"),
])
def test_sizes_and_strides_are_checked_at_the_boundary(fn, error, message):
    with pytest.raises(error, match=message):
        fn()


# -- learning rates and betas: finite, in range, numbers -----------------------------------------
@pytest.mark.parametrize("fn, error, message", [
    (lambda: optim.SGD(params(), lr="0.1"), TypeError, r"SGD: lr must be a number, got '0.1' \(str\)"),
    (lambda: optim.SGD(params(), lr=math.nan), ValueError, r"SGD: lr must be a finite number >= 0, got nan"),
    (lambda: optim.SGD(params(), lr=math.inf), ValueError, r"SGD: lr .* got inf"),
    (lambda: optim.SGD(params(), lr=-0.1), ValueError, r"SGD: lr .* got -0.1"),
    (lambda: optim.SGD(params(), lr=0.1, momentum=math.nan), ValueError, r"SGD: momentum .* got nan"),
    (lambda: optim.SGD(params(), lr=0.1, nesterov=True), ValueError, r"SGD: Nesterov momentum requires"),
    (lambda: optim.Adam(params(), lr=0.1, betas=(0.9, 1.0)), ValueError,
     r"Adam: betas\[1\] must be a finite number in \[0, 1\), got 1.0"),
    (lambda: optim.Adam(params(), lr=0.1, betas=0.9), TypeError, r"Adam: betas must be a pair"),
    (lambda: optim.AdamW(params(), lr=0.1, eps=-1e-8), ValueError, r"AdamW: eps must be a finite number >= 0"),
    (lambda: optim.Adagrad(params(), lr=None), TypeError, r"Adagrad: lr must be a number, got None"),
    (lambda: optim.SGD([{"params": params(), "lr": math.nan}], lr=0.1), ValueError, r"SGD: lr .* got nan"),
    (lambda: lr_scheduler.StepLR(optim.SGD(params(), lr=0.1), step_size=0), ValueError,
     r"StepLR: step_size must be an int >= 1, got 0"),
    (lambda: lr_scheduler.MultiStepLR(optim.SGD(params(), lr=0.1), [2], gamma=math.nan), ValueError,
     r"MultiStepLR: gamma .* got nan"),
    (lambda: optim.clip_grad_norm(params(), max_norm=math.nan), ValueError,
     r"clip_grad_norm: max_norm .* got nan"),
    (lambda: optim.clip_grad_value(params(), 1.0, -1.0), ValueError, r"clip_grad_value: lower 1.0 is above upper"),
])
def test_optimizer_hyperparameters_are_finite_numbers_in_range(fn, error, message):
    with pytest.raises(error, match=message):
        fn()


def test_a_valid_optimizer_still_steps():
    w = tl.Parameter([1.0])
    w.grad = T([1.0])
    optim.Adam([w], lr=0.1, betas=[0.5, 0.5]).step()      # a list of betas is fine
    assert w.numpy()[0] == pytest.approx(0.9)


# -- axes: out of range is an error, not a different axis ----------------------------------------
@pytest.mark.parametrize("fn, message", [
    (lambda: F.flatten(T(X4), 5), r"flatten: start_axis 5 is out of range for a 4-D tensor \(valid: -4..3\)"),
    (lambda: F.flatten(T(X4), -9), r"flatten: start_axis -9 is out of range for a 4-D tensor"),
    (lambda: F.flatten(T(X4), 0, 4), r"flatten: end_axis 4 is out of range"),
    (lambda: F.swapaxes(T(X4), 0, 4), r"swapaxes: axis2 4 is out of range"),
    (lambda: F.nn.indexing_one_hot(T(np.ones((2, 3))), T([0, 1]), axis=2),
     r"indexing_one_hot: axis 2 is out of range for a 2-D tensor"),
    (lambda: F.nn.cross_entropy(T(np.ones((2, 3))), T([0, 1]), axis=3), r"cross_entropy: axis 3 is out of range"),
    (lambda: F.gather(T(np.ones((2, 3))), 2, T([[0]])), r"gather: axis 2 is out of range"),
    (lambda: F.repeat(T([1, 2]), 2, axis=1), r"repeat: axis 1 is out of range for a 1-D tensor"),
    (lambda: F.split(T(np.ones(4)), 2, axis=1), r"split: axis 1 is out of range"),
])
def test_axes_out_of_range_are_errors(fn, message):
    with pytest.raises(ValueError, match=message):
        fn()


def test_flatten_with_valid_axes_is_unchanged():
    assert F.flatten(T(X4), 1).shape == (1, 192)
    assert F.flatten(T(X4), -2).shape == (1, 3, 64)
    assert F.flatten(T(3.0)).shape == (1,)


# -- topk against the class count ----------------------------------------------------------------
def test_topk_accuracy_refuses_more_than_the_number_of_classes():
    logits, target = T(np.eye(3)[[0, 1]]), T([2, 2])
    with pytest.raises(ValueError, match=r"topk_accuracy: topk=5 is more than the 3 classes"):
        F.topk_accuracy(logits, target, topk=5)
    with pytest.raises(ValueError, match=r"topk_accuracy: topk must be an int >= 1, got 0"):
        F.topk_accuracy(logits, target, topk=(1, 0))
    assert F.topk_accuracy(logits, target, topk=3) == 1.0      # k == C is allowed and true
    with pytest.raises(TypeError, match=r"topk: k must be an int, got 1.5"):
        F.topk(T([1.0, 2.0]), 1.5)


# -- Tensor creation: only what the framework computes with, nothing wraps -----------------------
@pytest.mark.parametrize("data, dtype, error, message", [
    (["a", "b"], None, TypeError, r"Tensor: cannot make a tensor from strings \(dtype <U1\)"),
    ([b"a"], None, TypeError, r"Tensor: cannot make a tensor from bytes"),
    ([1 + 2j], None, TypeError, r"Tensor: cannot make a tensor from complex numbers"),
    (np.ones(2, np.complex64), "float32", TypeError, r"Tensor: cannot make a tensor from complex numbers"),
    ([object()], None, TypeError, r"Tensor: cannot make a tensor from Python objects"),
    ([1.0], "complex64", TypeError, r"Tensor: cannot make a tensor from complex numbers"),
    ([2**31], None, ValueError, r"Tensor: value 2147483648 does not fit int32 \(range -2147483648..2147483647\)"),
    ([-2**31 - 1], None, ValueError, r"Tensor: value -2147483649 does not fit int32"),
    (np.array([2**40]), None, ValueError, r"Tensor: value 1099511627776 does not fit int32"),
    (np.array([2**40]), "int32", ValueError, r"Tensor: value 1099511627776 does not fit int32"),
    ([300], "uint8", ValueError, r"Tensor: value 300 does not fit uint8 \(range 0..255\)"),
    ([-1], "uint8", ValueError, r"Tensor: value -1 does not fit uint8"),
    ([1e10], "int32", ValueError, r"Tensor: value 10000000000.0 does not fit int32"),
    ([math.nan], "int32", ValueError, r"Tensor: cannot convert NaN or Inf to int32"),
    ([[1, 2], [3]], None, ValueError, r"Tensor: cannot make a tensor from this data"),
])
def test_tensor_creation_refuses_what_it_cannot_hold(data, dtype, error, message):
    with pytest.raises(error, match=message):
        T(data, dtype=dtype)


def test_tensor_creation_keeps_megengine_defaults():
    assert T([2**31 - 1]).dtype == np.int32 and T([2**31 - 1]).item() == 2**31 - 1
    assert T(np.array([5], np.int64)).dtype == np.int32
    assert T([1.5]).dtype == np.float32 and T([True]).dtype == np.bool_
    assert T([255], dtype="uint8").item() == 255
    assert T([1.7, -1.7], dtype="int32").tolist() == [1, -1]     # a float cast truncates
    assert T(np.array([1.0], ">f4")).dtype == np.float32            # big-endian data is converted
    assert tl.Parameter(np.zeros(3, np.float16)).dtype == np.float16


def test_ops_refuse_complex_and_overflowing_integer_results():
    with pytest.raises(TypeError, match=r"conv2d: cannot make a tensor from complex numbers"):
        F.conv2d(X4 + 1j, T(W4))
    with pytest.raises(ValueError, match=r"sum: value 4294967294 does not fit int32"):
        F.sum(T([2**31 - 1, 2**31 - 1]))


# -- empty batches: an error, never 0 ------------------------------------------------------------
@pytest.mark.parametrize("name, fn", [
    ("cross_entropy", lambda: F.nn.cross_entropy(T(np.ones((0, 10))), T(np.zeros(0, np.int32)))),
    ("cross_entropy", lambda: F.nn.cross_entropy(T(np.ones((0, 10))), T(np.zeros(0, np.int32)),
                                                 with_logits=False)),
    ("square_loss", lambda: F.nn.square_loss(T(np.ones(0)), T(np.ones(0)))),
    ("l1_loss", lambda: F.nn.l1_loss(T(np.ones((0, 2))), T(np.ones((0, 2))))),
    ("binary_cross_entropy", lambda: F.nn.binary_cross_entropy(T(np.ones(0)), T(np.ones(0)))),
    ("hinge_loss", lambda: F.nn.hinge_loss(T(np.ones((0, 3))), T(np.ones((0, 3))))),
])
def test_mean_loss_of_an_empty_batch_is_an_error(name, fn):
    with pytest.raises(ValueError, match=rf"{name}: the batch is empty .* 0 samples is undefined"):
        fn()


def test_empty_batch_sum_and_none_are_well_defined_and_accuracy_is_an_error():
    empty_logits, empty_labels = T(np.ones((0, 10))), T(np.zeros(0, np.int32))
    assert F.nn.cross_entropy(empty_logits, empty_labels, reduction="sum").item() == 0.0
    assert F.nn.cross_entropy(empty_logits, empty_labels, reduction="none").shape == (0,)
    with pytest.raises(ValueError, match=r"topk_accuracy: the batch is empty"):
        F.topk_accuracy(empty_logits, empty_labels)
    with pytest.raises(ValueError, match=r"cross_entropy: reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        F.nn.cross_entropy(T(np.ones((2, 3))), T([0, 1]), reduction="avg")
