"""The checks of chapters 0-3 reject plausible wrong answers and accept correct alternatives.

For every exercise: at least 3 MUTANTS (a realistic mistake each) that its check must fail, and
at least one ALTERNATIVE (another formulation, dtype, ddof, or tutorlib instead of numpy) that it
must pass. Answers are plain functions of plain data, as the grader will call them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from answers import Answers

from tutorlib.grading import get, run_check
from tutorlib.grading.registry import chapter_exercises

ANSWERS = Answers()
MUTANTS, ALTERNATIVES = ANSWERS.mutants, ANSWERS.alternatives
mutant, alternative = ANSWERS.mutant, ANSWERS.alternative


def stable_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- ch00 ------------------------------------------------------------------------------------------

@alternative("ch00.count_parameters", "sum of a.size")
def _(state):
    return sum(a.size for a in state.values())


@alternative("ch00.count_parameters", "product of each shape")
def _(state):
    return sum(math.prod(a.shape) for a in state.values())


@mutant("ch00.count_parameters", "number of arrays", "count_parameters(LeNet().state_dict())")
def _(state):
    return len(state)


@mutant("ch00.count_parameters", "first axis only")
def _(state):
    return sum(len(a) for a in state.values())


@mutant("ch00.count_parameters", "weights only, biases forgotten")
def _(state):
    return sum(a.size for name, a in state.items() if name.endswith("weight"))


@mutant("ch00.count_parameters", "sum of the values")
def _(state):
    return float(sum(a.sum() for a in state.values()))


def lenet_count(side, bias=True):
    b = 1 if bias else 0
    return (6 * 25 + 6 * b) + (16 * 6 * 25 + 16 * b) + (16 * side * side * 120 + 120 * b) \
        + (120 * 84 + 84 * b) + (84 * 10 + 10 * b)


@alternative("ch00.lenet_n_params", "shapes layer by layer")
def _(image_size):
    shape = (1, image_size, image_size)
    total = 0
    for out_channels in (6, 16):
        total += out_channels * shape[0] * 5 * 5 + out_channels
        side = (shape[1] - 5 + 1) // 2
        shape = (out_channels, side, side)
    features = math.prod(shape)
    for n_out in (120, 84, 10):
        total += features * n_out + n_out
        features = n_out
    return total


@alternative("ch00.lenet_n_params", "built with tutorlib")
def _(image_size):
    import tutorlib.module as M
    side = ((image_size - 4) // 2 - 4) // 2
    layers = [M.Conv2d(1, 6, 5), M.Conv2d(6, 16, 5), M.Linear(16 * side * side, 120),
              M.Linear(120, 84), M.Linear(84, 10)]
    return sum(p.size for layer in layers for p in layer.parameters())


@mutant("ch00.lenet_n_params", "always the 32x32 count", "lenet_n_params(28)")
def _(image_size):
    return 61706


@mutant("ch00.lenet_n_params", "pooling rounds up")
def _(image_size):
    return lenet_count(math.ceil((math.ceil((image_size - 4) / 2) - 4) / 2))


@mutant("ch00.lenet_n_params", "convolutions keep the size (padding)")
def _(image_size):
    return lenet_count(image_size // 4)


@mutant("ch00.lenet_n_params", "biases forgotten")
def _(image_size):
    return lenet_count(((image_size - 4) // 2 - 4) // 2, bias=False)


@mutant("ch00.lenet_n_params", "5x5 convolution loses 5 pixels")
def _(image_size):
    return lenet_count(((image_size - 5) // 2 - 5) // 2)


# --- ch01 ------------------------------------------------------------------------------------------

@alternative("ch01.square_loss", "sum / size")
def _(pred, target):
    return ((pred - target) ** 2).sum() / np.size(pred)


@alternative("ch01.square_loss", "tutorlib float32")
def _(pred, target):
    import tutorlib as tl
    import tutorlib.functional as F
    return F.nn.square_loss(tl.Tensor(pred), tl.Tensor(target)).item()


@mutant("ch01.square_loss", "sum instead of mean", "MegEngine's docs")
def _(pred, target):
    return float(np.sum((pred - target) ** 2))


@mutant("ch01.square_loss", "factor 1/2")
def _(pred, target):
    return 0.5 * float(np.mean((pred - target) ** 2))


@mutant("ch01.square_loss", "mean over axis 0 only")
def _(pred, target):
    return np.mean((pred - target) ** 2, axis=0)


@mutant("ch01.square_loss", "square of the mean error")
def _(pred, target):
    return float(np.mean(pred - target) ** 2)


@mutant("ch01.square_loss", "divides by the number of rows")
def _(pred, target):
    return float(np.sum((pred - target) ** 2) / (len(pred) if np.ndim(pred) else 1))


@alternative("ch01.square_loss_grad", "2 (p - t) / prod(shape)")
def _(pred, target):
    return 2 * (pred - target) / math.prod(np.shape(pred))


@alternative("ch01.square_loss_grad", "tutorlib autodiff")
def _(pred, target):
    import tutorlib as tl
    import tutorlib.functional as F
    from tutorlib.autodiff import GradManager
    p = tl.Parameter(np.asarray(pred, np.float64))
    with GradManager().attach([p]) as gm:
        gm.backward(F.nn.square_loss(p, tl.Tensor(np.asarray(target, np.float64))))
    return p.grad.numpy().astype(np.float64)


@mutant("ch01.square_loss_grad", "divides by len (rows)", "2-D")
def _(pred, target):
    return 2 * (pred - target) / (len(pred) if np.ndim(pred) else 1)


@mutant("ch01.square_loss_grad", "forgets the factor 2")
def _(pred, target):
    return (pred - target) / pred.size


@mutant("ch01.square_loss_grad", "wrong sign")
def _(pred, target):
    return 2 * (target - pred) / pred.size


@mutant("ch01.square_loss_grad", "forgets the 1/n")
def _(pred, target):
    return 2 * (pred - target)


@alternative("ch01.pairwise_sq_dists", "|a|^2 + |b|^2 - 2 a.b")
def _(a, b):
    return (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T


@alternative("ch01.pairwise_sq_dists", "expand_dims in tutorlib")
def _(a, b):
    import tutorlib as tl
    import tutorlib.functional as F
    diff = F.expand_dims(tl.Tensor(a), 1) - F.expand_dims(tl.Tensor(b), 0)
    return (diff ** 2).sum(axis=2)


@mutant("ch01.pairwise_sq_dists", "distances, not squared")
def _(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


@mutant("ch01.pairwise_sq_dists", "sums over the wrong axis")
def _(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(0)


@mutant("ch01.pairwise_sq_dists", "only the dot products")
def _(a, b):
    return a @ b.T


@mutant("ch01.pairwise_sq_dists", "sum of absolute differences")
def _(a, b):
    return np.abs(a[:, None, :] - b[None, :, :]).sum(-1)


def line_hessian(x):
    return 2 / len(x) * np.array([[np.sum(x * x), np.sum(x)], [np.sum(x), len(x)]])


@alternative("ch01.largest_stable_lr", "closed-form eigenvalue of a 2x2 matrix")
def _(x):
    (a, b), (_, c) = line_hessian(np.asarray(x, np.float64))
    return 2 / ((a + c) / 2 + math.sqrt(((a - c) / 2) ** 2 + b * b))


@alternative("ch01.largest_stable_lr", "largest singular value of [x, 1]")
def _(x):
    design = np.stack([x, np.ones_like(x)], axis=1)
    return 2 / (2 / len(x) * np.linalg.svd(design, compute_uv=False)[0] ** 2)


@mutant("ch01.largest_stable_lr", "1 / lambda_max", "times that")
def _(x):
    return 1 / np.linalg.eigvalsh(line_hessian(x)).max()


@mutant("ch01.largest_stable_lr", "w alone, b ignored")
def _(x):
    return 2 / (2 * np.mean(x * x))


@mutant("ch01.largest_stable_lr", "Hessian without the factor 2")
def _(x):
    return 2 / np.linalg.eigvalsh(line_hessian(x) / 2).max()


@mutant("ch01.largest_stable_lr", "smallest eigenvalue")
def _(x):
    return 2 / np.linalg.eigvalsh(line_hessian(x)).min()


@mutant("ch01.largest_stable_lr", "diagonal of the Hessian only")
def _(x):
    return 2 / np.diag(line_hessian(x)).max()


@mutant("ch01.largest_stable_lr", "trace instead of the eigenvalue")
def _(x):
    return 2 / np.trace(line_hessian(x))


# --- ch02 ------------------------------------------------------------------------------------------

@alternative("ch02.normalize", "sample std (ddof=1)")
def _(x_train, x_other):
    mean, std = x_train.mean(axis=0), x_train.std(axis=0, ddof=1)
    return (x_train - mean) / std, (x_other - mean) / std


@alternative("ch02.normalize", "float32 result")
def _(x_train, x_other):
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    return ((x_train - mean) / std).astype(np.float32), ((x_other - mean) / std).astype(np.float32)


@alternative("ch02.normalize", "tutorlib T.Normalize")
def _(x_train, x_other):
    import tutorlib.data.transform as T
    normalize = T.Normalize(mean=x_train.mean(axis=0), std=x_train.std(axis=0))
    return normalize.apply(x_train), normalize.apply(x_other)


@mutant("ch02.normalize", "x_other with its own statistics", "its own statistics")
def _(x_train, x_other):
    return ((x_train - x_train.mean(0)) / x_train.std(0),
            (x_other - x_other.mean(0)) / x_other.std(0))


@mutant("ch02.normalize", "one std for all features")
def _(x_train, x_other):
    mean, std = x_train.mean(axis=0), x_train.std()
    return (x_train - mean) / std, (x_other - mean) / std


@mutant("ch02.normalize", "statistics per row")
def _(x_train, x_other):
    return ((x_train - x_train.mean(1, keepdims=True)) / x_train.std(1, keepdims=True),
            (x_other - x_other.mean(1, keepdims=True)) / x_other.std(1, keepdims=True))


@mutant("ch02.normalize", "in place", "leaves x_train and x_other unchanged")
def _(x_train, x_other):
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train -= mean
    x_train /= std
    return x_train, (x_other - mean) / std


@mutant("ch02.normalize", "divides by the variance")
def _(x_train, x_other):
    mean, var = x_train.mean(axis=0), x_train.var(axis=0)
    return (x_train - mean) / var, (x_other - mean) / var


@mutant("ch02.normalize", "ddof=0 for x_train, ddof=1 for x_other",
        "normalised with the mean and std of x_train")
def _(x_train, x_other):
    mean = x_train.mean(axis=0)
    return (x_train - mean) / x_train.std(0), (x_other - mean) / x_train.std(0, ddof=1)


def _grid(val_mae):
    val = np.asarray(val_mae, np.float64)
    return np.where(np.isfinite(val), val, np.inf)


@alternative("ch02.choose_lr_and_epochs", "loops")
def _(lrs, train_loss, val_mae):
    best = (math.inf, None, None)
    for lr, row in zip(lrs, val_mae):
        for epoch, value in enumerate(row, start=1):
            if math.isfinite(value) and value < best[0]:
                best = (value, lr, epoch)
    return best[1], best[2]


@alternative("ch02.choose_lr_and_epochs", "nanargmin")
def _(lrs, train_loss, val_mae):
    val = np.where(np.isinf(val_mae), np.nan, val_mae)
    row, col = np.unravel_index(np.nanargmin(val), val.shape)
    return lrs[row], col + 1


@mutant("ch02.choose_lr_and_epochs", "chosen by the training loss", "*training* loss")
def _(lrs, train_loss, val_mae):
    row, col = np.unravel_index(np.argmin(_grid(train_loss)), np.shape(train_loss))
    return lrs[row], col + 1


@mutant("ch02.choose_lr_and_epochs", "argmin picks the nan", "that is nan")
def _(lrs, train_loss, val_mae):
    row, col = np.unravel_index(np.argmin(val_mae), np.shape(val_mae))
    return lrs[row], col + 1


@mutant("ch02.choose_lr_and_epochs", "epochs counted from 0", "counted from 0")
def _(lrs, train_loss, val_mae):
    row, col = np.unravel_index(np.argmin(_grid(val_mae)), np.shape(val_mae))
    return lrs[row], col


@mutant("ch02.choose_lr_and_epochs", "only the last epoch compared")
def _(lrs, train_loss, val_mae):
    last = _grid(val_mae)[:, -1]
    return lrs[int(np.argmin(last))], np.shape(val_mae)[1]


@mutant("ch02.choose_lr_and_epochs", "returns the index of the learning rate")
def _(lrs, train_loss, val_mae):
    row, col = np.unravel_index(np.argmin(_grid(val_mae)), np.shape(val_mae))
    return row, col + 1


def numpy_trainer(record="mean", loss="mse", val="mae", val_on="val", reduction="mean",
                  full_batch=False, val_before=False, loss_after=False, seed=0):
    """A numpy version of the training function; the keywords switch in one mistake each."""
    def train(X, y, X_val, y_val, lr, epochs, batch_size, progress=False):
        X, y = X.astype(np.float64), y.astype(np.float64)
        rng = np.random.default_rng(seed)
        w, b = np.zeros(X.shape[1]), 0.0
        history = {"train_loss": [], "val_mae": []}
        size = len(X) if full_batch else batch_size
        for _ in range(epochs):
            order, losses = rng.permutation(len(X)), []
            xs, ys = (X_val, y_val) if val_on == "val" else (X, y)
            err_before = xs @ w + b - ys
            for start in range(0, len(X), size):
                idx = order[start:start + size]
                r = X[idx] @ w + b - y[idx]
                scale = 2 / len(idx) if reduction == "mean" else 2.0
                w, b = w - lr * scale * X[idx].T @ r, b - lr * scale * r.sum()
                if loss_after:
                    r = X[idx] @ w + b - y[idx]
                losses.append(np.mean(r * r) if loss == "mse" else np.mean(np.abs(r)))
            history["train_loss"].append({"mean": np.mean, "last": lambda v: v[-1],
                                          "sum": np.sum}[record](losses))
            err = err_before if val_before else xs @ w + b - ys
            history["val_mae"].append(np.mean(np.abs(err)) if val == "mae" else np.mean(err ** 2))
        return w, b, history
    return train


ALTERNATIVES.setdefault("ch02.train_linear_regression", {})["numpy, float64"] = numpy_trainer()


@alternative("ch02.train_linear_regression", "tutorlib, as in the lesson")
def _(X_train, y_train, X_val, y_val, lr, epochs, batch_size, progress=False):
    import tutorlib as tl
    import tutorlib.functional as F
    import tutorlib.optimizer as optim
    from tutorlib import data
    from tutorlib.autodiff import GradManager
    w, b = tl.Parameter(F.zeros((X_train.shape[1],))), tl.Parameter(0.0)
    gm, opt = GradManager().attach([w, b]), optim.SGD([w, b], lr=lr)
    train_set = data.ArrayDataset(X_train, y_train)
    loader = data.DataLoader(train_set, sampler=data.RandomSampler(train_set, batch_size, seed=1))
    history = {"train_loss": [], "val_mae": []}
    for _ in range(epochs):
        losses = []
        for xb, yb in loader:
            with gm:
                loss = F.nn.square_loss(F.matmul(tl.Tensor(xb), w) + b, tl.Tensor(yb))
                gm.backward(loss)
                opt.step().clear_grad()
            losses.append(loss.item())
        history["train_loss"].append(np.mean(losses))
        history["val_mae"].append(F.nn.l1_loss(F.matmul(tl.Tensor(X_val), w) + b,
                                               tl.Tensor(y_val)).item())
    return w.numpy(), b, history


for name, kwargs, feedback in [
        ("MAE stored as the training loss", {"loss": "mae"}, "history['train_loss'] holds the mean squared error"),
        ("last batch loss as the epoch's loss", {"record": "last"}, "mean of the epoch's 5 batch losses"),
        ("sum of the batch losses", {"record": "sum"}, None),
        ("validation MSE stored as val_mae", {"val": "mse"}, "history['val_mae']"),
        ("val_mae measured on the training set", {"val_on": "train"}, "history['val_mae']"),
        ("gradient of the summed loss", {"reduction": "sum"}, "summed loss"),
        ("batch_size ignored (full batch)", {"full_batch": True}, None),
        ("val_mae measured before the epoch's steps", {"val_before": True}, "history['val_mae']"),
        ("batch loss measured after its step", {"loss_after": True}, "history['train_loss']")]:
    MUTANTS.setdefault("ch02.train_linear_regression", {})[name] = (numpy_trainer(**kwargs),
                                                                   feedback)


# --- ch03 ------------------------------------------------------------------------------------------

def log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


@alternative("ch03.binary_logit", "np.diff, float32")
def _(logits):
    return np.diff(logits.astype(np.float32), axis=1)[:, 0]


@alternative("ch03.binary_logit", "difference of log-softmax")
def _(logits):
    log_p = log_softmax(logits)
    return log_p[:, 1] - log_p[:, 0]


@mutant("ch03.binary_logit", "second logit only")
def _(logits):
    return logits[:, 1]


@mutant("ch03.binary_logit", "wrong sign")
def _(logits):
    return logits[:, 0] - logits[:, 1]


@mutant("ch03.binary_logit", "log of the probability ratio", "finite")
def _(logits):
    p = stable_softmax(logits)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p[:, 1] / p[:, 0])


@mutant("ch03.binary_logit", "the probability, not the logit")
def _(logits):
    return stable_softmax(logits)[:, 1]


@mutant("ch03.binary_logit", "sum of the logits")
def _(logits):
    return logits.sum(axis=1)


@alternative("ch03.cross_entropy", "np.logaddexp.reduce")
def _(logits, targets):
    log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    return -np.mean(np.sum(targets * log_p, axis=1))


@alternative("ch03.cross_entropy", "float32")
def _(logits, targets):
    log_p = log_softmax(logits.astype(np.float32))
    return -(targets.astype(np.float32) * log_p).sum(axis=1).mean()


@mutant("ch03.cross_entropy", "log of softmax", "cross_entropy(logits, targets)")
def _(logits, targets):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-(targets * np.log(stable_softmax(logits))).sum(axis=1).mean())


@mutant("ch03.cross_entropy", "one maximum for the whole array")
def _(logits, targets):
    m = logits.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
        return float(-(targets * log_p).sum(axis=1).mean())


@mutant("ch03.cross_entropy", "sum over the rows instead of the mean")
def _(logits, targets):
    return float(-(targets * log_softmax(logits)).sum())


@mutant("ch03.cross_entropy", "mean over all N*K entries")
def _(logits, targets):
    return float(-(targets * log_softmax(logits)).mean())


@mutant("ch03.cross_entropy", "argmax of the targets as integer labels")
def _(logits, targets):
    labels = targets.argmax(axis=1)
    return float(-log_softmax(logits)[np.arange(len(labels)), labels].mean())


@mutant("ch03.cross_entropy", "minus sign forgotten")
def _(logits, targets):
    return float((targets * log_softmax(logits)).sum(axis=1).mean())


def numpy_classifier(divide_by="len", rng_per_epoch=False, drop_last=False, shuffle=True,
                     bias="sum"):
    def train(X, y, num_classes, lr=0.1, epochs=5, batch_size=64, seed=0):
        rng = np.random.default_rng(seed)
        W, b = np.zeros((X.shape[1], num_classes)), np.zeros(num_classes)
        for _ in range(epochs):
            if rng_per_epoch:
                rng = np.random.default_rng(seed)
            order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
            for start in range(0, len(X), batch_size):
                idx = order[start:start + batch_size]
                if drop_last and len(idx) < batch_size:
                    break
                G = stable_softmax(X[idx] @ W + b)
                G[np.arange(len(idx)), y[idx]] -= 1
                G /= len(idx) if divide_by == "len" else batch_size
                W -= lr * X[idx].T @ G
                b -= lr * (G.sum(axis=0) if bias == "sum" else G.mean(axis=0))
        return W, b
    return train


ALTERNATIVES.setdefault("ch03.train_linear_classifier", {})["numpy, in place"] = numpy_classifier()


@alternative("ch03.train_linear_classifier", "one-hot matrix, float32 weights")
def _(X, y, num_classes, lr=0.1, epochs=5, batch_size=64, seed=0):
    rng = np.random.default_rng(seed)
    W = np.zeros((X.shape[1], num_classes), np.float32)
    b = np.zeros(num_classes, np.float32)
    Y = np.eye(num_classes)[y]
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for batch in np.array_split(order, range(batch_size, len(X), batch_size)):
            G = (stable_softmax(X[batch] @ W + b) - Y[batch]) / len(batch)
            W, b = W - lr * (X[batch].T @ G).astype(np.float32), b - lr * G.sum(0).astype(np.float32)
    return W, b


@alternative("ch03.train_linear_classifier", "tutorlib autodiff")
def _(X, y, num_classes, lr=0.1, epochs=5, batch_size=64, seed=0):
    import tutorlib as tl
    import tutorlib.functional as F
    import tutorlib.optimizer as optim
    from tutorlib.autodiff import GradManager
    rng = np.random.default_rng(seed)
    W, b = tl.Parameter(F.zeros((X.shape[1], num_classes))), tl.Parameter(F.zeros((num_classes,)))
    gm, opt = GradManager().attach([W, b]), optim.SGD([W, b], lr=lr)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            with gm:
                loss = F.nn.cross_entropy(F.matmul(tl.Tensor(X[idx]), W) + b, tl.Tensor(y[idx]))
                gm.backward(loss)
                opt.step().clear_grad()
    return W.numpy(), b.numpy()


for name, kwargs, feedback in [
        ("divides by batch_size instead of len(yb)", {"divide_by": "batch_size"}, "len(yb)"),
        ("a new generator every epoch", {"rng_per_epoch": True}, "create rng once"),
        ("last, smaller batch dropped", {"drop_last": True}, "last, smaller batch skipped"),
        ("no shuffling", {"shuffle": False}, None),
        ("bias gradient averaged instead of summed", {"bias": "mean"}, "full-batch")]:
    MUTANTS.setdefault("ch03.train_linear_classifier", {})[name] = (numpy_classifier(**kwargs),
                                                                    feedback)


# --- the tests -------------------------------------------------------------------------------------

CHAPTERS = ["ch00", "ch01", "ch02", "ch03"]
EXERCISES = [ex.id for chapter in CHAPTERS for ex in chapter_exercises(chapter)]


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_every_exercise_has_three_mutants_and_an_alternative(exercise_id):
    assert len(MUTANTS.get(exercise_id, {})) >= 3, exercise_id
    assert len(ALTERNATIVES.get(exercise_id, {})) >= 1, exercise_id


@pytest.mark.parametrize("exercise_id, name", [(ex, name) for ex in EXERCISES
                                               for name in ALTERNATIVES.get(ex, {})])
def test_correct_alternative_passes(exercise_id, name):
    result = run_check(get(exercise_id), ALTERNATIVES[exercise_id][name])
    assert result.status == "passed", result


@pytest.mark.parametrize("exercise_id, name", [(ex, name) for ex in EXERCISES
                                               for name in MUTANTS.get(ex, {})])
def test_mutant_fails(exercise_id, name):
    answer, feedback = MUTANTS[exercise_id][name]
    result = run_check(get(exercise_id), answer)
    assert result.status == "failed", result
    if feedback:
        assert feedback in result.feedback, result
