"""Checks of chapter 1 (framework basics): the square loss and its gradient, pairwise distances
with broadcasting, and the largest learning rate for which gradient descent fits a line.

Every check draws its inputs from ``t.rng`` (seeded by the exercise id) and compares with a
reference written in plain numpy (float64). Answers are called with numpy arrays and return
numbers or arrays (tensors are converted).

>>> from tutorlib.grading import run_check, get
>>> bool(run_check(get("ch01.largest_stable_lr"), reference_largest_stable_lr))
True
>>> bool(run_check(get("ch01.largest_stable_lr"), lambda x: 1 / np.mean(x ** 2)))   # w only
False
"""

from __future__ import annotations

import numpy as np

from tutorlib.grading import CheckFailure, exercise
from tutorlib.grading.compare import as_array, describe

# --- square loss ---------------------------------------------------------------------------------

def reference_square_loss(pred, target):
    """mean((pred - target) ** 2) over all entries, as F.nn.square_loss (no factor 1/2)."""
    return np.mean((np.asarray(pred, np.float64) - target) ** 2)


def reference_square_loss_grad(pred, target):
    """d square_loss / d pred = 2 (pred - target) / (number of entries)."""
    return 2.0 * (pred - target) / np.size(pred)


def pred_and_target(rng):
    """A prediction and a target of the same random shape: 0-D to 3-D, on a random scale."""
    shape = tuple(int(n) for n in rng.integers(1, 6, size=rng.integers(0, 4)))
    scale = 10.0 ** rng.uniform(-2, 3)
    return scale * rng.normal(size=shape), scale * rng.normal(size=shape)


def pred_and_target_2d(rng):
    """A prediction and a target with at least 2 rows and 2 columns (a 1-D answer is not enough)."""
    shape = tuple(int(n) for n in rng.integers(2, 6, size=rng.integers(2, 4)))
    return rng.normal(size=shape), rng.normal(size=shape)


@exercise("ch01.square_loss", points=2, name="square_loss", title="The square loss",
          hint="One number for the whole array, whatever its shape: which numpy reduction averages "
               "over every entry at once? Check your function on the docstring example by hand.")
def check_square_loss(square_loss, t):
    t.close(square_loss(np.array([3.0, 3.0, 3.0, 3.0]), np.array([2.0, 8.0, 6.0, 1.0])), 9.75,
            "square_loss([3, 3, 3, 3], [2, 8, 6, 1]) (the example from MegEngine's docs)",
            rtol=1e-5)
    t.close(square_loss(np.array([1.0, -2.0]), np.array([1.0, -2.0])), 0.0,
            "square_loss(y, y) is 0", atol=1e-7)
    t.against_reference(square_loss, reference_square_loss, pred_and_target,
                        what="square_loss(pred, target) for arrays of any shape (0-D to 3-D)",
                        n=8, rtol=1e-5, atol=1e-6)


@exercise("ch01.square_loss_grad", points=2, name="square_loss_grad",
          title="The gradient of the square loss",
          hint="Write the mean as a sum divided by n and differentiate one term. What is n for a "
               "2-D array: its number of rows, or its number of entries?")
def check_square_loss_grad(square_loss_grad, t):
    pred, target = np.array([3.0, 3.0, 3.0, 3.0]), np.array([2.0, 8.0, 6.0, 1.0])
    t.close(square_loss_grad(pred, target), np.array([0.5, -2.5, -1.5, 1.0]),
            "square_loss_grad([3, 3, 3, 3], [2, 8, 6, 1])", rtol=1e-5)
    t.gradient(square_loss_grad, reference_square_loss, pred_and_target_2d,
               what="square_loss_grad(pred, target) for 2-D and 3-D arrays", n=4,
               rtol=1e-4, atol=1e-6)
    t.against_reference(square_loss_grad, reference_square_loss_grad, pred_and_target,
                        what="square_loss_grad(pred, target) for arrays of any shape (0-D to 3-D)",
                        n=8, rtol=1e-5, atol=1e-8)


# --- pairwise squared distances -----------------------------------------------------------------

