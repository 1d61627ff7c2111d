"""Fit a line with gradient descent: MegEngine's ``megengine-basic-fit-line.py``, in tutorlib.

The data follow the original script exactly: ``np.random.seed(20200325)``, then for each of 100
points ``x ~ U(-10, 10)`` and ``y = 5x + 2 + U(-5, 5)``, drawn in that interleaved order. The
model ``w·x + b`` starts at ``w = b = 0`` and is trained full-batch with ``SGD(lr=0.01)`` on
``F.nn.square_loss`` for 5 epochs. Each printed loss is the one computed in that epoch (before
the update); ``w`` and ``b`` are printed after it, as in the original, giving the published table.

>>> x, y = generate_data()
>>> history = train(x, y, verbose=False)
>>> print(format_epoch(*history[-1]))
Epoch = 4, w = 4.923, b = 0.123, loss = 11.888
"""
from __future__ import annotations

import numpy as np

import tutorlib.functional as F
import tutorlib.optimizer as optim
from tutorlib import GradManager, Parameter, Tensor


def generate_data(n: int = 100, w: float = 5.0, b: float = 2.0, noise: float = 5.0, seed: int = 20200325):
    """``n`` points ``x ~ U(-10, 10)``, ``y = w·x + b + U(-noise, noise)`` from numpy's global RNG."""
    np.random.seed(seed)
    x, y = np.zeros(n), np.zeros(n)
    for i in range(n):
        x[i] = np.random.uniform(-10, 10)
        y[i] = w * x[i] + b + np.random.uniform(-noise, noise)
    return x, y


def format_epoch(epoch: int, w: float, b: float, loss: float) -> str:
    """One line of the published table."""
    return f"Epoch = {epoch}, w = {w:.3f}, b = {b:.3f}, loss = {loss:.3f}"


def train(x, y, epochs: int = 5, lr: float = 0.01, verbose: bool = True) -> list:
    """Fit ``w·x + b`` full-batch; return ``[(epoch, w, b, loss), ...]`` and print each epoch."""
    w, b = Parameter(0.0), Parameter(0.0)
    gm = GradManager().attach([w, b])
    optimizer = optim.SGD([w, b], lr=lr)
    x, y = Tensor(x), Tensor(y)
    history = []
    for epoch in range(epochs):
        with gm:
            loss = F.nn.square_loss(w * x + b, y)
            gm.backward(loss)
            optimizer.step().clear_grad()
        history.append((epoch, w.item(), b.item(), loss.item()))
        if verbose:
            print(format_epoch(*history[-1]))
    return history


if __name__ == "__main__":
    train(*generate_data())
