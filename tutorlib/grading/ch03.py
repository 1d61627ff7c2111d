"""Checks of chapter 3, linear classification: the sigmoid as a 2-class softmax, cross-entropy
with probability targets, and a linear classifier trained with mini-batch SGD.

The students write plain numpy functions (``solutions/ch03-linear-classification.ipynb``):

* ``binary_logit(logits)``: for 2-class logits (N, 2), the one number z per row with
  ``sigmoid(z) == softmax(logits)[:, 1]``;
* ``cross_entropy(logits, targets)``: mean cross-entropy from logits (N, K) and target
  probabilities (N, K) (one-hot rows, or smoothed ones), stable for logits as large as +-1000;
* ``train_linear_classifier(X, y, num_classes, lr, epochs, batch_size, seed)``: mini-batch SGD
  for ``logits = X @ W + b`` from zeros, returning ``(W, b)``.

Every answer is called with numpy arrays and numbers and returns arrays or numbers.

>>> from tutorlib.grading import run_check, get
>>> bool(run_check(get("ch03.cross_entropy"), _reference_cross_entropy))
True
>>> def naive(z, t):            # log(softmax): 0 * log(0) = nan for large logits
...     p = np.exp(z - z.max(1, keepdims=True))
...     return -(t * np.log(p / p.sum(1, keepdims=True))).sum(1).mean()
>>> with np.errstate(divide="ignore", invalid="ignore"):
...     bool(run_check(get("ch03.cross_entropy"), naive))
False
"""

from __future__ import annotations

import numpy as np

from tutorlib.grading import CheckFailure, exercise
from tutorlib.grading.compare import as_array, describe


def _reference_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def _reference_cross_entropy(logits, targets):
    return float(-(targets * _log_softmax(logits)).sum(axis=1).mean())


def _one_hot(labels, k):
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def _logits(rng, k=None):
    """Logits (N, K) on a random scale; some rows get a huge logit (+-1000) in a random
    column, some are shifted by +-1000 as a whole, so extremes appear in every position."""
    n = int(rng.integers(1, 8))
    k = k or int(rng.integers(2, 11))
    z = rng.normal(0.0, float(rng.choice([0.1, 1.0, 10.0])), size=(n, k))
    for row in range(n):
        kind = rng.integers(0, 4)
        if kind == 1:
            z[row, rng.integers(0, k)] = rng.choice([-1000.0, 1000.0])
        elif kind == 2:
            z[row] += rng.choice([-1000.0, 1000.0])
    return z


# --- the sigmoid is a 2-class softmax ------------------------------------------------------------

def _reference_binary_logit(logits):
    return logits[:, 1] - logits[:, 0]


@exercise("ch03.binary_logit", points=2, name="binary_logit",
          title="The sigmoid is a 2-class softmax",
          hint="Write softmax(z)_1 for z = (z0, z1) and divide numerator and denominator by "
               "e^(z1): it takes the form 1 / (1 + e^(-something)). That something is the answer, "
               "and it never needs an exp.")
def check_binary_logit(binary_logit, t):
    for (z,) in t.samples(lambda rng: (_logits(rng, k=2),), n=10):
        got = as_array(binary_logit(z.copy()))
        t.close(got.shape, (len(z),), "binary_logit(logits) has one number per row, shape (N,)")
        t.holds(np.all(np.isfinite(got)), "binary_logit(logits) is finite, even for logits "
                "near +-1000", got=got)
        t.close(got, _reference_binary_logit(z), "sigmoid(binary_logit(logits)) == "
                "softmax(logits)[:, 1] (compared as logits, so also where the probabilities "
                "round to 0 or 1)", rtol=1e-6, atol=2e-4)


# --- cross-entropy with probability targets -----------------------------------------------------

