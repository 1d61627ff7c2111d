"""Checks of chapter 2 (linear regression): normalising with training statistics, the
closed-form least-squares baseline, and a complete mini-batch training function.

The training check runs the student's function on **synthetic** data generated here (a known
linear model plus Gaussian noise), never on the California housing data, so it is fast and its
best possible error is known: about the noise level.
"""

from __future__ import annotations

import numpy as np

from tutorlib.grading import CheckFailure, exercise
from tutorlib.grading.compare import as_array, describe

# --- normalize -------------------------------------------------------------------------------------

def reference_normalize(x_train, x_other):
    """Both sets shifted and scaled by the *training* mean and standard deviation per feature."""
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    return (x_train - mean) / std, (x_other - mean) / std


def train_and_other(rng):
    """Features on very different scales; the other set comes from a shifted distribution, so
    normalising it with its own statistics gives a different answer."""
    d = int(rng.integers(2, 6))
    scale = 10.0 ** rng.uniform(-1, 3, size=d)
    offset = rng.normal(size=d) * scale
    x_train = offset + scale * rng.normal(size=(int(rng.integers(20, 60)), d))
    x_other = offset + scale * (0.5 + 2 * rng.normal(size=(int(rng.integers(5, 30)), d)))
    return x_train, x_other


def _pair(result, call, what="a pair"):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(call, what, describe(result),
                           f"expected {what}, got {describe(result)}")
    return result


@exercise("ch02.normalize", points=2, name="normalize",
          title="Normalise with training statistics",
          hint="mean = x_train.mean(axis=0) and std = x_train.std(axis=0) (one value per feature, "
               "from the training set only); return ((x_train - mean) / std, (x_other - mean) / std).")
def check_normalize(normalize, t):
    for x_train, x_other in t.samples(train_and_other, n=5):
        keep_train, keep_other = x_train.copy(), x_other.copy()
        got_train, got_other = _pair(normalize(x_train, x_other), "normalize(x_train, x_other)",
                                     "a pair (normalised x_train, normalised x_other)")
        got_train, got_other = as_array(got_train), as_array(got_other)
        t.close(got_train.shape, x_train.shape, "normalize(...)[0] has the shape of x_train")
        t.close(got_other.shape, x_other.shape, "normalize(...)[1] has the shape of x_other")
        t.close(got_train.mean(axis=0), np.zeros(x_train.shape[1]),
                "every feature (column) of the normalised training set has mean 0", atol=1e-4)
        t.close(got_train.std(axis=0), np.ones(x_train.shape[1]),
                "every feature (column) of the normalised training set has standard deviation 1",
                rtol=1e-3)
        _, want_other = reference_normalize(x_train, x_other)
        own = (x_other - x_other.mean(axis=0)) / x_other.std(axis=0)
        if np.allclose(got_other, own, rtol=1e-3, atol=1e-4):
            raise CheckFailure(t.label("normalize(x_train, x_other)[1]"),
                               "x_other scaled with the training mean and std",
                               "x_other scaled with its own mean and std",
                               "x_other was normalised with its own statistics: use the mean "
                               "and std of x_train for both sets")
        t.close(got_other, want_other, "x_other is normalised with the mean and std of x_train",
                rtol=1e-4, atol=1e-5)
        t.holds(np.array_equal(x_train, keep_train) and np.array_equal(x_other, keep_other),
                "normalize does not modify its inputs")


# --- least squares ------------------------------------------------------------------------------------

def reference_lstsq(x, y):
    a = np.hstack([x, np.ones((len(x), 1))])
    solution, *_ = np.linalg.lstsq(a, y, rcond=None)
    return solution[:-1], solution[-1]


def regression_problem(rng):
    n, d = int(rng.integers(15, 60)), int(rng.integers(1, 6))
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=d)
    y = x @ rng.uniform(-3, 3, size=d) + rng.uniform(-2, 2) + 0.3 * rng.normal(size=n)
    return x, y


@exercise("ch02.lstsq_fit", points=2, name="lstsq_fit", title="The least-squares baseline",
          hint="Append a column of ones to X (np.hstack([X, np.ones((len(X), 1))])), solve with "
               "np.linalg.lstsq(A, y, rcond=None)[0]; the last entry is b, the others are w.")
def check_lstsq_fit(lstsq_fit, t):
    for x, y in t.samples(regression_problem, n=5):
        got_w, got_b = _pair(lstsq_fit(x.copy(), y.copy()), "lstsq_fit(X, y)", "a pair (w, b)")
        want_w, want_b = reference_lstsq(x, y)
        t.close(as_array(got_w).reshape(-1), want_w, "w of lstsq_fit(X, y) on seeded random problems",
                rtol=1e-4, atol=1e-5)
        t.close(float(as_array(got_b)), want_b, "b of lstsq_fit(X, y) on seeded random problems",
                rtol=1e-4, atol=1e-5)


# --- the training function ---------------------------------------------------------------------------

