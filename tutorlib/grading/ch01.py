"""Checks of chapter 1 (framework basics): the square loss and its gradient, pairwise distances
with broadcasting, and a fit-a-line training loop with GradManager + SGD.

Every check draws its inputs from ``t.rng`` (seeded by the exercise id), compares with a
reference written in plain numpy (float64) and, for the training loop, recognises the usual
mistakes (gradients not cleared, a summed loss, lr or epochs ignored) to say what went wrong.
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
    """A prediction and a target of the same random shape (1-D or 2-D)."""
    shape = tuple(rng.integers(1, 7, size=rng.integers(1, 3)))
    return rng.normal(size=shape), rng.normal(size=shape)


@exercise("ch01.square_loss", points=2, name="square_loss", title="The square loss",
          hint="Subtract, square every entry, then average over *all* entries (np.mean, or "
               ".mean() of a tensor); there is no factor 1/2. Return a single number.")
def check_square_loss(square_loss, t):
    t.close(square_loss(np.array([3.0, 3.0, 3.0, 3.0]), np.array([2.0, 8.0, 6.0, 1.0])), 9.75,
            "square_loss([3, 3, 3, 3], [2, 8, 6, 1]) (the example from MegEngine's docs)",
            rtol=1e-5)
    t.close(square_loss(np.array([1.0, -2.0]), np.array([1.0, -2.0])), 0.0,
            "square_loss(y, y) is 0", atol=1e-7)
    t.against_reference(square_loss, reference_square_loss, pred_and_target,
                        what="square_loss(pred, target)", rtol=1e-5, atol=1e-6)


@exercise("ch01.square_loss_grad", points=2, name="square_loss_grad",
          title="The gradient of the square loss",
          hint="d/d pred_i of mean((pred - target)^2) is 2 (pred_i - target_i) / n, where n is "
               "the number of entries of pred (pred.size). The result has the shape of pred.")
def check_square_loss_grad(square_loss_grad, t):
    pred, target = np.array([3.0, 3.0, 3.0, 3.0]), np.array([2.0, 8.0, 6.0, 1.0])
    t.close(square_loss_grad(pred, target), np.array([0.5, -2.5, -1.5, 1.0]),
            "square_loss_grad([3, 3, 3, 3], [2, 8, 6, 1])", rtol=1e-5)
    t.gradient(square_loss_grad, reference_square_loss, pred_and_target,
               what="square_loss_grad(pred, target)", n=4, rtol=1e-4, atol=1e-6)


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
          hint="a[:, None, :] has shape (n, 1, d) and b[None, :, :] has shape (1, m, d); their "
               "difference broadcasts to (n, m, d). Square it and sum over the last axis.")
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


# --- fit a line -----------------------------------------------------------------------------------

def gradient_descent_line(x, y, lr, epochs, *, clear=True, reduction="mean"):
    """Reference: full-batch gradient descent on square_loss(w*x + b, y) from w = b = 0.

    ``clear=False`` and ``reduction="sum"`` reproduce two common mistakes, so a wrong answer can
    be recognised and explained.
    """
    w = b = 0.0
    gw = gb = 0.0
    scale = 1.0 / len(x) if reduction == "mean" else 1.0
    for _ in range(epochs):
        r = w * x + b - y
        new_gw, new_gb = 2 * scale * np.sum(r * x), 2 * scale * np.sum(r)
        gw, gb = (new_gw, new_gb) if clear else (gw + new_gw, gb + new_gb)
        w, b = w - lr * gw, b - lr * gb
    return w, b


def line_data(rng, n=80, spread=10.0):
    """Synthetic data for the check: y = w x + b + noise with a random true line."""
    w_true, b_true = rng.uniform(-4, 4), rng.uniform(-3, 3)
    x = rng.uniform(-spread, spread, size=n)
    y = w_true * x + b_true + rng.uniform(-1, 1, size=n)
    return x, y


def _as_pair(result, call):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(call, "a pair (w, b)", describe(result),
                           f"expected fit_line to return a pair (w, b), got {describe(result)}")
    try:
        return float(as_array(result[0])), float(as_array(result[1]))
    except (TypeError, ValueError):
        raise CheckFailure(call, "two numbers", describe(result),
                           f"w and b must be numbers (or one-element tensors), got {describe(result)}")


def _compare_run(fit_line, t, x, y, lr, epochs):
    call = f"fit_line(x, y, lr={lr}, epochs={epochs}) on {len(x)} synthetic points"
    got = _as_pair(fit_line(x.copy(), y.copy(), lr, epochs), call)
    want = gradient_descent_line(x, y, lr, epochs)
    tol = {"rtol": 2e-4, "atol": 2e-4}
    if np.allclose(got, want, **tol):
        t.passed(f"{call} gives the same w, b as gradient descent")
        return
    mistakes = {
        "gradient descent without clearing the gradients (call opt.step().clear_grad() in "
        "every epoch)": gradient_descent_line(x, y, lr, epochs, clear=False),
        "gradient descent on the *summed* loss (use F.nn.square_loss, which averages)":
            gradient_descent_line(x, y, lr, epochs, reduction="sum"),
        "one single step (loop over all the epochs)": gradient_descent_line(x, y, lr, 1),
        "gradient descent with lr=0.01 (use the lr argument)":
            gradient_descent_line(x, y, 0.01, epochs),
        "gradient descent for 5 epochs (use the epochs argument)":
            gradient_descent_line(x, y, lr, 5),
    }
    detail = f"expected w={want[0]:.6g}, b={want[1]:.6g}; got w={got[0]:.6g}, b={got[1]:.6g}"
    for name, value in mistakes.items():
        if np.allclose(got, value, **tol):
            detail += f"; your numbers match {name}"
            break
    raise CheckFailure(call, f"w={want[0]:.6g}, b={want[1]:.6g}",
                       f"w={got[0]:.6g}, b={got[1]:.6g}", detail)


@exercise("ch01.fit_line", points=3, name="fit_line", title="Fit a line with GradManager + SGD",
          hint="w, b = Parameter(0.0), Parameter(0.0); gm = GradManager().attach([w, b]); "
               "opt = optim.SGD([w, b], lr=lr); then `epochs` times: with gm: loss = "
               "F.nn.square_loss(w * x + b, y); gm.backward(loss); opt.step().clear_grad(). "
               "Return (w.item(), b.item()).")
def check_fit_line(fit_line, t):
    x, y = line_data(t.rng)
    x_small, y_small = line_data(t.rng, spread=2.0)
    for lr, epochs in [(0.01, 1), (0.01, 5), (0.003, 7), (0.05, 3)]:
        data = (x_small, y_small) if lr == 0.05 else (x, y)
        _compare_run(fit_line, t, *data, lr, epochs)
    # Enough epochs reach the least-squares line.
    w_ls, b_ls = np.polyfit(x_small, y_small, deg=1)
    got = _as_pair(fit_line(x_small.copy(), y_small.copy(), 0.1, 300), "fit_line(lr=0.1, epochs=300)")
    t.close(np.array(got), np.array([w_ls, b_ls]),
            "fit_line(x, y, lr=0.1, epochs=300) reaches the least-squares line (np.polyfit)",
            rtol=1e-3, atol=1e-3)