def _targets(rng, k, n):
    """Target rows: one-hot, smoothed one-hot (label smoothing) or any probability vector."""
    kind = rng.integers(0, 3)
    if kind == 0:
        return _one_hot(rng.integers(0, k, size=n), k)
    if kind == 1:
        eps = float(rng.uniform(0.05, 0.3))
        return (1 - eps) * _one_hot(rng.integers(0, k, size=n), k) + eps / k
    return rng.dirichlet(np.ones(k), size=n)


def _logits_and_targets(rng):
    z = _logits(rng)
    return z, _targets(rng, z.shape[1], len(z))


@exercise("ch03.cross_entropy", points=3, name="cross_entropy",
          title="Cross-entropy with probability targets",
          hint="Each row contributes -sum_k targets[k] * log p_k; average the rows. Never take "
               "the log of a probability that may have rounded to 0: which formula from the "
               "lesson gives log p directly, and which maximum must it subtract, per row or "
               "over the whole array?")
def check_cross_entropy(cross_entropy, t):
    def loss(z, targets):
        got = cross_entropy(z, targets)
        try:
            return float(as_array(got))
        except (TypeError, ValueError):
            raise CheckFailure("cross_entropy(logits, targets)", "one number", describe(got),
                               f"cross_entropy must return one number, got {describe(got)}")

    t.close(loss(np.zeros((3, 10)), _one_hot(np.array([0, 4, 9]), 10)), np.log(10.0),
            "cross_entropy(zeros((3, 10)), one_hot([0, 4, 9])) == log(10)")
    t.against_reference(loss, _reference_cross_entropy, _logits_and_targets,
                        what="cross_entropy(logits, targets) with one-hot, smoothed and random "
                             "targets, logits up to +-1000 in any position", n=12,
                        rtol=1e-5, atol=2e-4)


# --- training ------------------------------------------------------------------------------------

def _reference_train(X, y, num_classes, lr, epochs, batch_size, seed, *, divide_by_len=True,
                     one_generator=True, keep_last=True):
    """The task, step by step: zeros, one permutation per epoch from default_rng(seed), batches
    of batch_size (the last one smaller), gradient of the mean cross-entropy of each batch.

    The keywords switch in one common mistake each, so that a wrong answer can be explained."""
    rng = np.random.default_rng(seed)
    W = np.zeros((X.shape[1], num_classes))
    b = np.zeros(num_classes)
    for _ in range(epochs):
        if not one_generator:
            rng = np.random.default_rng(seed)
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            if not keep_last and len(idx) < batch_size:
                break
            n = len(idx) if divide_by_len else batch_size
            G = (_reference_softmax(X[idx] @ W + b) - _one_hot(y[idx], num_classes)) / n
            W, b = W - lr * X[idx].T @ G, b - lr * G.sum(axis=0)
    return W, b


_TRAINING_MISTAKES = {
    "divide_by_len": "a batch's gradient divided by batch_size: the last batch is smaller, divide "
                     "by the number of examples it really holds (len(yb))",
    "one_generator": "a new generator every epoch, so every epoch visits the examples in the same "
                     "order: create rng once, before the loop over the epochs",
    "keep_last": "the last, smaller batch skipped: it must be used too",
}


def _synthetic_blobs(rng, n_per_class=60, dim=5, k=4):
    """SYNTHETIC data (not MNIST): k well-separated Gaussian blobs in `dim` dimensions."""
    centres = rng.normal(0.0, 1.0, size=(k, dim))
    centres *= 4.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    y = np.repeat(np.arange(k), n_per_class)
    X = centres[y] + rng.normal(0.0, 0.5, size=(len(y), dim))
    order = rng.permutation(len(y))
    return X[order], y[order]


def _weights(result, call, d, k):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(call, "a pair (W, b)", describe(result),
                           f"expected (W, b), got {describe(result)}")
    W, b = as_array(result[0]), as_array(result[1])
    if W.shape != (d, k) or b.shape != (k,):
        raise CheckFailure(call, f"W of shape {(d, k)}, b of shape {(k,)}",
                           f"W of shape {W.shape}, b of shape {b.shape}",
                           "W has one row per feature and one column per class, b one entry "
                           "per class")
    return W.astype(np.float64), b.astype(np.float64)


