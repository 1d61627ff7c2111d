"""Checks of chapter 5, convolutional networks: conv2d with loops, shapes, a LeNet of any size.

The students write (``solutions/ch05-convolutional-networks.ipynb``):

* ``conv2d(x, w, b, stride=1, padding=0)``: numpy loops, x (N, C, H, W), w (O, C, KH, KW),
  b (O,) -> (N, O, H_out, W_out), compared with ``F.conv2d``;
* ``lenet_shapes(size)``: the (channels, height, width) after each of LeNet's conv 5x5 / max-pool
  2x2 / conv 5x5 / max-pool 2x2 stages for a 3 x size x size input, compared with what the layers
  really output;
* ``LeNet``: an ``M.Module`` class ``LeNet(in_channels, num_classes, size)`` for square inputs of
  any size.

>>> import numpy as np
>>> from tutorlib.grading import run_check, get
>>> def shapes(size):
...     out = []
...     for channels in (6, 16):
...         size = size - 4; out.append((channels, size, size))
...         size = size // 2; out.append((channels, size, size))
...     return out
>>> bool(run_check(get("ch05.lenet_shapes"), shapes))
True
>>> bool(run_check(get("ch05.lenet_shapes"), lambda size: [(6, 28, 28), (6, 14, 14),
...                                                         (16, 10, 10), (16, 5, 5)]))
False
"""

from __future__ import annotations

import numpy as np

from tutorlib.grading import exercise


def _reference_conv2d(x, w, b, stride=1, padding=0):
    import tutorlib as tl
    import tutorlib.functional as F
    out = F.conv2d(tl.Tensor(x.astype(np.float32)), tl.Tensor(w.astype(np.float32)),
                   tl.Tensor(b.astype(np.float32)), stride=stride, padding=padding)
    return out.numpy().astype(np.float64)


def _conv_case(rng):
    n, c, o = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h, w_ = int(rng.integers(kh + 2, 10)), int(rng.integers(kw + 2, 10))
    return (rng.normal(size=(n, c, h, w_)), rng.normal(size=(o, c, kh, kw)), rng.normal(size=o),
            stride, padding)


@exercise("ch05.conv2d", points=4, name="conv2d", title="conv2d with loops",
          hint="Pad x with np.pad on the two spatial axes only (both sides). The output has "
               "(H + 2p - KH) // stride + 1 rows. Output [n, o, i, j] is the sum over c, u, v of "
               "x_padded[n, c, i*stride + u, j*stride + v] * w[o, c, u, v], plus b[o] — the kernel "
               "is not flipped.")
def check_conv2d(conv2d, t):
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 0, 0] = 1.0
    w = np.arange(4.0).reshape(1, 1, 2, 2)
    t.close(np.asarray(conv2d(x, w, np.zeros(1)), dtype=np.float64), _reference_conv2d(x, w, np.zeros(1)),
            "a 3x3 image with a single 1 in the corner, 2x2 kernel [[0, 1], [2, 3]] (not flipped)")
    t.against_reference(lambda x, w, b: np.asarray(conv2d(x, w, b), dtype=np.float64),
                        _reference_conv2d, lambda rng: _conv_case(rng)[:3],
                        what="conv2d(x, w, b) with stride 1, no padding, vs F.conv2d",
                        rtol=1e-4, atol=1e-4)
    t.against_reference(
        lambda x, w, b, s, p: np.asarray(conv2d(x, w, b, stride=s, padding=p), dtype=np.float64),
        _reference_conv2d, _conv_case,
        what="conv2d(x, w, b, stride, padding) vs F.conv2d(x, w, b, stride=stride, "
             "padding=padding) for random shapes, strides 1-3 and paddings 0-2",
        n=8, rtol=1e-4, atol=1e-4)


def _true_shapes(size):
    import tutorlib as tl
    import tutorlib.functional as F
    x = tl.Tensor(np.zeros((1, 3, size, size), np.float32))
    shapes = []
    for out_channels, in_channels in ((6, 3), (16, 6)):
        x = F.conv2d(x, tl.Tensor(np.zeros((out_channels, in_channels, 5, 5), np.float32)))
        shapes.append(tuple(x.shape[1:]))
        x = F.max_pool2d(x, 2)
        shapes.append(tuple(x.shape[1:]))
    return shapes


