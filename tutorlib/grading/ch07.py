"""Checks of chapter 7 (deploying to an accelerator): Cambricon's position and scale by hand,
quantize-dequantize in fixed point, and predicting how many ops a fused MLU program has.

References are plain numpy/Python; the fixed-point ones agree with
``tutorlib.quantization.fixed_point`` and the op count with ``tutorlib.mlu.mlu_model.trace``
(``tests/test_grading_ch07.py`` checks both).
"""

from __future__ import annotations

import math

import numpy as np

from tutorlib.grading import exercise

# --- position and scale ------------------------------------------------------------------------------


def reference_position_scale(absmax, bitwidth):
    """CNNL POSITION_SCALE: position = floor(log2 absmax) - (n - 2),
    scale = 2^position (2^(n-1) - 1) / absmax; (0, 1.0) when absmax is 0."""
    if absmax == 0:
        return 0, 1.0
    position = math.floor(math.log2(absmax)) - (bitwidth - 2)
    return position, 2.0 ** position * (2 ** (bitwidth - 1) - 1) / absmax


def absmax_and_bitwidth(rng):
    """An absmax spread over many powers of ten (below and above 1), and 8 or 16 bits."""
    return float(10.0 ** rng.uniform(-4, 4)), int(rng.choice([8, 16]))


@exercise("ch07.position_scale", points=2, name="position_scale",
          title="Position and scale by hand",
          hint="position = floor(log2(absmax)) - (bitwidth - 2) (math.floor, not int(): they differ "
               "below 1); scale = 2**position * (2**(bitwidth-1) - 1) / absmax. If absmax is 0, "
               "return (0, 1.0). Return the tuple (position, scale).")
def check_position_scale(position_scale, t):
    t.close(position_scale(3.0, 8), (-5, 2.0 ** -5 * 127 / 3.0),
            "position_scale(3.0, 8) (the reference example: position -5, scale 1.3229)")
    t.close(position_scale(0.3, 8), (-8, 2.0 ** -8 * 127 / 0.3),
            "position_scale(0.3, 8) (absmax below 1: log2 is negative)")
    t.close(position_scale(0.0, 16), (0, 1.0), "position_scale(0.0, 16) (all zeros)")
    t.against_reference(position_scale, reference_position_scale, absmax_and_bitwidth,
                        what="position_scale(absmax, bitwidth)", n=8)
    for absmax, n in ((3.0, 8), (0.3, 8), (1000.0, 16)):
        _, scale = position_scale(absmax, n)
        qmax = 2 ** (n - 1) - 1
        t.holds(qmax / 2 ** (n - 1) < scale <= 2 * qmax / 2 ** (n - 1),
                f"the scale of position_scale({absmax}, {n}) lies in (qmax/2^(n-1), "
                f"2 qmax/2^(n-1)]: the position carries the power of two", got=scale)


# --- quantize / dequantize ----------------------------------------------------------------------------


def reference_quantize_dequantize(x, position, scale, bitwidth):
    """clamp(round_half_even(x scale / 2^position), -2^(n-1), 2^(n-1)-1) 2^position / scale."""
    n = bitwidth
    q = np.clip(np.rint(np.asarray(x, np.float64) * scale / 2.0 ** position),
                -2 ** (n - 1), 2 ** (n - 1) - 1)
    return q * 2.0 ** position / scale


def values_with_ties_and_outliers(rng):
    """Values on and between grid points (ties included) plus a few far outside the range."""
    n = int(rng.choice([8, 16]))
    position = int(rng.integers(-8, 3))
    scale = float(rng.uniform(1.0, 1.9))
    step = 2.0 ** position / scale
    k = rng.integers(-2 ** (n - 1), 2 ** (n - 1), size=6)
    x = np.concatenate([k * step, (k + 0.5) * step, rng.normal(0, 20 * step, size=6),
                        [2 ** n * step, -2 ** n * step]])
    return x, position, scale, n