@exercise("ch03.train_linear_classifier", points=4, name="train_linear_classifier",
          title="Train a linear classifier with mini-batch SGD",
          hint="Follow the recipe of the task literally: where does the random generator get "
               "created (once, not every epoch), how many examples does the last batch hold, and "
               "which count divides the gradient of a batch's mean loss?")
def check_train(train_linear_classifier, t):
    def run(X, y, k, lr, epochs, batch_size, seed):
        call = (f"train_linear_classifier(X, y, num_classes={k}, lr={lr}, epochs={epochs}, "
                f"batch_size={batch_size}, seed={seed}) on {len(X)} random points with "
                f"{X.shape[1]} features")
        result = train_linear_classifier(X.copy(), y.copy(), k, lr=lr, epochs=epochs,
                                         batch_size=batch_size, seed=seed)
        return call, *_weights(result, call, X.shape[1], k)

    # 1. with one batch holding all the data, training is plain gradient descent: exact values
    X = t.rng.normal(size=(12, 4))
    y = t.rng.permutation(np.repeat([0, 1, 2], [6, 4, 2]))   # unbalanced: b moves too
    for epochs in (1, 3):
        call, W, b = run(X, y, 3, 0.5, epochs, 12, 0)
        W_ref, b_ref = _reference_train(X, y, 3, 0.5, epochs, 12, 0)
        t.close(np.append(W, b), np.append(W_ref, b_ref), f"{call}: (W, b) after {epochs} "
                "full-batch step(s) of gradient descent from zeros", rtol=1e-4, atol=1e-7)
    # 2. mini-batches in the order the task prescribes, with a smaller last batch: exact values
    for n, d, k, batch_size, epochs, seed in [(50, 3, 4, 16, 2, 7), (23, 6, 3, 5, 3, 11),
                                              (40, 2, 5, 40, 1, 3), (9, 3, 2, 4, 2, 0)]:
        X = t.rng.normal(size=(n, d)) * t.rng.uniform(0.5, 3.0, size=d)
        y = t.rng.integers(0, k, size=n)
        call, W, b = run(X, y, k, 0.3, epochs, batch_size, seed)
        got = np.append(W, b)
        what = (f"{call}: (W, b) after mini-batch SGD in the order of "
                "np.random.default_rng(seed).permutation, one per epoch")
        for flag, mistake in _TRAINING_MISTAKES.items():
            wrong = np.append(*_reference_train(X, y, k, 0.3, epochs, batch_size, seed,
                                                **{flag: False}))
            if np.allclose(got, wrong, rtol=1e-4, atol=1e-7):
                want = np.append(*_reference_train(X, y, k, 0.3, epochs, batch_size, seed))
                if not np.allclose(got, want, rtol=1e-4, atol=1e-7):
                    raise CheckFailure(what, describe(want), describe(got),
                                       f"your (W, b) match {mistake}")
        t.close(got, np.append(*_reference_train(X, y, k, 0.3, epochs, batch_size, seed)), what,
                rtol=1e-4, atol=1e-7)
    # 3. on a small synthetic separable problem it learns, and new points are classified too
    X, y = _synthetic_blobs(t.rng)
    call, W, b = run(X[:180], y[:180], 4, 0.1, 5, 16, 1)
    train_acc = float((np.argmax(X[:180] @ W + b, axis=1) == y[:180]).mean())
    new_acc = float((np.argmax(X[180:] @ W + b, axis=1) == y[180:]).mean())
    t.holds(train_acc >= 0.95, f"{call} (4 well-separated Gaussian blobs): at least 95% of the "
            "training points are classified correctly", got=train_acc)
    t.holds(new_acc >= 0.9, "... and at least 90% of 60 new points from the same blobs",
            got=new_acc)
