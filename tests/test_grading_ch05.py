"""The checks of chapter 5 reject plausible wrong answers and accept correct alternatives.

For every exercise: at least 3 MUTANTS (a realistic mistake each) that its check must fail, and
at least one ALTERNATIVE (another correct formulation) that it must pass.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.module as M
from tutorlib.grading import get, run_check

# --- ch05.conv2d ----------------------------------------------------------------------------------

def loops(x, w, b, stride=1, padding=0, flip=False, bias=True, pad_one_side=False,
          channels=None, extra=1, strided_size=True):
    """The solution's loops, with switches for the mutants."""
    if pad_one_side:
        x = np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0)))
    else:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    if flip:
        w = w[:, :, ::-1, ::-1]
    n, _c, h, wd = x.shape
    o, _, kh, kw = w.shape
    step = stride if strided_size else 1
    ho, wo = (h - kh) // step + extra, (wd - kw) // step + extra
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = x[:, :channels, i * stride:i * stride + kh, j * stride:j * stride + kw]
            if window.shape[2:] != (kh, kw):
                continue
            out[:, :, i, j] = np.tensordot(window, w[:, :channels], axes=([1, 2, 3], [1, 2, 3]))
    return out + (b[None, :, None, None] if bias else 0)


def einsum_windows(x, w, b, stride=1, padding=0):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwuv,ocuv->nohw", win, w) + b[None, :, None, None]


def float32_loops(x, w, b, stride=1, padding=0):
    return loops(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), stride,
                 padding).astype(np.float32)


CONV_ALTERNATIVES = {"loops": loops, "einsum over sliding windows": einsum_windows,
                     "float32": float32_loops}
CONV_MUTANTS = {
    "kernel flipped (true convolution)": lambda x, w, b, stride=1, padding=0:
        loops(x, w, b, stride, padding, flip=True),
    "bias forgotten": lambda x, w, b, stride=1, padding=0: loops(x, w, b, stride, padding,
                                                                 bias=False),
    "padding on one side only": lambda x, w, b, stride=1, padding=0:
        loops(x, w, b, stride, padding, pad_one_side=True),
    "only the first input channel": lambda x, w, b, stride=1, padding=0:
        loops(x, w, b, stride, padding, channels=1),
    "one output too few (no + 1)": lambda x, w, b, stride=1, padding=0:
        loops(x, w, b, stride, padding, extra=0),
    "stride ignored in the output size": lambda x, w, b, stride=1, padding=0:
        loops(x, w, b, stride, padding, strided_size=False),
    "stride ignored altogether": lambda x, w, b, stride=1, padding=0: loops(x, w, b, 1, padding),
}


@pytest.mark.parametrize("name", CONV_ALTERNATIVES)
def test_conv2d_alternative_passes(name):
    result = run_check(get("ch05.conv2d"), CONV_ALTERNATIVES[name])
    assert result, repr(result)


@pytest.mark.parametrize("name", CONV_MUTANTS)
def test_conv2d_mutant_fails(name):
    result = run_check(get("ch05.conv2d"), CONV_MUTANTS[name])
    assert not result and result.status == "failed", repr(result)


# --- ch05.lenet_shapes ----------------------------------------------------------------------------

