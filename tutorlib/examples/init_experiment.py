"""The initialisation experiment of chapter 4's exercise 3: what zero, constant and partly random
starting weights do to a small ReLU network trained by full-batch gradient descent.

Students predict the outcome first, then run it; the ch04 check compares their predictions with
what this function gives.
"""
from __future__ import annotations

import numpy as np


def init_experiment(init, steps=50, lr=0.5):
    """The experiment of exercise 3: a 20 -> 8 -> 10 ReLU network, full-batch gradient descent.

    ``init`` is ``"zeros"`` (all weights and biases 0), ``"constant"`` (W1 = W2 = 0.1, biases 0)
    or ``"constant_W1_random_W2"`` (W1 = 0.1, W2 ~ N(0, 1/8), biases 0). Returns the loss before
    training, whether W1 changed, and how many hidden neurons differ from neuron 0 afterwards.

    >>> init_experiment("zeros")["first_loss"].round(4)
    np.float64(2.3026)
    """
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(256, 20)), rng.integers(0, 10, size=256)
    Y = np.eye(10)[y]
    W1 = np.zeros((20, 8)) if init == "zeros" else np.full((20, 8), 0.1)
    W2 = {"zeros": np.zeros((8, 10)), "constant": np.full((8, 10), 0.1),
          "constant_W1_random_W2": rng.normal(0, np.sqrt(1 / 8), size=(8, 10))}[init]
    b1, b2 = np.zeros(8), np.zeros(10)
    W1_start, losses = W1.copy(), []
    for _ in range(steps):
        pre = X @ W1 + b1
        h = np.maximum(pre, 0.0)
        z = h @ W2 + b2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        losses.append(-np.log(p[np.arange(len(y)), y]).mean())
        G = (p - Y) / len(y)
        dh = (G @ W2.T) * (pre > 0)
        W2, b2 = W2 - lr * h.T @ G, b2 - lr * G.sum(axis=0)
        W1, b1 = W1 - lr * X.T @ dh, b1 - lr * dh.sum(axis=0)
    spread = np.abs(W1 - W1[:, :1]).max(axis=0)
    distinct = 1 + int((spread[1:] > 1e-6 * max(np.abs(W1).max(), 1e-12)).sum())
    return {"first_loss": losses[0], "W1_moves": not np.array_equal(W1, W1_start),
            "distinct": distinct}
