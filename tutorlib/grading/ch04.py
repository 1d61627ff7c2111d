"""Checks of chapter 4, neural networks: XOR by hand, an MLP module, initialisation predicted.

The students write (``solutions/ch04-neural-networks.ipynb``):

* ``xor_weights``: a dict ``{"W1": (2, 2), "b1": (2,), "W2": (2,), "b2": scalar}`` for the network
  ``z = relu(x @ W1 + b1) @ W2 + b2`` with two hidden ReLU neurons that computes XOR
  (z <= -0.5 where XOR is 0, z >= 0.5 where it is 1);
* ``MLP``: an ``M.Module`` class, ``MLP(sizes)``, linear layers of the given sizes with ReLU
  between them (none after the last);
* ``init_predictions``: predicted outcomes of the initialisation experiment
  (:func:`tutorlib.examples.init_experiment.init_experiment`), compared with what the experiment really gives.

>>> import numpy as np
>>> from tutorlib.grading import run_check, get
>>> good = {"W1": np.ones((2, 2)), "b1": np.array([0.0, -1.0]), "W2": np.array([1.0, -2.0]),
...         "b2": -0.5}
>>> bool(run_check(get("ch04.xor_weights"), good))
True
>>> as_or = {"W1": np.ones((2, 2)), "b1": np.zeros(2), "W2": np.array([1.0, 0.0]), "b2": -0.5}
>>> bool(run_check(get("ch04.xor_weights"), as_or))
False
"""

from __future__ import annotations

import itertools

import numpy as np

from tutorlib.examples.init_experiment import init_experiment
from tutorlib.grading import exercise

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([0, 1, 1, 0])


def _array(weights, key):
    if not isinstance(weights, dict) or key not in weights:
        raise ValueError(f"xor_weights should be a dict with the keys W1, b1, W2, b2; "
                         f"{key!r} is missing")
    return np.asarray(weights[key], dtype=np.float64)


@exercise("ch04.xor_weights", points=2, name="xor_weights",
          title="The smallest network that computes XOR",
          hint="Give each hidden neuron its own job: for instance one that responds when at "
               "least one input is on, and one that responds only when both are (a bias can "
               "make ReLU cut off the rest). The output can then weigh them with opposite signs.")
def check_xor_weights(xor_weights, t):
    W1, b1 = _array(xor_weights, "W1"), _array(xor_weights, "b1")
    W2, b2 = _array(xor_weights, "W2"), _array(xor_weights, "b2")
    t.close(W1.shape, (2, 2), "W1 has shape (2 inputs, 2 hidden neurons): the smallest network")
    t.close(b1.shape, (2,), "b1 has shape (2,)")
    t.close(W2.reshape(-1).shape, (2,), "W2 holds 2 weights, one per hidden neuron")
    t.close(b2.reshape(-1).shape, (1,), "b2 is one number")
    hidden = np.maximum(XOR_X @ W1 + b1, 0.0)
    z = hidden @ W2.reshape(-1) + b2.reshape(-1)[0]
    t.holds(np.isfinite(z).all(), "z = relu(x @ W1 + b1) @ W2 + b2 is finite", got=z)
    t.holds(np.where(XOR_Y == 1, z >= 0.5 - 1e-9, z <= -0.5 + 1e-9),
            "z >= 0.5 for (0, 1) and (1, 0), z <= -0.5 for (0, 0) and (1, 1) "
            "(inputs in that order: (0, 0), (0, 1), (1, 0), (1, 1))", got=z)


def _reference_forward(model, sizes, x):
    """The MLP's output computed from its own parameters, found by their shapes."""
    params = [np.asarray(p.numpy(), dtype=np.float64) for p in model.parameters()]
    out = x
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        weights = [p for p in params if p.shape in ((n_out, n_in), (n_in, n_out))]
        biases = [p for p in params if p.shape == (n_out,)]
        if len(weights) != 1 or len(biases) != 1:
            return None
        W = weights[0]
        out = out @ (W.T if W.shape == (n_out, n_in) else W) + biases[0]
        if k < len(sizes) - 2:
            out = np.maximum(out, 0.0)
    return out


@exercise("ch04.mlp", points=3, name="MLP", title="An MLP module of any depth",
          hint="Subclass M.Module and call super().__init__() first. Keep the layers in a list "
               "attribute (tutorlib registers the modules inside lists), one M.Linear per pair of "
               "neighbouring sizes. In forward, apply F.relu after every layer except the last: "
               "the scores may be negative.")
