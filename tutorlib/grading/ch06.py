"""Checks of chapter 6, model development: shortcuts, top-k accuracy, receptive fields.

The students write plain numpy (``solutions/ch06-model-development.ipynb``):

* ``shortcut_a(x, out_channels)``: the ResNet paper's parameter-free "option A" shortcut for a
  block with stride 2: keep every second row and column of the (N, C, H, W) input and append
  ``out_channels - C`` channels of zeros;
* ``topk_accuracy(logits, labels, k)``: the fraction of rows whose label is among the ``k``
  highest scores;
* ``receptive_field(layers)``: the receptive field of a stack of ``(kernel, stride)``
  convolutions, and ``rf_resnet20``, the value for ResNet-20's deepest path (a reasoning answer).

>>> import numpy as np
>>> from tutorlib.grading import run_check, get
>>> bool(run_check(get("ch06.receptive_field"), _reference_receptive_field))
True
>>> no_jump = lambda layers: 1 + sum(k - 1 for k, s in layers)      # forgets the strides
>>> bool(run_check(get("ch06.receptive_field"), no_jump))
False
"""

from __future__ import annotations

import numpy as np

from tutorlib.grading import exercise


# ---- exercise 1: option-A shortcut ---------------------------------------------------------------
def _reference_shortcut_a(x, out_channels):
    x = np.asarray(x)
    sub = x[:, :, ::2, ::2]
    pad = np.zeros((sub.shape[0], out_channels - sub.shape[1]) + sub.shape[2:], sub.dtype)
    return np.concatenate([sub, pad], axis=1)


def _feature_maps(rng):
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    h, w = (int(v) for v in rng.choice([2, 4, 5, 6, 7, 8], size=2))   # odd sizes too
    x = rng.normal(size=(n, c, h, w)).astype(rng.choice([np.float32, np.float64]))
    return x, c * int(rng.choice([1, 2, 3]))


@exercise("ch06.shortcut_a", points=3, name="shortcut_a",
          title="The parameter-free shortcut (option A)",
          hint="Subsampling with stride 2 keeps rows and columns 0, 2, 4, ... (the positions a "
               "stride-2, padding-1 3x3 convolution is centred on). New channels go after the old "
               "ones and hold zeros; the dtype stays that of x.")
def check_shortcut_a(shortcut_a, t):
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    t.close(np.asarray(shortcut_a(x.copy(), 2)),
            np.array([[[[0, 2], [8, 10]], [[0, 0], [0, 0]]]], np.float32),
            "shortcut_a(arange(16).reshape(1, 1, 4, 4), 2)")
    t.against_reference(lambda x, c: np.asarray(shortcut_a(x, c)), _reference_shortcut_a,
                        _feature_maps, what="shortcut_a(x, out_channels) for random (N, C, H, W)",
                        n=8, rtol=0, atol=0)
    for x, c in t.samples(_feature_maps, n=4):
        y = np.asarray(shortcut_a(x.copy(), c))
        t.holds(y.dtype == x.dtype, f"shortcut_a keeps the dtype ({x.dtype})", got=y.dtype)


# ---- exercise 2: top-k accuracy ------------------------------------------------------------------
def _reference_topk(logits, labels, k):
    order = np.argsort(-np.asarray(logits), axis=1, kind="stable")[:, :k]
    return float((order == np.asarray(labels)[:, None]).any(axis=1).mean())


def _scores(rng):
    n, classes = int(rng.integers(5, 40)), int(rng.integers(3, 12))
    logits = rng.normal(0.0, float(rng.choice([0.5, 3.0])), size=(n, classes))
    labels = rng.integers(0, classes, size=n)
    return logits, labels, int(rng.integers(1, classes))


@exercise("ch06.topk_accuracy", points=2, name="topk_accuracy", title="Top-k accuracy",
          hint="For each row, find the k largest scores (np.argsort of the negated logits, or "
               "np.argpartition) and check whether the label is among them; average over the "
               "rows, not over the classes.")
def check_topk(topk_accuracy, t):
    logits = np.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.3, 0.2, 0.5]])
    labels = np.array([2, 0, 1])
    t.close(float(topk_accuracy(logits.copy(), labels.copy(), 1)), 1 / 3,
            "topk_accuracy(logits, [2, 0, 1], 1) for logits [[.1, .5, .4], [.7, .2, .1], "
            "[.3, .2, .5]]")
    t.close(float(topk_accuracy(logits.copy(), labels.copy(), 2)), 2 / 3, "... and with k=2")
    t.close(float(topk_accuracy(logits.copy(), labels.copy(), 3)), 1.0,
            "... and with k=3 (every class): 1.0")
    t.against_reference(lambda z, y, k: float(topk_accuracy(z, y, k)), _reference_topk, _scores,
                        what="topk_accuracy(logits, labels, k) for random scores", n=8)


# ---- exercise 3: receptive field -----------------------------------------------------------------
def _reference_receptive_field(layers):
    rf, jump = 1, 1
    for kernel, stride in layers:
        rf += (kernel - 1) * jump
        jump *= stride
    return rf


def _stack(rng):
    depth = int(rng.integers(1, 8))
    kernels = rng.choice([1, 3, 5, 7], size=depth)
    strides = rng.choice([1, 1, 2, 3], size=depth)
    return ([(int(k), int(s)) for k, s in zip(kernels, strides)],)


@exercise("ch06.receptive_field", points=3, name="receptive_field",
          title="Receptive field of a stack of convolutions",
          hint="Track two numbers from the input up: the receptive field r (1 pixel at the "
               "start) and the distance j in input pixels between two neighbouring positions of "
               "the current feature map (1 at the start). A k x k layer with stride s adds "
               "(k - 1) * j to r, and only then multiplies j by s.")
def check_receptive_field(receptive_field, t):
    t.close(int(receptive_field([(3, 1), (3, 1)])), 5, "receptive_field([(3, 1), (3, 1)])",
            rtol=0, atol=0)
    t.close(int(receptive_field([])), 1, "receptive_field([]) (no layer: one pixel)",
            rtol=0, atol=0)
    t.close(int(receptive_field([(3, 2), (3, 1)])), 7, "receptive_field([(3, 2), (3, 1)])",
            rtol=0, atol=0)
    t.against_reference(lambda layers: int(receptive_field(list(layers))),
                        _reference_receptive_field, _stack,
                        what="receptive_field(layers) for random stacks of (kernel, stride)", n=10,
                        rtol=0, atol=0)


_RESNET20 = [(3, 1)] + [(3, 1)] * 6 + [(3, 2)] + [(3, 1)] * 5 + [(3, 2)] + [(3, 1)] * 5


@exercise("ch06.rf_resnet20", points=2, name="rf_resnet20",
          title="How much of the image does ResNet-20 see?",
          hint="Write ResNet-20's longest path as a list of (kernel, stride): the stem, then the "
               "two 3x3 convolutions of each of the 9 blocks; the first convolution of stages 2 and "
               "3 has stride 2. Then use your receptive_field.")
def check_rf_resnet20(rf_resnet20, t):
    t.holds(isinstance(rf_resnet20, (int, np.integer)),
            "rf_resnet20 is an integer number of pixels", got=rf_resnet20)
    t.close(int(rf_resnet20), _reference_receptive_field(_RESNET20),
            "the receptive field of ResNet-20's last convolution (stem + 9 blocks of two 3x3 "
            "convolutions, stride 2 at the start of stages 2 and 3)", rtol=0, atol=0)
