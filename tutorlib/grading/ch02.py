"""Checks of chapter 2 (linear regression): normalising with training statistics, choosing a
learning rate and a number of epochs on the validation set, and a complete mini-batch training
function.

The training check runs the student's function on **synthetic** data generated here (a known
linear model plus Gaussian noise), never on the California housing data, so it is fast and its
best possible error is known: about the noise level. Answers are called with numpy arrays and
lists and return arrays, numbers, lists and dicts (tensors are converted).

>>> from tutorlib.grading import run_check, get
>>> bool(run_check(get("ch02.normalize"), reference_normalize))
True
>>> own = lambda a, b: (reference_normalize(a, a)[0], reference_normalize(b, b)[0])
>>> bool(run_check(get("ch02.normalize"), own))          # x_other with its own statistics
False
"""

from __future__ import annotations

import numpy as np

from tutorlib.grading import CheckFailure, exercise
from tutorlib.grading.compare import as_array, describe

# --- normalize -------------------------------------------------------------------------------------

def reference_normalize(x_train, x_other, ddof=0):
    """Both sets shifted and scaled by the *training* mean and standard deviation per feature."""
    mean, std = x_train.mean(axis=0), x_train.std(axis=0, ddof=ddof)
    return (x_train - mean) / std, (x_other - mean) / std


def train_and_other(rng):
    """Features on very different scales, 1 to 5 of them; the other set comes from a shifted
    distribution (so normalising it with its own statistics gives a different answer) and has
    1 to 30 rows. Every feature gets its share of huge offsets and scales."""
    d = int(rng.integers(1, 6))
    scale = 10.0 ** rng.uniform(-2, 4, size=d)
    offset = rng.normal(size=d) * scale * 10.0 ** rng.uniform(0, 3, size=d)
    x_train = offset + scale * rng.normal(size=(int(rng.integers(8, 60)), d))
    x_other = offset + scale * (0.5 + 2 * rng.normal(size=(int(rng.integers(1, 30)), d)))
    return x_train, x_other


def _pair(result, call, what="a pair"):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(call, what, describe(result),
                           f"expected {what}, got {describe(result)}")
    return result


@exercise("ch02.normalize", points=2, name="normalize",
          title="Normalise with training statistics",
          hint="One mean and one standard deviation per feature (column), computed from x_train "
               "alone, then applied to both sets; build new arrays instead of changing the "
               "ones you were given (no -= or /= on the inputs).")
def check_normalize(normalize, t):
    for x_train, x_other in t.samples(train_and_other, n=8):
        keep_train, keep_other = x_train.copy(), x_other.copy()
        got_train, got_other = _pair(normalize(x_train, x_other), "normalize(x_train, x_other)",
                                     "a pair (normalised x_train, normalised x_other)")
        got_train, got_other = as_array(got_train), as_array(got_other)
        t.close(got_train.shape, keep_train.shape, "normalize(...)[0] has the shape of x_train")
        t.close(got_other.shape, keep_other.shape, "normalize(...)[1] has the shape of x_other")
        t.holds(np.array_equal(x_train, keep_train) and np.array_equal(x_other, keep_other),
                "normalize leaves x_train and x_other unchanged (it was given them to read, "
                "not to overwrite: compute new arrays instead of x -= mean, x /= std)")
        t.close(got_train.mean(axis=0), np.zeros(keep_train.shape[1]),
                "every feature (column) of the normalised training set has mean 0", atol=1e-4)
        # Population (ddof=0) or sample (ddof=1) standard deviation: the task allows both,
        # as long as the same one scales both sets.
        ddof = min((0, 1), key=lambda k: abs(got_train.std(axis=0, ddof=k) - 1).max())
        t.close(got_train.std(axis=0, ddof=ddof), np.ones(keep_train.shape[1]),
                "every feature (column) of the normalised training set has standard deviation 1",
                rtol=1e-3)
        _, want_other = reference_normalize(keep_train, keep_other, ddof)
        if len(keep_other) > 1:
            own = (keep_other - keep_other.mean(axis=0)) / keep_other.std(axis=0, ddof=ddof)
            if np.allclose(got_other, own, rtol=1e-3, atol=1e-4):
                raise CheckFailure(t.label("normalize(x_train, x_other)[1]"),
                                   "x_other scaled with the training mean and std",
                                   "x_other scaled with its own mean and std",
                                   "x_other was normalised with its own statistics: use the "
                                   "mean and std of x_train for both sets")
        t.close(got_other, want_other, "x_other is normalised with the mean and std of x_train",
                rtol=1e-4, atol=1e-5)


# --- choosing the learning rate and the number of epochs ---------------------------------------

def reference_choose(lrs, train_loss, val_mae):
    """The (lr, epochs) with the smallest finite validation MAE; epochs counts from 1."""
    val = np.asarray(val_mae, np.float64)
    val = np.where(np.isfinite(val), val, np.inf)
    row, col = np.unravel_index(np.argmin(val), val.shape)
    return float(lrs[row]), int(col) + 1


