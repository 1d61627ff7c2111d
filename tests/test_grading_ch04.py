"""The checks of chapter 4 reject plausible wrong answers and accept correct alternatives.

For every exercise: at least 3 MUTANTS (a realistic mistake each) that its check must fail, and
at least one ALTERNATIVE (another correct formulation) that it must pass.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.module as M
from tutorlib.grading import get, run_check

# --- ch04.xor_weights: dicts of weights for z = relu(x @ W1 + b1) @ W2 + b2 -----------------------

XOR_ALTERNATIVES = {
    "at least one minus twice both": {"W1": np.ones((2, 2)), "b1": np.array([0.0, -1.0]),
                                      "W2": np.array([1.0, -2.0]), "b2": -0.5},
    "x1 - x2 and x2 - x1, as lists": {"W1": [[1.0, -1.0], [-1.0, 1.0]], "b1": [0.0, 0.0],
                                      "W2": [1.0, 1.0], "b2": -0.5},
    "W2 as a column, b2 as an array": {"W1": np.ones((2, 2)), "b1": np.array([0.0, -1.0]),
                                       "W2": np.array([[2.0], [-4.0]]), "b2": np.array([-1.0])},
}
XOR_MUTANTS = {
    "OR (one neuron does all the work)": {"W1": np.ones((2, 2)), "b1": np.zeros(2),
                                          "W2": np.array([1.0, 0.0]), "b2": -0.5},
    "AND": {"W1": np.ones((2, 2)), "b1": np.array([-1.0, -1.0]), "W2": np.array([1.0, 0.0]),
            "b2": -0.5},
    "XNOR (signs flipped)": {"W1": np.ones((2, 2)), "b1": np.array([0.0, -1.0]),
                             "W2": np.array([-1.0, 2.0]), "b2": 0.5},
    "three hidden neurons": {"W1": np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0]]),
                             "b1": np.zeros(3), "W2": np.array([1.0, 1.0, 0.0]), "b2": -0.5},
    "right signs, no margin": {"W1": np.ones((2, 2)), "b1": np.array([0.0, -1.0]),
                               "W2": np.array([0.1, -0.2]), "b2": -0.05},
    "b1 forgotten (both neurons the same)": {"W1": np.ones((2, 2)), "b1": np.zeros(2),
                                             "W2": np.array([1.0, -2.0]), "b2": -0.5},
}


@pytest.mark.parametrize("name", XOR_ALTERNATIVES)
def test_xor_alternative_passes(name):
    result = run_check(get("ch04.xor_weights"), XOR_ALTERNATIVES[name])
    assert result, repr(result)


@pytest.mark.parametrize("name", XOR_MUTANTS)
def test_xor_mutant_fails(name):
    result = run_check(get("ch04.xor_weights"), XOR_MUTANTS[name])
    assert not result and result.status == "failed", repr(result)


# --- ch04.mlp: classes MLP(sizes) -----------------------------------------------------------------

class ListMLP(M.Module):
    """The solution's formulation."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = [M.Linear(i, o) for i, o in itertools.pairwise(sizes)]

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)


class SequentialMLP(M.Module):
    def __init__(self, sizes):
        super().__init__()
        layers = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            if i:
                layers.append(M.ReLU())
            layers.append(M.Linear(n_in, n_out))
        self.net = M.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class HandWrittenMLP(M.Module):
    """Parameters of shape (in, out), scaled initialisation by hand, x @ W."""

    def __init__(self, sizes):
        super().__init__()
        self.weights = [tl.Parameter(tl.random.normal(0, math.sqrt(1 / i), (i, o)))
                        for i, o in itertools.pairwise(sizes)]
        self.biases = [tl.Parameter(F.zeros((o,))) for o in sizes[1:]]

    def forward(self, x):
        for k, (W, b) in enumerate(zip(self.weights, self.biases)):
            x = F.matmul(x, W) + b
            if k < len(self.weights) - 1:
                x = F.relu(x)
        return x


class ReluAfterLast(ListMLP):
    def forward(self, x):
        for layer in self.layers:
            x = F.relu(layer(x))
        return x


