"""Checks of chapter 0, the quick start: how many numbers a model learns, and where they live.

* ``count_parameters(state_dict)``: the total number of entries of all arrays in a state dict
  (``model.state_dict()``, name -> numpy array);
* ``lenet_n_params(image_size)``: how many parameters the quick start's LeNet has when its input
  images are ``image_size`` x ``image_size`` pixels — worked out from the layer shapes, without
  building the model.

Both answers are called with plain data (a dict of arrays, an int) and return a number.

>>> from tutorlib.grading import run_check, get
>>> bool(run_check(get("ch00.count_parameters"),
...                lambda state: sum(a.size for a in state.values())))
True
>>> bool(run_check(get("ch00.count_parameters"), lambda state: len(state)))
False
>>> bool(run_check(get("ch00.lenet_n_params"), reference_lenet_n_params))
True
>>> bool(run_check(get("ch00.lenet_n_params"), lambda size: 61706))
False
"""

from __future__ import annotations

import numpy as np

from tutorlib.grading import CheckFailure, exercise
from tutorlib.grading.compare import as_array, describe

# --- count_parameters ---------------------------------------------------------------------------


def _layer_state(rng, prefix):
    """The state dict entries of one random layer: a Linear or a Conv2d, with or without bias."""
    if rng.random() < 0.5:
        n_in, n_out = (int(v) for v in rng.integers(1, 40, size=2))
        shapes = {"weight": (n_out, n_in), "bias": (n_out,)}
    else:
        c_in, c_out, k = int(rng.integers(1, 8)), int(rng.integers(1, 17)), int(rng.integers(1, 6))
        shapes = {"weight": (c_out, c_in, k, k), "bias": (1, c_out, 1, 1)}
    if rng.random() < 0.3:
        del shapes["bias"]
    return {f"{prefix}.{name}": rng.normal(size=shape).astype(np.float32)
            for name, shape in shapes.items()}


def random_state_dict(rng):
    """A state dict of 1 to 5 random layers (name -> float32 array), in a random order."""
    state = {}
    for i in range(int(rng.integers(1, 6))):
        state.update(_layer_state(rng, f"layer{i}"))
    names = list(state)
    return {name: state[name] for name in rng.permutation(names)}


def reference_count(state):
    return int(sum(np.size(a) for a in state.values()))


LENET_SHAPES = {"conv1.weight": (6, 1, 5, 5), "conv1.bias": (1, 6, 1, 1),
                "conv2.weight": (16, 6, 5, 5), "conv2.bias": (1, 16, 1, 1),
                "fc1.weight": (120, 400), "fc1.bias": (120,), "fc2.weight": (84, 120),
                "fc2.bias": (84,), "classifier.weight": (10, 84), "classifier.bias": (10,)}


def _whole_number(got, call):
    """The answer ``got`` of ``call`` as an int; a CheckFailure if it is not one whole number."""
    try:
        value = float(as_array(got))
    except (TypeError, ValueError):
        raise CheckFailure(call, "a whole number", describe(got),
                           f"{call} must return one number, got {describe(got)}")
    if value != int(value):
        raise CheckFailure(call, "a whole number", describe(got), "a count is a whole number")
    return int(value)


def _count(count_parameters, state, what):
    return _whole_number(count_parameters({name: a.copy() for name, a in state.items()}), what)


@exercise("ch00.count_parameters", points=1, name="count_parameters",
          title="How many numbers does a model learn?",
          hint="Every array in the state dict is a block of learned numbers. How many numbers does "
               "an array of shape (6, 1, 5, 5) hold? Add that up over all the arrays, not the "
               "number of arrays.")
def check_count_parameters(count_parameters, t):
    lenet = {name: np.zeros(shape, np.float32) for name, shape in LENET_SHAPES.items()}
    t.close(_count(count_parameters, lenet, "count_parameters(LeNet().state_dict())"), 61706,
            "count_parameters(LeNet().state_dict())", rtol=0, atol=0)
    t.close(_count(count_parameters, {}, "count_parameters({})"), 0,
            "count_parameters({}) (a model without parameters)", rtol=0, atol=0)
    for (state,) in t.samples(lambda rng: (random_state_dict(rng),), n=8):
        t.close(_count(count_parameters, state, "count_parameters(state_dict)"),
                reference_count(state), "count_parameters(state_dict) of random layers",
                rtol=0, atol=0)


# --- lenet_n_params -------------------------------------------------------------------------------


def reference_lenet_n_params(image_size):
    """Parameters of LeNet (conv 5x5 -> pool 2 -> conv 5x5 -> pool 2 -> 120 -> 84 -> 10) for
    square inputs of ``image_size`` pixels: only fc1 depends on the size."""
    side = ((image_size - 4) // 2 - 4) // 2
    flat = 16 * side * side
    return (6 * 1 * 25 + 6) + (16 * 6 * 25 + 16) + (flat * 120 + 120) + (120 * 84 + 84) \
        + (84 * 10 + 10)


@exercise("ch00.lenet_n_params", points=2, name="lenet_n_params",
          title="Predict LeNet's size for other images",
          hint="Follow one image through the layers and write down its shape after each one: a "
               "5x5 convolution without padding loses 2 pixels on each side, a 2x2 pooling "
               "halves the size (rounding down). Which layers' parameters depend on the image "
               "size, and which do not?")
def check_lenet_n_params(lenet_n_params, t):
    def call(size):
        return _whole_number(lenet_n_params(int(size)), f"lenet_n_params({size})")

    t.close(call(32), 61706, "lenet_n_params(32) (the quick start's padded images)",
            rtol=0, atol=0)
    for size in [28, 16, 17, 45, 64, 100]:
        t.close(call(size), reference_lenet_n_params(size), f"lenet_n_params({size})",
                rtol=0, atol=0)
    for (size,) in t.samples(lambda rng: (int(rng.integers(16, 200)),), n=6):
        t.close(call(size), reference_lenet_n_params(size), "lenet_n_params(image_size)",
                rtol=0, atol=0)
