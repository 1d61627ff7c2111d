"""Checks of chapter 3, linear classification: softmax, cross-entropy, a linear classifier.

The students write plain numpy functions (``solutions/ch03-linear-classification.ipynb``):

* ``softmax(z)``: row-wise softmax of a (N, K) array, stable for large logits;
* ``cross_entropy(logits, labels)``: mean cross-entropy from logits and integer labels;
* ``train_linear_classifier(X, y, num_classes, lr, epochs, batch_size, seed)``: mini-batch SGD
  for ``logits = X @ W + b`` from zeros, returning ``(W, b)``.

>>> import numpy as np
>>> from tutorlib.grading import run_check, get
>>> bool(run_check(get("ch03.softmax"), _reference_softmax))
True
>>> naive = lambda z: np.exp(z) / np.exp(z).sum(1, keepdims=True)   # overflows on large logits
>>> with np.errstate(over="ignore", invalid="ignore"):
...     bool(run_check(get("ch03.softmax"), naive))
False
"""

from __future__ import annotations

import numpy as np

from tutorlib.grading import exercise


def _reference_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _reference_cross_entropy(logits, labels):
    z = np.asarray(logits, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    log_probs = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(z)), labels].mean()


def _one_hot(labels, k):
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def _logits(rng, scale=None):
    n, k = int(rng.integers(2, 7)), int(rng.integers(2, 11))
    scale = scale if scale is not None else float(rng.choice([0.1, 1.0, 10.0]))
    return rng.normal(0.0, scale, size=(n, k))


def _large_logits(rng):
    """Logits around +-1000: exp() of them overflows (or underflows to 0) in float64."""
    z = rng.normal(0.0, 3.0, size=(4, 6)) + rng.choice([-1000.0, 1000.0], size=(4, 1))
    z[0, 0] = 1000.0   # one row mixes a huge logit with ordinary ones
    return z


@exercise("ch03.softmax", points=3, name="softmax", title="A numerically stable softmax",
          hint="Subtract each row's maximum before np.exp (z - z.max(axis=1, keepdims=True)), "
               "then divide by the row sum (keepdims=True so the shapes broadcast).")
def check_softmax(softmax, t):
    t.close(softmax(np.array([[0.0, 0.0]])), np.array([[0.5, 0.5]]), "softmax([[0, 0]])")
    t.against_reference(softmax, _reference_softmax, lambda rng: (_logits(rng),),
                        what="softmax(z) for random logits (N, K)")
    t.against_reference(softmax, _reference_softmax, lambda rng: (_large_logits(rng),),
                        what="softmax(z) for logits near +-1000", n=3)
    for (z,) in t.samples(lambda rng: (_logits(rng, scale=5.0),)):
        p = np.asarray(softmax(z.copy()))
        t.close(p.shape, z.shape, "softmax(z) has the shape of z")
        t.holds(np.isfinite(p).all() and (p >= 0).all(), "all probabilities are finite and >= 0",
                got=p)
        t.close(p.sum(axis=1), np.ones(len(z)), "every row of softmax(z) sums to 1")
        shift = t.rng.normal(0.0, 100.0, size=(len(z), 1))
        t.close(np.asarray(softmax(z + shift)), p, "softmax(z + c) == softmax(z) for a constant "
                "c per row", rtol=1e-6, atol=1e-9)


@exercise("ch03.cross_entropy", points=3, name="cross_entropy",
          title="Cross-entropy from logits and integer labels",
          hint="Use log-softmax: log p = z - max(z) - log(sum(exp(z - max(z)))) per row; pick "
               "log p[i, labels[i]] with fancy indexing (np.arange(N), labels) and return the "
               "negative mean.")
def check_cross_entropy(cross_entropy, t):
    def make(rng):
        z = _logits(rng)
        return z, rng.integers(0, z.shape[1], size=len(z))

    def make_large(rng):
        z = _large_logits(rng)
        return z, rng.integers(0, z.shape[1], size=len(z))

    t.close(float(cross_entropy(np.zeros((3, 10)), np.array([0, 4, 9]))), np.log(10.0),
            "cross_entropy(zeros((3, 10)), [0, 4, 9]) == log(10)")
    t.against_reference(lambda z, y: float(cross_entropy(z, y)), _reference_cross_entropy, make,
                        what="cross_entropy(logits, labels)")
    t.against_reference(lambda z, y: float(cross_entropy(z, y)), _reference_cross_entropy,
                        make_large, what="cross_entropy(logits, labels) for logits near +-1000",
                        n=3)
    t.gradient(lambda z, y: (_reference_softmax(z) - _one_hot(y, z.shape[1])) / len(z),
               lambda z, y: float(cross_entropy(z, y)), make,
               what="the gradient of cross_entropy with respect to the logits, which should be "
                    "(softmax(logits) - one_hot(labels)) / N", rtol=1e-4, atol=1e-6)


