"""Bad input gives a clear error that names the op and the shapes involved; the F namespace
matches MegEngine's and documents itself."""
import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F

T = tl.Tensor


@pytest.mark.parametrize("fn, message", [
    (lambda: F.matmul(T(np.ones((2, 3))), T(np.ones((4, 5)))),
     r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned"),
    (lambda: T(np.ones((2, 3))) @ T(np.ones(2)), r"matmul: shapes \(2, 3\) and \(2,\)"),
    (lambda: F.matmul(T(np.ones((2, 2, 3))), T(np.ones((3, 3, 4)))),
     r"matmul: batch shapes of \(2, 2, 3\) and \(3, 3, 4\)"),
    (lambda: T(np.ones((2, 3))) * T(np.ones((3, 2))), r"mul: shapes \(2, 3\) and \(3, 2\)"),
    (lambda: F.maximum(T(np.ones(3)), T(np.ones(4))), r"maximum: shapes \(3,\) and \(4,\)"),
    (lambda: F.where(T([True, False]), T(np.ones(3)), 0.0), r"where: shapes of mask \(2,\)"),
    (lambda: T(np.ones(3)) < T(np.ones(2)), r"less: shapes \(3,\) and \(2,\)"),
    (lambda: F.broadcast_to(T(np.ones(3)), (2, 4)), r"broadcast_to: cannot broadcast shape \(3,\)"),
    (lambda: T(np.ones((2, 3))).reshape(4, 2), r"reshape: .*shape \(2, 3\).*into shape \(4, 2\)"),
    (lambda: F.concat([T(np.ones((2, 3))), T(np.ones((2, 4)))]),
     r"concat: shapes \[\(2, 3\), \(2, 4\)\] cannot be joined along axis 0"),
    (lambda: F.stack([T(np.ones(2)), T(np.ones(3))]), r"stack: .*\[\(2,\), \(3,\)\]"),
    (lambda: F.transpose(T(np.ones((2, 3))), (0, 0)), r"transpose: pattern \(0, 0\)"),
    (lambda: F.sum(T(np.ones((2, 3))), axis=2), r"sum: axis 2 is out of range"),
    (lambda: T(np.ones(3))[5], r"indexing: .*shape \(3,\)"),
    (lambda: F.split(T(np.ones(5)), 2), r"split: axis 0 of size 5 cannot be split into 2"),
    (lambda: F.pad(T(np.ones((2, 2))), ((1, 1),)), r"pad: pad_width has 1 entries .*\(2, 2\)"),
])
def test_shape_errors_name_op_and_shapes(fn, message):
    with pytest.raises((ValueError, IndexError), match=message):
        fn()


def test_conv2d_channel_mismatch():
    with pytest.raises(ValueError, match=r"conv2d: x \(1, 3, 5, 5\) has 3 channels but w \(4, 2, 3, 3\)"):
        F.conv2d(T(np.ones((1, 3, 5, 5))), T(np.ones((4, 2, 3, 3))))


def test_conv2d_kernel_larger_than_input_and_bad_mode():
    with pytest.raises(ValueError, match=r"conv2d: kernel of w \(1, 1, 5, 5\)"):
        F.conv2d(T(np.ones((1, 1, 3, 3))), T(np.ones((1, 1, 5, 5))))
    with pytest.raises(ValueError, match="cross_correlation"):
        F.conv2d(T(np.ones((1, 1, 3, 3))), T(np.ones((1, 1, 1, 1))), conv_mode="convolution")


def test_linear_shape_mismatch():
    with pytest.raises(ValueError, match=r"linear: x \(2, 3\) and weight \(4, 5\)"):
        F.linear(T(np.ones((2, 3))), T(np.ones((4, 5))))


def test_cross_entropy_rejects_float_labels():
    with pytest.raises(TypeError, match="cross_entropy: labels must be integer.*float32"):
        F.nn.cross_entropy(T(np.zeros((2, 3))), T([0.0, 1.0]))


@pytest.mark.parametrize("with_logits", [True, False])
@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_cross_entropy_rejects_out_of_range_labels(labels, with_logits):
    with pytest.raises(ValueError, match=r"cross_entropy: labels must be in \[0, 3\)"):
        F.nn.cross_entropy(T(np.full((2, 3), 1 / 3)), T(labels), with_logits=with_logits)


def test_cross_entropy_shape_and_reduction_errors():
    with pytest.raises(ValueError, match=r"cross_entropy: pred of shape \(2, 3\) needs labels"):
        F.nn.cross_entropy(T(np.zeros((2, 3))), T([[0], [1]]))
    with pytest.raises(ValueError, match=r"labels of shape \(3,\) do not match pred of shape \(2, 3\)"):
        F.nn.cross_entropy(T(np.zeros((2, 3))), T([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction must be"):
        F.nn.cross_entropy(T(np.zeros((2, 3))), T([0, 1]), reduction="avg")


@pytest.mark.parametrize("loss", [F.nn.square_loss, F.nn.l1_loss, F.nn.binary_cross_entropy])
def test_regression_losses_errors(loss):
    name = loss.__name__
    with pytest.raises(ValueError, match=rf"{name}: pred of shape \(2, 3\) and label of shape \(2,\)"):
        loss(T(np.zeros((2, 3))), T(np.zeros(2)))
    with pytest.raises(ValueError, match=rf"{name}: reduction must be"):
        loss(T(np.zeros(2)), T(np.zeros(2)), reduction="max")


def test_backward_outside_recording():
    w = tl.Parameter(1.0)
    with pytest.raises(RuntimeError, match=r"no computation history.*record\(\)"):
        tl.GradManager().attach(w).backward(w * 2)


def test_nn_argument_errors():
    with pytest.raises(ValueError, match=r"dropout: drop_prob must be a finite number in \[0, 1\), got 1.0"):
        F.nn.dropout(T(np.ones(3)), 1.0)
    with pytest.raises(ValueError, match=r"one_hot: indices must be in \[0, 3\)"):
        F.nn.one_hot(T([0, 3]), 3)
    with pytest.raises(TypeError, match="one_hot: expected integer"):
        F.nn.one_hot(T([0.0]), 3)
    with pytest.raises(ValueError, match=r"indexing_one_hot: index of shape \(3,\)"):
        F.nn.indexing_one_hot(T(np.ones((2, 4))), T([0, 1, 2]))
    with pytest.raises(ValueError, match="batch_norm: running_mean and running_var are needed"):
        F.nn.batch_norm(T(np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"max_pool2d: expected NCHW input, got shape \(3, 3\)"):
        F.max_pool2d(T(np.ones((3, 3))), 2)
    with pytest.raises(ValueError, match=r"topk_accuracy: expected logits \(N, C\) and target \(N,\)"):
        F.topk_accuracy(T(np.ones((2, 3))), T([0, 1, 2]))


def test_no_loss_in_the_top_level_namespace():
    """Losses are only F.nn.* / F.loss.* (F.cross_entropy is an AttributeError, as in MegEngine)."""
    assert not hasattr(F, "cross_entropy") and not hasattr(F, "square_loss")
    assert not hasattr(F.nn, "tanh") and F.tanh is not None
    for name in ("relu", "sigmoid", "softmax", "conv2d", "linear", "max_pool2d", "batch_norm",
                 "dropout", "one_hot", "topk_accuracy", "logsumexp", "pad"):
        assert getattr(F, name) is getattr(F.nn, name)
    for name in ("cross_entropy", "square_loss", "l1_loss", "binary_cross_entropy", "hinge_loss"):
        assert getattr(F.nn, name) is getattr(F.loss, name)
    assert F.metric.topk_accuracy is F.nn.topk_accuracy


@pytest.mark.parametrize("module", [F.elemwise, F.math, F.tensor, F.nn, F.loss, F.metric],
                         ids=lambda m: m.__name__)
def test_every_public_function_has_a_runnable_example(module):
    missing = [name for name in module.__all__ if ">>>" not in (getattr(module, name).__doc__ or "")]
    assert missing == []