def check_mlp(MLP, t):
    import tutorlib as tl
    import tutorlib.functional as F
    from tutorlib.autodiff import GradManager

    for sizes in ([5, 7, 3], [6, 9, 4, 3], [4, 3]):
        tl.random.seed(0)
        model = MLP(sizes)
        t.holds(callable(getattr(model, "parameters", None)),
                f"MLP({sizes}) is a module (it has parameters())", got=model)
        params = list(model.parameters())
        shapes = sorted(tuple(p.shape) for p in params)
        expected = sorted([(o, i) for i, o in itertools.pairwise(sizes)] +
                          [(o,) for o in sizes[1:]])
        t.close(len(params), len(expected), f"MLP({sizes}).parameters() yields one weight and "
                "one bias per layer")
        t.holds(all(s in (e, e[::-1]) for s, e in zip(
            sorted(shapes, key=lambda s: (len(s), sorted(s))),
            sorted(expected, key=lambda s: (len(s), sorted(s))))),
            f"the parameters of MLP({sizes}) have the shapes of {len(sizes) - 1} linear layers "
            f"{expected}", got=shapes)
        x = t.rng.normal(size=(8, sizes[0]))
        reference = _reference_forward(model, sizes, x)
        t.holds(reference is not None, f"each layer of MLP({sizes}) has one weight and one bias",
                got=shapes)
        got = model(tl.Tensor(x.astype(np.float32)))
        t.close(got.numpy().astype(np.float64), reference,
                f"MLP({sizes})(x) == linear layers with ReLU between them, none after the last",
                rtol=1e-4, atol=1e-5)
        if t.in_kernel(model):  # graded remotely: forward judged above, no graph to record
            continue
        gm = GradManager().attach(params)
        with gm:
            gm.backward(F.nn.cross_entropy(model(tl.Tensor(x.astype(np.float32))),
                                           tl.Tensor(t.rng.integers(0, sizes[-1], size=8))))
        t.holds(all(p.grad is not None and np.abs(p.grad.numpy()).max() > 0 for p in params),
                f"every parameter of MLP({sizes}) gets a gradient from the loss")
    tl.random.seed(1)
    big = MLP([784, 256, 10])
    for p in big.parameters():
        if p.ndim == 2:
            n_in = 784 if 784 in p.shape else 256
            std = float(p.numpy().std())
            t.close(std * np.sqrt(n_in), 1.0, f"weights of shape {tuple(p.shape)} in "
                    f"MLP([784, 256, 10]) start with std 1/sqrt({n_in}) (scaled initialisation)",
                    rtol=0.1)


@exercise("ch04.init_predictions", points=3, name="init_predictions",
          title="Predict what initialisation does",
          hint="Follow one gradient by hand. With all weights 0, what do the hidden neurons output, "
               "and what does the gradient of W1 get multiplied by on its way back from the "
               "output? If all hidden neurons start equal, do they get different gradients? "
               "Only the weights *after* them (W2) can tell them apart.")
def check_init_predictions(init_predictions, t):
    if not isinstance(init_predictions, dict):
        raise TypeError(f"init_predictions should be a dict, got {type(init_predictions).__name__}")
    keys = ("zeros_first_loss", "zeros_W1_moves", "zeros_distinct", "constant_distinct",
            "constant_W1_random_W2_distinct")
    missing = [k for k in keys if k not in init_predictions]
    t.holds(not missing, "init_predictions has the keys " + ", ".join(keys), got=missing)
    zeros = init_experiment("zeros")
    constant = init_experiment("constant")
    mixed = init_experiment("constant_W1_random_W2")
    t.close(float(init_predictions["zeros_first_loss"]), zeros["first_loss"],
            "the first loss with all-zero weights (10 classes)", rtol=0, atol=0.01)
    moves = init_predictions["zeros_W1_moves"]
    t.holds(isinstance(moves, (bool, np.bool_)), "zeros_W1_moves is True or False", got=moves)
    t.holds(bool(moves) == zeros["W1_moves"], "zeros_W1_moves: does W1 change at all when every "
            "weight starts at 0?", got=moves)
    for key, run, what in (("zeros_distinct", zeros, "all weights 0"),
                           ("constant_distinct", constant, "W1 = W2 = 0.1"),
                           ("constant_W1_random_W2_distinct", mixed, "W1 = 0.1, W2 random")):
        got = init_predictions[key]
        t.holds(float(got) == int(got), f"{key} is a whole number", got=got)
        t.close(int(got), run["distinct"], f"{key}: distinct hidden neurons (of 8) after "
                f"training from {what}", rtol=0, atol=0)