def synthetic_regression_data(rng, n_train=1500, n_val=500, d=4, noise=0.1):
    """SYNTHETIC data for the check (not California housing): features ~ N(0, 1) (already
    normalised), targets = X w_true + b_true + Gaussian noise of standard deviation ``noise``."""
    w_true, b_true = rng.uniform(-2, 2, size=d), rng.uniform(-1, 1)
    x = rng.normal(size=(n_train + n_val, d)).astype(np.float32)
    y = (x @ w_true + b_true + noise * rng.normal(size=n_train + n_val)).astype(np.float32)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _unpack(result, call, epochs):
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise CheckFailure(call, "a triple (w, b, history)", describe(result),
                           f"expected (w, b, history), got {describe(result)}")
    w, b, history = result
    try:
        w, b = as_array(w).astype(np.float64).reshape(-1), float(as_array(b))
    except (TypeError, ValueError):
        raise CheckFailure(call, "w an array, b a number", f"w={describe(w)}, b={describe(b)}",
                           "w must be an array (or tensor) of shape (d,) and b a number")
    if not isinstance(history, dict) or not {"train_loss", "val_mae"} <= set(history):
        raise CheckFailure(call, "history = {'train_loss': [...], 'val_mae': [...]}",
                           describe(history), "history must be a dict with the lists "
                           "'train_loss' and 'val_mae' (one value per epoch)")
    for key in ("train_loss", "val_mae"):
        values = np.asarray([float(as_array(v)) for v in history[key]])
        if len(values) != epochs:
            raise CheckFailure(call, f"{epochs} values in history[{key!r}]", f"{len(values)}",
                               f"history[{key!r}] must have one value per epoch ({epochs}), "
                               f"got {len(values)}")
        history[key] = values
    return w, b, history


@exercise("ch02.train_linear_regression", points=4, name="train_linear_regression",
          title="Train linear regression with mini-batch SGD",
          hint="w = Parameter(F.zeros((d,))), b = Parameter(0.0); a DataLoader over "
               "ArrayDataset(X_train, y_train) with RandomSampler(batch_size=batch_size); each "
               "epoch: for every batch, with gm: loss = F.nn.square_loss(F.matmul(X, w) + b, y); "
               "gm.backward(loss); opt.step().clear_grad(). After the epoch append the mean "
               "batch loss to history['train_loss'] and the MAE on (X_val, y_val) to "
               "history['val_mae'].")
def check_train(train_linear_regression, t):
    x_train, y_train, x_val, y_val = synthetic_regression_data(t.rng)
    n, d = x_train.shape

    # 1. One epoch with one batch of everything is exactly one full-batch gradient step from 0.
    lr = 0.05
    call = (f"train_linear_regression(X_train, y_train, X_val, y_val, lr={lr}, epochs=1, "
            f"batch_size={n}) on synthetic data ({n} training rows, {d} features)")
    w, b, _ = _unpack(train_linear_regression(x_train.copy(), y_train.copy(), x_val.copy(),
                                              y_val.copy(), lr, 1, n), call, 1)
    x64, y64 = x_train.astype(np.float64), y_train.astype(np.float64)
    want_w, want_b = lr * 2 * x64.T @ y64 / n, lr * 2 * y64.mean()
    got, want = np.append(w, b), np.append(want_w, want_b)
    if not np.allclose(got, want, rtol=1e-3, atol=1e-5):
        detail = (f"with one batch holding all rows, one epoch is one gradient step from w = 0, "
                  f"b = 0: expected (w, b) = {np.round(want, 5).tolist()}, got "
                  f"{np.round(got, 5).tolist()}")
        if np.allclose(got, want / lr * 0.01, rtol=1e-3, atol=1e-5):
            detail += " (that is the step with lr=0.01: use the lr argument)"
        elif np.allclose(got, want * n, rtol=1e-3, atol=1e-5):
            detail += " (that is the step on the summed loss: use the mean, F.nn.square_loss)"
        else:
            detail += (" (use the batch_size argument, start from w = 0 and b = 0, and take one "
                       "SGD step per batch)")
        raise CheckFailure(call, describe(want), describe(got), detail)
    t.passed("one epoch with batch_size = all rows is one full-batch gradient step from zero")

    # 2. A real run reaches the least-squares error (the best a linear model can do).
    epochs, lr, batch_size = 12, 0.05, 32
    call = (f"train_linear_regression(..., lr={lr}, epochs={epochs}, batch_size={batch_size}) "
            f"on synthetic data (noise std 0.1)")
    w, b, history = _unpack(train_linear_regression(x_train.copy(), y_train.copy(), x_val.copy(),
                                                    y_val.copy(), lr, epochs, batch_size),
                            call, epochs)
    w_ls, b_ls = reference_lstsq(x64, y64)
    mae_ls = np.mean(np.abs(x_val @ w_ls + b_ls - y_val))
    mae = np.mean(np.abs(x_val @ w + b - y_val))
    t.holds(np.all(np.isfinite(np.append(w, b))), f"{call}: w and b are finite",
            got=np.append(w, b))
    t.close(np.append(w, b), np.append(w_ls, b_ls),
            f"{call}: w and b are close to the least-squares solution", rtol=0, atol=0.02)
    t.holds(mae <= 1.05 * mae_ls + 0.005,
            f"{call}: validation MAE {mae:.4f} is within 5% of least squares ({mae_ls:.4f})",
            got=mae)
    t.close(history["val_mae"][-1], mae,
            f"{call}: history['val_mae'][-1] is the validation MAE of the returned w, b",
            rtol=1e-3, atol=1e-4)
    t.holds(history["train_loss"][-1] < history["train_loss"][0] and
            history["val_mae"][-1] < history["val_mae"][0],
            f"{call}: the training loss and the validation MAE decrease over the epochs",
            got=history)
    t.holds(np.all(history["train_loss"] > 0.5 * 0.01) and np.all(history["train_loss"] < 100),
            f"{call}: history['train_loss'] holds mean squared errors (noise variance 0.01)",
            got=history["train_loss"])