def shapes_by_formula(size, pool=lambda n: (n - 2) // 2 + 1, conv=lambda n: n - 5 + 1):
    out = []
    for channels in (6, 16):
        size = conv(size)
        out.append((channels, size, size))
        size = pool(size)
        out.append((channels, size, size))
    return out


def shapes_by_running(size):
    x = tl.Tensor(np.zeros((1, 3, size, size), np.float32))
    conv1, conv2 = M.Conv2d(3, 6, 5), M.Conv2d(6, 16, 5)
    c1 = conv1(x)
    p1 = F.max_pool2d(c1, 2)
    c2 = conv2(p1)
    return [t.shape[1:] for t in (c1, p1, c2, F.max_pool2d(c2, 2))]


SHAPES_ALTERNATIVES = {
    "formula": shapes_by_formula,
    "floor division by 2": lambda size: shapes_by_formula(size, pool=lambda n: n // 2),
    "run the layers on zeros": shapes_by_running,
    "numpy integers": lambda size: [tuple(np.int64(v) for v in s) for s in shapes_by_formula(size)],
}
SHAPES_MUTANTS = {
    "LeNet's 32x32 numbers, hard-coded": lambda size: [(6, 28, 28), (6, 14, 14), (16, 10, 10),
                                                       (16, 5, 5)],
    "ceil in the pooling": lambda size: shapes_by_formula(size, pool=lambda n: math.ceil(n / 2)),
    "k instead of k - 1 lost per convolution": lambda size:
        shapes_by_formula(size, conv=lambda n: n - 5),
    "'same' convolutions assumed": lambda size: shapes_by_formula(size, conv=lambda n: n),
    "pooling with stride 1": lambda size: shapes_by_formula(size, pool=lambda n: n - 1),
}


@pytest.mark.parametrize("name", SHAPES_ALTERNATIVES)
def test_lenet_shapes_alternative_passes(name):
    result = run_check(get("ch05.lenet_shapes"), SHAPES_ALTERNATIVES[name])
    assert result, repr(result)


@pytest.mark.parametrize("name", SHAPES_MUTANTS)
def test_lenet_shapes_mutant_fails(name):
    result = run_check(get("ch05.lenet_shapes"), SHAPES_MUTANTS[name])
    assert not result and result.status == "failed", repr(result)


# --- ch05.lenet -----------------------------------------------------------------------------------

def flat_size(size):
    return 16 * (((size - 4) // 2 - 4) // 2) ** 2


class LeNet(M.Module):
    """The solution's formulation, with switches for the mutants."""
    pool = staticmethod(lambda x: F.max_pool2d(x, 2))
    kernel = 5

    def __init__(self, in_channels=3, num_classes=10, size=32):
        super().__init__()
        self.conv1 = M.Conv2d(in_channels, 6, self.kernel)
        self.conv2 = M.Conv2d(6, 16, self.kernel)
        self.fc1 = M.Linear(self.flat(size), 120)
        self.fc2 = M.Linear(120, 84)
        self.fc3 = M.Linear(84, num_classes)

    def flat(self, size):
        return flat_size(size)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = F.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class SequentialLeNet(M.Module):
    def __init__(self, in_channels=3, num_classes=10, size=32):
        super().__init__()
        self.features = M.Sequential(M.Conv2d(in_channels, 6, 5), M.ReLU(), M.MaxPool2d(2),
                                     M.Conv2d(6, 16, 5), M.ReLU(), M.MaxPool2d(2))
        n = self.features(tl.Tensor(np.zeros((1, in_channels, size, size), np.float32))).size
        self.head = M.Sequential(M.Linear(n, 120), M.ReLU(), M.Linear(120, 84), M.ReLU(),
                                 M.Linear(84, num_classes))

    def forward(self, x):
        return self.head(F.flatten(self.features(x), 1))


class Fixed400(LeNet):
    def flat(self, size):
        return 400


class AvgPool(LeNet):
    pool = staticmethod(lambda x: F.avg_pool2d(x, 2))


class NoReluAfterConv2(LeNet):
    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(self.conv2(x))
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(F.flatten(x, 1))))))


class ReluOnScores(LeNet):
    def forward(self, x):
        return F.relu(super().forward(x))


class Kernel3(LeNet):
    kernel = 3

    def flat(self, size):
        return 16 * (((size - 2) // 2 - 2) // 2) ** 2


LENET_ALTERNATIVES = [LeNet, SequentialLeNet]
LENET_MUTANTS = [Fixed400, AvgPool, NoReluAfterConv2, ReluOnScores, Kernel3]


@pytest.mark.parametrize("cls", LENET_ALTERNATIVES, ids=lambda c: c.__name__)
def test_lenet_alternative_passes(cls):
    result = run_check(get("ch05.lenet"), cls)
    assert result, repr(result)


@pytest.mark.parametrize("cls", LENET_MUTANTS, ids=lambda c: c.__name__)
def test_lenet_mutant_fails(cls):
    result = run_check(get("ch05.lenet"), cls)
    assert not result and result.status == "failed", repr(result)