def training_curves(rng):
    """Learning curves of a made-up grid search: for each learning rate the training loss keeps
    falling, the validation MAE falls and then rises (overfitting) from a random epoch on, and
    the largest learning rates diverge (inf, then nan) from a random epoch on."""
    n_lrs, epochs = int(rng.integers(2, 7)), int(rng.integers(2, 16))
    lrs = np.sort(10.0 ** rng.uniform(-4, 0.5, size=n_lrs))
    t_axis = np.arange(1, epochs + 1)
    speed = rng.uniform(0.1, 2.0, size=(n_lrs, 1))
    floor = rng.uniform(0.2, 0.6, size=(n_lrs, 1))
    train = floor * (1 - 0.5 * (1 - np.exp(-speed * t_axis))) + rng.uniform(0, 0.01, (n_lrs, epochs))
    bottom = rng.integers(1, epochs + 1, size=(n_lrs, 1))
    val = floor * 1.1 + 0.02 * (t_axis - bottom) ** 2 / epochs + rng.uniform(0, 0.01, (n_lrs, epochs))
    train -= 0.05 * t_axis / epochs          # training loss: always lowest at the last epoch
    for row in range(n_lrs - int(rng.integers(0, 3)), n_lrs):
        start = int(rng.integers(0, epochs))
        train[row, start:] = val[row, start:] = np.inf
        train[row, start + 1:] = val[row, start + 1:] = np.nan
        val[row, :start] = 10.0 + rng.uniform(size=start)     # far off before it blows up
    return [float(lr) for lr in lrs], train, val


@exercise("ch02.choose_lr_and_epochs", points=2, name="choose_lr_and_epochs",
          title="Choose the learning rate and the epochs on the validation set",
          hint="Which of the two tables is allowed to decide? Look for its smallest entry over "
               "all rows and all columns, skip entries that are not finite numbers (np.argmin "
               "of an array with nan returns the nan), and turn the column index into a number "
               "of epochs.")
def check_choose(choose_lr_and_epochs, t):
    for lrs, train, val in t.samples(training_curves, n=12):
        got = _pair(choose_lr_and_epochs(list(lrs), train.copy(), val.copy()),
                    "choose_lr_and_epochs(lrs, train_loss, val_mae)", "a pair (lr, epochs)")
        try:
            got = (float(as_array(got[0])), float(as_array(got[1])))
        except (TypeError, ValueError):
            raise CheckFailure(t.label("choose_lr_and_epochs(lrs, train_loss, val_mae)"),
                               "two numbers (lr, epochs)", describe(got),
                               "return the learning rate itself and a number of epochs")
        want = reference_choose(lrs, train, val)
        what = ("choose_lr_and_epochs(lrs, train_loss, val_mae) == (lr, epochs) of the smallest "
                "finite validation MAE")
        explain = {reference_choose(lrs, val, train): "the smallest *training* loss: the "
                   "training loss keeps falling however much the model overfits; decide on the "
                   "validation MAE",
                   (want[0], want[1] - 1): "the right entry, but epochs counted from 0: the "
                   "first column is after 1 epoch"}
        row, col = np.unravel_index(np.argmin(val), val.shape)
        if not np.isfinite(val[row, col]):
            explain[(lrs[row], int(col) + 1)] = ("an entry that is nan (a diverged run): np.argmin "
                                                 "returns the position of a nan; skip them")
        if got != want and got in explain:
            raise CheckFailure(t.label(what), f"(lr, epochs) = {want}", f"{got}",
                               f"(lr, epochs) = {got} is {explain[got]}")
        t.close(np.array(got), np.array(want, np.float64), what, rtol=1e-12, atol=0)


# --- the training function ---------------------------------------------------------------------------

def reference_lstsq(x, y):
    """Least-squares w, b (the best a linear model can do on the training MSE)."""
    a = np.hstack([x, np.ones((len(x), 1))])
    solution, *_ = np.linalg.lstsq(a, y, rcond=None)
    return solution[:-1], solution[-1]