@exercise("ch05.lenet_shapes", points=2, name="lenet_shapes",
          title="Output-shape arithmetic through LeNet",
          hint="Apply the size formula floor((n + 2p - k) / s) + 1 four times: the convolutions "
               "have k = 5, s = 1, p = 0; the poolings are windows too, with k = 2, s = 2. Odd "
               "sizes are where floor matters.")
def check_lenet_shapes(lenet_shapes, t):
    for size in (32, 28, 29, 35, 64, 47, 16):
        got = [tuple(int(v) for v in shape) for shape in lenet_shapes(size)]
        t.close(len(got), 4, f"lenet_shapes({size}) has 4 entries (conv1, pool1, conv2, pool2)")
        t.close(np.array(got), np.array(_true_shapes(size)),
                f"lenet_shapes({size}): (channels, height, width) after conv1, pool1, conv2, pool2 "
                f"for a 3x{size}x{size} input", rtol=0, atol=0)


def _reference_lenet(model, in_channels, num_classes, size, x):
    import tutorlib as tl
    import tutorlib.functional as F
    params = list(model.parameters())
    flat = 16 * (((size - 4) // 2 - 4) // 2) ** 2

    def find(*shapes):
        found = [p for p in params if tuple(p.shape) in shapes]
        return found[0] if len(found) == 1 else None

    convs = [(find((6, in_channels, 5, 5)), find((6,), (1, 6, 1, 1))),
             (find((16, 6, 5, 5)), find((16,), (1, 16, 1, 1)))]
    fcs = [(find((120, flat), (flat, 120)), find((120,)), flat),
           (find((84, 120), (120, 84)), find((84,)), 120),
           (find((num_classes, 84), (84, num_classes)), find((num_classes,)), 84)]
    if any(p is None for pair in convs for p in pair) or \
            any(p is None for W, b, _ in fcs for p in (W, b)):
        return None
    out = tl.Tensor(x)
    for W, b in convs:
        bias = tl.Tensor(b.numpy().reshape(1, -1, 1, 1))
        out = F.max_pool2d(F.relu(F.conv2d(out, W) + bias), 2)
    out = F.flatten(out, 1)
    for k, (W, b, n_in) in enumerate(fcs):
        W = W if W.shape[0] == n_in else W.transpose()
        out = F.matmul(out, W) + b
        if k < 2:
            out = F.relu(out)
    return out.numpy()


@exercise("ch05.lenet", points=3, name="LeNet", title="LeNet for any input size",
          hint="The layers are the lesson's LeNet with in_channels input channels and num_classes "
               "outputs; only fc1's input size changes with `size`: 16 * h * w after the second "
               "pooling — your lenet_shapes gives h and w. Keep max pooling and a ReLU after every "
               "layer except the last.")
def check_lenet(LeNet, t):
    import tutorlib as tl
    import tutorlib.functional as F
    from tutorlib.autodiff import GradManager

    for in_channels, num_classes, size in ((3, 10, 32), (1, 10, 28), (3, 5, 40), (2, 4, 29)):
        tl.random.seed(0)
        model = LeNet(in_channels, num_classes, size)
        what = f"LeNet({in_channels}, {num_classes}, {size})"
        t.holds(callable(getattr(model, "parameters", None)), f"{what} is a module (it has parameters())",
                got=model)
        x = t.rng.normal(size=(3, in_channels, size, size)).astype(np.float32)
        got = model(tl.Tensor(x))
        t.close(tuple(got.shape), (3, num_classes), f"{what} maps a batch (3, {in_channels}, "
                f"{size}, {size}) to scores (3, {num_classes})")
        reference = _reference_lenet(model, in_channels, num_classes, size, x)
        t.holds(reference is not None, f"{what} has the parameters of LeNet: conv 5x5 "
                f"({in_channels}->6), conv 5x5 (6->16), linear to 120, 84 and {num_classes}, each "
                "with a bias", got=sorted(tuple(p.shape) for p in model.parameters()))
        t.close(got.numpy(), reference, f"{what}(x) == conv-relu-maxpool twice, then "
                "linear-relu, linear-relu, linear", rtol=1e-4, atol=1e-5)
        if t.in_kernel(model):  # graded remotely: forward judged above, no graph to record
            continue
        params = list(model.parameters())
        gm = GradManager().attach(params)
        with gm:
            gm.backward(F.nn.cross_entropy(model(tl.Tensor(x)),
                                           tl.Tensor(np.arange(3) % num_classes)))
        t.holds(all(p.grad is not None for p in params),
                f"every parameter of {what} gets a gradient")