def _reference_train(X, y, num_classes, lr, epochs, batch_size):
    """Full-batch reference (used only with batch_size >= N, where shuffling does not matter)."""
    W = np.zeros((X.shape[1], num_classes))
    b = np.zeros(num_classes)
    Y = _one_hot(y, num_classes)
    for _ in range(epochs):
        G = (_reference_softmax(X @ W + b) - Y) / len(X)
        W, b = W - lr * X.T @ G, b - lr * G.sum(axis=0)
    return W, b


def _synthetic_blobs(rng, n_per_class=60, dim=5, k=4):
    """SYNTHETIC data (not MNIST): k well-separated Gaussian blobs in `dim` dimensions."""
    centres = rng.normal(0.0, 1.0, size=(k, dim))
    centres *= 4.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    y = np.repeat(np.arange(k), n_per_class)
    X = centres[y] + rng.normal(0.0, 0.5, size=(len(y), dim))
    order = rng.permutation(len(y))
    return X[order], y[order]


@exercise("ch03.train_linear_classifier", points=4, name="train_linear_classifier",
          title="Train a linear classifier with mini-batch SGD",
          hint="Start from W = zeros((D, K)), b = zeros(K). Each epoch, shuffle the indices "
               "(np.random.default_rng(seed)), and for every batch compute "
               "G = (softmax(Xb @ W + b) - one_hot(yb)) / len(yb); then W -= lr * Xb.T @ G and "
               "b -= lr * G.sum(axis=0).")
def check_train(train_linear_classifier, t):
    # 1. with one batch holding all the data, training is plain gradient descent: exact values
    for n_epochs in (1, 3):
        X = t.rng.normal(size=(12, 4))
        y = t.rng.permutation(np.repeat([0, 1, 2], [6, 4, 2]))   # unbalanced: b moves too
        W, b = train_linear_classifier(X.copy(), y.copy(), 3, lr=0.5, epochs=n_epochs,
                                       batch_size=12, seed=0)
        W_ref, b_ref = _reference_train(X, y, 3, lr=0.5, epochs=n_epochs, batch_size=12)
        t.close(np.shape(W), (4, 3), "W has shape (D, num_classes)")
        t.close(np.shape(b), (3,), "b has shape (num_classes,)")
        t.close(np.asarray(W), W_ref, f"W after {n_epochs} full-batch epoch(s) of gradient "
                "descent from zeros (12 random points, 3 classes, lr=0.5)", rtol=1e-4, atol=1e-7)
        t.close(np.asarray(b), b_ref, f"b after {n_epochs} full-batch epoch(s) of gradient "
                "descent from zeros (12 random points, 3 classes, lr=0.5)", rtol=1e-4, atol=1e-7)
    # 2. mini-batches on a small synthetic separable problem: it must learn it
    X, y = _synthetic_blobs(t.rng)
    X_new, y_new = X[180:], y[180:]
    W, b = train_linear_classifier(X[:180].copy(), y[:180].copy(), 4, lr=0.1, epochs=5,
                                   batch_size=16, seed=1)
    train_acc = float((np.argmax(X[:180] @ W + b, axis=1) == y[:180]).mean())
    new_acc = float((np.argmax(X_new @ W + b, axis=1) == y_new).mean())
    t.holds(train_acc >= 0.95, "on synthetic, well-separated data (4 Gaussian blobs, 180 "
            "training points, batch_size=16, 5 epochs) at least 95% of the training points are "
            "classified correctly", got=train_acc)
    t.holds(new_acc >= 0.9, "... and at least 90% of 60 new synthetic points", got=new_acc)
    # 3. the order of the mini-batches is random, drawn from `seed`
    W2, _ = train_linear_classifier(X[:180].copy(), y[:180].copy(), 4, lr=0.1, epochs=1,
                                    batch_size=16, seed=2)
    W3, _ = train_linear_classifier(X[:180].copy(), y[:180].copy(), 4, lr=0.1, epochs=1,
                                    batch_size=16, seed=3)
    t.holds(not np.allclose(W2, W3), "the batches come in a random order: seed=2 and seed=3 give "
            "different W (shuffle with np.random.default_rng(seed) every epoch)")
    W4, _ = train_linear_classifier(X[:180].copy(), y[:180].copy(), 4, lr=0.1, epochs=1,
                                    batch_size=16, seed=2)
    t.close(np.asarray(W4), np.asarray(W2), "the same seed gives the same W", rtol=0, atol=0)