def synthetic_regression_data(rng, n_train=1500, n_val=500, d=4, noise=0.1):
    """SYNTHETIC data for the check (not California housing): features ~ N(0, 1) (already
    normalised), targets = X w_true + b_true + Gaussian noise of standard deviation ``noise``."""
    w_true, b_true = rng.uniform(-2, 2, size=d), rng.uniform(-1, 1)
    x = rng.normal(size=(n_train + n_val, d)).astype(np.float32)
    y = (x @ w_true + b_true + noise * rng.normal(size=n_train + n_val)).astype(np.float32)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def full_batch_reference(x, y, x_val, y_val, lr, epochs):
    """Gradient descent with one batch holding all rows: w, b and the history, in float64."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    w, b = np.zeros(x.shape[1]), 0.0
    history = {"train_loss": [], "val_mae": []}
    for _ in range(epochs):
        r = x @ w + b - y
        history["train_loss"].append(np.mean(r * r))
        w, b = w - lr * 2 * x.T @ r / len(x), b - lr * 2 * r.mean()
        history["val_mae"].append(np.mean(np.abs(x_val @ w + b - y_val)))
    return w, b, {key: np.array(values) for key, values in history.items()}


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
    values = {}
    for key in ("train_loss", "val_mae"):
        values[key] = np.asarray([float(as_array(v)) for v in history[key]])
        if len(values[key]) != epochs:
            raise CheckFailure(call, f"{epochs} values in history[{key!r}]",
                               f"{len(values[key])}", f"history[{key!r}] must have one value "
                               f"per epoch ({epochs}), got {len(values[key])}")
    return w, b, values


@exercise("ch02.train_linear_regression", points=4, name="train_linear_regression",
          title="Train linear regression with mini-batch SGD",
          hint="Chapter 2's training loop, wrapped in a function that uses its arguments "
               "(lr, epochs, batch_size) and starts from zero every time it is called. Which "
               "loss is minimised, and which one is only reported? Each history entry is one "
               "number per epoch: for the training loss, the average over that epoch's batches.")
def check_train(train_linear_regression, t):
    x_train, y_train, x_val, y_val = synthetic_regression_data(t.rng)
    n, d = x_train.shape
    x64, y64 = x_train.astype(np.float64), y_train.astype(np.float64)

    def run(lr, epochs, batch_size):
        call = (f"train_linear_regression(X_train, y_train, X_val, y_val, lr={lr}, "
                f"epochs={epochs}, batch_size={batch_size}) on synthetic data ({n} training "
                f"rows, {d} features)")
        result = train_linear_regression(x_train.copy(), y_train.copy(), x_val.copy(),
                                         y_val.copy(), lr, epochs, batch_size)
        return call, *_unpack(result, call, epochs)

    # 1. With one batch holding all rows, training is gradient descent from zero: exact values.
    lr, epochs = 0.05, 3
    call, w, b, history = run(lr, epochs, n)
    want_w, want_b, want = full_batch_reference(x_train, y_train, x_val, y_val, lr, epochs)
    got, expected = np.append(w, b), np.append(want_w, want_b)
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-5):
        detail = (f"with one batch holding all rows, each epoch is one gradient step from w = 0, "
                  f"b = 0: expected (w, b) = {np.round(expected, 5).tolist()}, got "
                  f"{np.round(got, 5).tolist()}")

        def matches(other_lr):
            other = full_batch_reference(x_train, y_train, x_val, y_val, other_lr, epochs)
            return np.allclose(got, np.append(*other[:2]), rtol=1e-3, atol=1e-5)

        if matches(lr * n):
            detail += " (that is gradient descent on the summed loss: use the mean)"
        elif matches(0.01):
            detail += " (that is gradient descent with lr=0.01: use the lr argument)"
        else:
            detail += (" (use the lr, epochs and batch_size arguments, start from w = 0 and "
                       "b = 0, and take one SGD step per batch)")
        raise CheckFailure(call, describe(expected), describe(got), detail)
    t.passed("one batch holding all rows: w and b after 3 epochs equal 3 steps of gradient "
             "descent from zero")
    t.close(history["train_loss"], want["train_loss"],
            f"{call}: history['train_loss'] holds the mean squared error of each epoch (the "
            f"loss that was minimised, computed before the step)", rtol=1e-3, atol=1e-6)
    t.close(history["val_mae"], want["val_mae"],
            f"{call}: history['val_mae'] holds the mean absolute error on (X_val, y_val) after "
            f"each epoch", rtol=1e-3, atol=1e-6)

    # 2. lr = 0: nothing moves, so every batch loss is the MSE of w = 0, b = 0 on its batch and
    #    the epoch's mean over 5 equal batches is mean(y_train ** 2), whatever the order.
    call, w, b, history = run(0.0, 2, n // 5)
    t.close(np.append(w, b), np.zeros(d + 1), f"{call}: with lr=0 nothing moves", atol=1e-7)
    t.close(history["train_loss"], np.full(2, np.mean(y64 ** 2)),
            f"{call}: history['train_loss'] is the mean of the epoch's 5 batch losses "
            f"(= mean(y_train ** 2) when the model predicts 0)", rtol=1e-4, atol=1e-7)

    # 3. A real run reaches the least-squares error (the best a linear model can do).
    epochs, lr, batch_size = 12, 0.05, 32
    call, w, b, history = run(lr, epochs, batch_size)
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
    t.holds(history["train_loss"][-1] < history["train_loss"][0],
            f"{call}: the training loss decreases over the epochs", got=history["train_loss"])
    t.holds(np.all(history["train_loss"] > 0.5 * 0.01) and np.all(history["train_loss"] < 100),
            f"{call}: history['train_loss'] holds mean squared errors (noise variance 0.01)",
            got=history["train_loss"])
