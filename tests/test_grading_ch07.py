"""The checks of chapter 7 reject plausible wrong answers, accept correct alternatives, and their
references agree with the library (fixed_point, ct.trace).

For every exercise: at least 3 MUTANTS (a realistic mistake each) that its check must fail, and
at least one ALTERNATIVE that it must pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from answers import Answers

import tutorlib as tl
import tutorlib.mlu.mlu_model as ct
from tutorlib.examples.mnist_nets import GuideNet, LeNet
from tutorlib.grading import ch07, get, run_check
from tutorlib.mlu import mlu_quantize
from tutorlib.quantization import fixed_point

ANSWERS = Answers()
MUTANTS, ALTERNATIVES = ANSWERS.mutants, ANSWERS.alternatives
mutant, alternative = ANSWERS.mutant, ANSWERS.alternative


# --- ch07.position_scale ------------------------------------------------------------------------------

@alternative("ch07.position_scale", "library fixed_point.params")
def _(absmax, bitwidth):
    p = fixed_point.params(np.array([absmax]), bitwidth, "position_scale")
    return p.position, p.scale


@alternative("ch07.position_scale", "frexp")
def _(absmax, bitwidth):
    if absmax == 0:
        return 0, 1.0
    position = math.frexp(absmax)[1] - 1 - (bitwidth - 2)
    return position, 2.0 ** position * (2 ** (bitwidth - 1) - 1) / absmax


@mutant("ch07.position_scale", "int() instead of floor")
def _(absmax, bitwidth):
    if absmax == 0:
        return 0, 1.0
    position = int(np.log2(absmax)) - (bitwidth - 2)
    return position, 2.0 ** position * (2 ** (bitwidth - 1) - 1) / absmax


@mutant("ch07.position_scale", "n - 1 instead of n - 2")
def _(absmax, bitwidth):
    if absmax == 0:
        return 0, 1.0
    position = math.floor(math.log2(absmax)) - (bitwidth - 1)
    return position, 2.0 ** position * (2 ** (bitwidth - 1) - 1) / absmax


@mutant("ch07.position_scale", "torch_mlu multiplier as the scale")
def _(absmax, bitwidth):
    if absmax == 0:
        return 0, 1.0
    return math.floor(math.log2(absmax)) - (bitwidth - 2), (2 ** (bitwidth - 1) - 1) / absmax


@mutant("ch07.position_scale", "ceil")
def _(absmax, bitwidth):
    if absmax == 0:
        return 0, 1.0
    position = math.ceil(math.log2(absmax)) - (bitwidth - 2)
    return position, 2.0 ** position * (2 ** (bitwidth - 1) - 1) / absmax


@mutant("ch07.position_scale", "no zero case")
def _(absmax, bitwidth):
    position = math.floor(math.log2(max(absmax, 1e-300))) - (bitwidth - 2)
    return position, 2.0 ** position * (2 ** (bitwidth - 1) - 1) / max(absmax, 1e-300)


# --- ch07.quantize_dequantize -------------------------------------------------------------------------

@alternative("ch07.quantize_dequantize", "library quantize + dequantize")
def _(x, position, scale, bitwidth):
    p = fixed_point.FixedPointParams(position, scale, 0, bitwidth, "position_scale")
    q = fixed_point.quantize(x, p)
    return q.astype(np.float64) * 2.0 ** position / scale


@alternative("ch07.quantize_dequantize", "np.round and np.minimum/maximum")
def _(x, position, scale, bitwidth):
    q = np.round(np.asarray(x) * scale * 2.0 ** -position)
    q = np.minimum(np.maximum(q, -2 ** (bitwidth - 1)), 2 ** (bitwidth - 1) - 1)
    return q / scale * 2.0 ** position


@mutant("ch07.quantize_dequantize", "no clamp")
def _(x, position, scale, bitwidth):
    return np.rint(x * scale / 2.0 ** position) * 2.0 ** position / scale


@mutant("ch07.quantize_dequantize", "round half up")
def _(x, position, scale, bitwidth):
    q = np.clip(np.floor(x * scale / 2.0 ** position + 0.5), -2 ** (bitwidth - 1),
                2 ** (bitwidth - 1) - 1)
    return q * 2.0 ** position / scale


@mutant("ch07.quantize_dequantize", "symmetric clamp to -127")
def _(x, position, scale, bitwidth):
    qmax = 2 ** (bitwidth - 1) - 1
    q = np.clip(np.rint(x * scale / 2.0 ** position), -qmax, qmax)
    return q * 2.0 ** position / scale


@mutant("ch07.quantize_dequantize", "returns q, not the dequantized value")
def _(x, position, scale, bitwidth):
    return np.clip(np.rint(x * scale / 2.0 ** position), -2 ** (bitwidth - 1),
                   2 ** (bitwidth - 1) - 1)


@mutant("ch07.quantize_dequantize", "scale on the wrong side")
def _(x, position, scale, bitwidth):
    q = np.clip(np.rint(x / scale / 2.0 ** position), -2 ** (bitwidth - 1),
                2 ** (bitwidth - 1) - 1)
    return q * 2.0 ** position * scale


# --- ch07.fused_op_count ------------------------------------------------------------------------------

@alternative("ch07.fused_op_count", "rewrite the list, then count")
def _(layers):
    out = []
    for layer in layers:
        if layer == "dropout":
            continue
        if layer == "bn" and out and out[-1] == "conv":
            continue
        if layer == "relu" and out and out[-1] in ("conv", "linear"):
            out[-1] += "+relu"
            continue
        out.append(layer)
    return sum(2 if layer in ("log_softmax", "normalize") else 1 for layer in out)


def _count(layers, fold=True, fuse=True, dropout=0, two=("log_softmax", "normalize"),
           relu_after_anything=False):
    count, last = 0, None
    for layer in layers:
        if fold and layer == "bn" and last == "conv":
            continue
        if fuse and layer == "relu" and (relu_after_anything or last in ("conv", "linear")):
            last = "fused"
            continue
        if layer == "dropout":
            count += dropout
            continue
        count += 2 if layer in two else 1
        last = layer
    return count


mutant("ch07.fused_op_count", "no BN folding")(lambda layers: _count(layers, fold=False))
mutant("ch07.fused_op_count", "no ReLU fusion")(lambda layers: _count(layers, fuse=False))
mutant("ch07.fused_op_count", "dropout is an op")(lambda layers: _count(layers, dropout=1))
mutant("ch07.fused_op_count", "log_softmax is one op")(
    lambda layers: _count(layers, two=("normalize",)))
mutant("ch07.fused_op_count", "relu fuses after anything")(
    lambda layers: _count(layers, relu_after_anything=True))


# --- the tests ------------------------------------------------------------------------------------------

EXERCISES = ["ch07.position_scale", "ch07.quantize_dequantize", "ch07.fused_op_count"]


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_enough_mutants_and_alternatives(exercise_id):
    assert len(MUTANTS[exercise_id]) >= 3 and len(ALTERNATIVES[exercise_id]) >= 1


@pytest.mark.parametrize("exercise_id,name", [(e, n) for e in EXERCISES for n in MUTANTS[e]])
def test_mutant_fails(exercise_id, name):
    answer, _ = MUTANTS[exercise_id][name]
    result = run_check(get(exercise_id), answer)
    assert result.status == "failed", f"{exercise_id}: the mutant {name!r} passes"


@pytest.mark.parametrize("exercise_id,name", [(e, n) for e in EXERCISES for n in ALTERNATIVES[e]])
def test_alternative_passes(exercise_id, name):
    result = run_check(get(exercise_id), ALTERNATIVES[exercise_id][name])
    assert result.status == "passed", f"{exercise_id}: {name!r} fails:\n{result!r}"


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_reference_passes(exercise_id):
    reference = {"ch07.position_scale": ch07.reference_position_scale,
                 "ch07.quantize_dequantize": ch07.reference_quantize_dequantize,
                 "ch07.fused_op_count": ch07.reference_fused_op_count}[exercise_id]
    assert run_check(get(exercise_id), reference).status == "passed"


def test_fixed_point_references_agree_with_the_library():
    rng = np.random.default_rng(0)
    for _ in range(50):
        absmax, n = ch07.absmax_and_bitwidth(rng)
        p = fixed_point.params(np.array([absmax, -absmax / 3]), n, "position_scale")
        assert ch07.reference_position_scale(absmax, n) == (p.position, pytest.approx(p.scale))
        x = rng.normal(0, absmax, 20)
        np.testing.assert_allclose(
            ch07.reference_quantize_dequantize(x, p.position, p.scale, n),
            fixed_point.dequantize(fixed_point.quantize(x, p), p), rtol=1e-6)


@pytest.mark.parametrize("net,layers", [
    (LeNet, ["normalize", "conv", "relu", "pool", "conv", "relu", "pool", "flatten", "linear",
             "relu", "linear", "relu", "linear"]),
    (lambda: LeNet(batch_norm=True),
     ["normalize", "conv", "bn", "relu", "pool", "conv", "bn", "relu", "pool", "flatten",
      "linear", "relu", "linear", "relu", "linear"]),
    (GuideNet, ["normalize", "conv", "relu", "conv", "relu", "pool", "dropout", "flatten",
                "linear", "relu", "dropout", "linear", "log_softmax"]),
])
def test_op_count_reference_agrees_with_trace(net, layers):
    tl.random.seed(0)
    model = net()
    model.eval()
    raw = np.random.default_rng(0).integers(0, 256, (2, 1, 28, 28)).astype(np.float32)
    q = mlu_quantize.quantize_dynamic_mlu(model, {"mean": [0], "std": [1 / 255]}, gen_quant=True)
    q(tl.Tensor(raw))
    m = mlu_quantize.quantize_dynamic_mlu(model)
    m.load_state_dict(q.state_dict(), strict=False)
    x = tl.Tensor(raw).to(ct.mlu_device())
    program = ct.trace(m.to(ct.mlu_device()), x)
    assert len(program.nodes) == ch07.reference_fused_op_count(layers)