class NoActivation(ListMLP):
    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class SigmoidActivation(ListMLP):
    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.sigmoid(layer(x))
        return self.layers[-1](x)


class FirstAndLastOnly(M.Module):
    def __init__(self, sizes):
        super().__init__()
        self.hidden = M.Linear(sizes[0], sizes[1])
        self.out = M.Linear(sizes[1], sizes[-1]) if len(sizes) > 2 else None

    def forward(self, x):
        x = self.hidden(x)
        return self.out(F.relu(x)) if self.out is not None else x


class NoBias(ListMLP):
    def __init__(self, sizes):
        M.Module.__init__(self)
        self.layers = [M.Linear(i, o, bias=False) for i, o in itertools.pairwise(sizes)]


class UnscaledInit(ListMLP):
    def __init__(self, sizes):
        super().__init__(sizes)
        for layer in self.layers:
            M.init.normal_(layer.weight, 0.0, 1.0)


MLP_ALTERNATIVES = [ListMLP, SequentialMLP, HandWrittenMLP]
MLP_MUTANTS = [ReluAfterLast, NoActivation, SigmoidActivation, FirstAndLastOnly, NoBias,
               UnscaledInit]


@pytest.mark.parametrize("cls", MLP_ALTERNATIVES, ids=lambda c: c.__name__)
def test_mlp_alternative_passes(cls):
    result = run_check(get("ch04.mlp"), cls)
    assert result, repr(result)


@pytest.mark.parametrize("cls", MLP_MUTANTS, ids=lambda c: c.__name__)
def test_mlp_mutant_fails(cls):
    result = run_check(get("ch04.mlp"), cls)
    assert not result and result.status == "failed", repr(result)


# --- ch04.init_predictions ------------------------------------------------------------------------

RIGHT = {"zeros_first_loss": np.log(10), "zeros_W1_moves": False, "zeros_distinct": 1,
         "constant_distinct": 1, "constant_W1_random_W2_distinct": 8}
INIT_ALTERNATIVES = {
    "as in the solution": RIGHT,
    "numpy scalars, loss rounded": {**RIGHT, "zeros_first_loss": 2.30,
                                    "zeros_W1_moves": np.bool_(False),
                                    "constant_W1_random_W2_distinct": np.int64(8)},
    "math.log and floats": {**RIGHT, "zeros_first_loss": math.log(10), "zeros_distinct": 1.0},
}
INIT_MUTANTS = {
    "random init everywhere in mind": {**RIGHT, "zeros_distinct": 8, "constant_distinct": 8},
    "thinks zero weights still learn": {**RIGHT, "zeros_W1_moves": True},
    "thinks W2 cannot break the symmetry": {**RIGHT, "constant_W1_random_W2_distinct": 1},
    "loss of a 2-class problem": {**RIGHT, "zeros_first_loss": np.log(2)},
    "loss 0 for zero weights": {**RIGHT, "zeros_first_loss": 0.0},
    "W1 moves given as the string 'no'": {**RIGHT, "zeros_W1_moves": "no"},
}


@pytest.mark.parametrize("name", INIT_ALTERNATIVES)
def test_init_alternative_passes(name):
    result = run_check(get("ch04.init_predictions"), INIT_ALTERNATIVES[name])
    assert result, repr(result)


@pytest.mark.parametrize("name", INIT_MUTANTS)
def test_init_mutant_fails(name):
    result = run_check(get("ch04.init_predictions"), INIT_MUTANTS[name])
    assert not result and result.status == "failed", repr(result)


def test_init_experiment_outcomes_are_what_the_solution_says():
    from tutorlib.examples.init_experiment import init_experiment
    assert init_experiment("zeros") == {"first_loss": pytest.approx(np.log(10)),
                                        "W1_moves": False, "distinct": 1}
    assert init_experiment("constant")["distinct"] == 1
    assert init_experiment("constant")["W1_moves"] is True
    assert init_experiment("constant_W1_random_W2")["distinct"] == 8