@exercise("ch07.quantize_dequantize", points=2, name="quantize_dequantize",
          title="Quantize and dequantize in fixed point",
          hint="q = x * scale / 2**position, rounded half to even (np.rint or np.round), then "
               "clipped to [-2**(bitwidth-1), 2**(bitwidth-1) - 1]; return q * 2**position / scale "
               "as floats (an array shaped like x).")
def check_quantize_dequantize(quantize_dequantize, t):
    t.close(quantize_dequantize(np.array([1.0]), -5, 2.0 ** -5 * 127 / 3.0, 8),
            np.array([42 * 2.0 ** -5 / (2.0 ** -5 * 127 / 3.0)]),
            "quantize_dequantize([1.0], -5, 1.3229, 8) (q = 42, about 0.9921)")
    t.close(quantize_dequantize(np.array([2.5, 3.5, -2.5]) / 32, -5, 1.0, 8),
            np.array([2.0, 4.0, -2.0]) / 32,
            "ties go to the even integer: q = 2.5, 3.5, -2.5 become 2, 4, -2")
    t.close(quantize_dequantize(np.array([100.0, -100.0]), -5, 1.0, 8),
            np.array([127.0, -128.0]) / 32, "values outside the range clip to q = 127 and -128")
    t.against_reference(quantize_dequantize, reference_quantize_dequantize,
                        values_with_ties_and_outliers,
                        what="quantize_dequantize(x, position, scale, bitwidth)", n=6,
                        rtol=1e-9, atol=0)


# --- how many ops in a fused program ------------------------------------------------------------------

LAYER_OPS = {"conv": 1, "linear": 1, "bn": 1, "relu": 1, "pool": 1, "flatten": 1,
             "log_softmax": 2, "normalize": 2, "dropout": 0}


def reference_fused_op_count(layers):
    """Ops in ``ct.trace``'s program for a chain of layers (see the exercise's rules)."""
    count, last = 0, None     # last: the op the previous layer left at the end of the program
    for layer in layers:
        if layer not in LAYER_OPS:
            raise ValueError(f"unknown layer {layer!r}")
        if layer == "bn" and last == "conv":
            continue                                   # folded into the conv's weights
        if layer == "relu" and last in ("conv", "linear"):
            last = "fused"                             # conv+relu is one op
            continue
        if layer == "dropout":
            continue                                   # eval mode: no op at all
        count += LAYER_OPS[layer]
        last = layer
    return count


def layer_chains(rng):
    """A random chain of 3..12 layers from the vocabulary."""
    names = sorted(LAYER_OPS)
    return ([str(n) for n in rng.choice(names, size=int(rng.integers(3, 13)))],)


@exercise("ch07.fused_op_count", points=3, name="fused_op_count",
          title="How many ops does the fused program have?",
          hint="Walk the layers, remembering the op at the end of the program so far: bn right "
               "after a conv folds away, relu right after a conv or linear (not already fused) "
               "fuses into it, dropout disappears in eval mode, log_softmax and normalize are 2 "
               "ops each, everything else is 1.")
def check_fused_op_count(fused_op_count, t):
    lenet = ["normalize", "conv", "relu", "pool", "conv", "relu", "pool", "flatten",
             "linear", "relu", "linear", "relu", "linear"]
    t.close(fused_op_count(lenet), 10, "fused_op_count(LeNet's layers with firstconv)")
    t.close(fused_op_count(["conv", "bn", "relu"]), 1, "conv, bn, relu: one op")
    t.close(fused_op_count(["conv", "relu", "relu"]), 2, "a second relu has nothing to fuse into")
    t.close(fused_op_count(["pool", "relu", "linear", "dropout", "log_softmax"]), 5,
            "relu after pool stays; dropout vanishes; log_softmax is 2 ops")
    t.close(fused_op_count(["linear", "bn", "relu"]), 3, "bn folds only into a conv")
    t.against_reference(fused_op_count, reference_fused_op_count, layer_chains,
                        what="fused_op_count(layers)", n=10)