def reference_pairwise(a, b):
    """D[i, j] = sum_k (a[i, k] - b[j, k])^2, written with loops (slow but obviously right)."""
    out = np.zeros((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            out[i, j] = np.sum((a[i] - b[j]) ** 2)
    return out


def two_point_sets(rng):
    """n points and m points in d dimensions, with small random n, m, d (sometimes 1)."""
    n, m, d = rng.integers(1, 6, size=3)
    return rng.normal(size=(n, d)), rng.normal(size=(m, d))


@exercise("ch01.pairwise_sq_dists", points=3, name="pairwise_sq_dists",
          title="Pairwise squared distances with broadcasting",
          hint="Give a and b each one extra axis of length 1 (None in an index), in different "
               "places, so that broadcasting pairs every row of a with every row of b in an "
               "(n, m, d) difference. Which axis do you then sum over?")
def check_pairwise(pairwise_sq_dists, t):
    a = np.array([[0.0, 0.0], [1.0, 1.0]])
    b = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]])
    t.close(pairwise_sq_dists(a, b), np.array([[0.0, 25.0, 1.0], [2.0, 13.0, 1.0]]),
            "pairwise_sq_dists([[0, 0], [1, 1]], [[0, 0], [3, 4], [1, 0]])", rtol=1e-5)
    t.against_reference(pairwise_sq_dists, reference_pairwise, two_point_sets,
                        what="pairwise_sq_dists(a, b)", n=8, rtol=1e-4, atol=1e-5)
    a = t.rng.normal(size=(30, 5))
    d = as_array(pairwise_sq_dists(a, a.copy()))
    t.close(np.diag(d), np.zeros(30), "pairwise_sq_dists(a, a) has zeros on the diagonal",
            atol=1e-4)
    t.close(d, d.T, "pairwise_sq_dists(a, a) is symmetric", rtol=1e-5, atol=1e-5)




# --- the largest stable learning rate -------------------------------------------------------------

def line_hessian(x):
    """Hessian of L(w, b) = mean((w x + b - y)^2) with respect to (w, b); y does not enter."""
    x = np.asarray(x, np.float64)
    return 2.0 / len(x) * np.array([[np.sum(x * x), np.sum(x)], [np.sum(x), len(x)]])


def reference_largest_stable_lr(x):
    """2 / lambda_max of the Hessian: above it, gradient descent on the line fit diverges."""
    return float(2.0 / np.linalg.eigvalsh(line_hessian(x)).max())


def line_inputs(rng):
    """1-D inputs x for a line fit: 2 to 300 points, centred or far from 0, tiny to huge."""
    n = int(rng.integers(2, 301))
    scale = 10.0 ** rng.uniform(-2, 2)
    centre = float(rng.choice([0.0, 1.0, -5.0, 20.0])) * scale
    return (centre + scale * rng.uniform(-1, 1, size=n),)


def descend(x, y, lr, steps):
    """Full-batch gradient descent on mean((w x + b - y)^2) from w = b = 0; the losses."""
    theta, a = np.zeros(2), np.stack([x, np.ones_like(x)], axis=1)
    losses = []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            r = a @ theta - y
            losses.append(np.mean(r * r))
            theta = theta - lr * 2.0 / len(x) * a.T @ r
    return np.array(losses)


@exercise("ch01.largest_stable_lr", points=3, name="largest_stable_lr",
          title="Predict the largest stable learning rate",
          hint="The loss is a quadratic bowl in (w, b): write down its 2x2 matrix of second "
               "derivatives (d2L/dw2, d2L/dw db, d2L/db2) from the formula of the loss. Its "
               "largest eigenvalue sets the limit; the two numbers do not depend on y.")
def check_largest_stable_lr(largest_stable_lr, t):
    def call(x):
        got = largest_stable_lr(x.copy())
        try:
            return float(as_array(got))
        except (TypeError, ValueError):
            raise CheckFailure("largest_stable_lr(x)", "one number", describe(got),
                               f"largest_stable_lr must return one number, got {describe(got)}")

    def compare(x, what):
        got, want = call(x), reference_largest_stable_lr(x)
        if np.isclose(got, want, rtol=1e-4, atol=0):
            return
        y = t.rng.normal(size=len(x)) * np.abs(x).max()
        below, above = descend(x, y, 0.97 * want, 400), descend(x, y, 1.03 * want, 400)
        raise CheckFailure(
            t.label(what), f"{want:.6g}", f"{got:.6g}",
            f"gradient descent from w = b = 0 still converges with lr = {0.97 * want:.4g} "
            f"(loss {below[0]:.3g} at the start, {below[-1]:.3g} after 400 steps) and diverges "
            f"with lr = {1.03 * want:.4g} (loss {above[-1]:.3g} after 400 steps): the limit is "
            f"{want:.6g}, your answer is {got / want:.3g} times that")

    compare(np.array([1.0, 2.0, 3.0, 4.0]), "largest_stable_lr([1, 2, 3, 4])")
    t.passed("largest_stable_lr([1, 2, 3, 4])")
    for (x,) in t.samples(line_inputs, n=8):
        compare(x, "largest_stable_lr(x)")
    t.passed("largest_stable_lr(x) is the limit between converging and diverging gradient "
             "descent, on 8 seeded random inputs (2 to 300 points, any offset and scale)")
