"""How the training recipes of chapters 4 and 5 were chosen: validation accuracy only.

Trains the chapter's model on the training split (Fashion-MNIST: the first 50,000 training
images; CIFAR-10: the first 45,000) and prints the accuracy on the held-out rest of the training
set (10,000 / 5,000 images) after every epoch. The test sets are never read.

    TUTORLIB_DATA=$PWD/data .venv/bin/python benchmarks/choose_part2.py ch04 sgd 0.1 0 64 10 cos
    TUTORLIB_DATA=$PWD/data .venv/bin/python benchmarks/choose_part2.py ch05 adam 0.002 0 64 6 cos

Arguments: chapter, optimizer (sgd | adam), learning rate, momentum (sgd), batch size, epochs,
schedule (const | cos: cosine from the learning rate to 0 over all steps), optional seed.
The runs behind the recipes and their results are listed in benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

import tutorlib as tl
import tutorlib.data as data  # noqa: PLR0402 (the course's import style)
import tutorlib.functional as F
import tutorlib.module as M
import tutorlib.optimizer as optim
from tutorlib.autodiff import GradManager


class MLP(M.Module):
    def __init__(self):
        super().__init__()
        self.hidden = M.Linear(784, 256)
        self.classifier = M.Linear(256, 10)

    def forward(self, x):
        return self.classifier(F.relu(self.hidden(x)))


class LeNet(M.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = M.Conv2d(3, 6, 5), M.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.classifier = M.Linear(400, 120), M.Linear(120, 84), M.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.flatten(F.max_pool2d(F.relu(self.conv2(x)), 2), 1)
        return self.classifier(F.relu(self.fc2(F.relu(self.fc1(x)))))


def load(chapter):
    """(images as float32 model inputs, labels, number of training images, model class)."""
    if chapter == "ch04":
        ds = data.dataset.FashionMNIST(train=True)
        n_train = 50_000
        raw = ds.data[:n_train]
        mean, std = raw.mean(dtype=np.float64), raw.std(dtype=np.float64)
        X = ((ds.data.reshape(len(ds.data), -1) - mean) / std).astype(np.float32)
        return X, ds.targets, n_train, MLP
    ds = data.dataset.CIFAR10(train=True)
    n_train = 45_000
    pixels = ds.data[:n_train].reshape(-1, 3).astype(np.float64)
    mean, std = pixels.mean(axis=0), pixels.std(axis=0)
    X = ((ds.data - mean) / std).astype(np.float32).transpose(0, 3, 1, 2).copy()
    return X, ds.targets, n_train, LeNet


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("chapter", choices=["ch04", "ch05"])
    p.add_argument("optimizer", choices=["sgd", "adam"])
    p.add_argument("lr", type=float)
    p.add_argument("momentum", type=float)
    p.add_argument("batch_size", type=int)
    p.add_argument("epochs", type=int)
    p.add_argument("schedule", choices=["const", "cos"])
    p.add_argument("seed", type=int, nargs="?", default=0)
    args = p.parse_args(argv)
    X, y, n_train, Model = load(args.chapter)
    X_train, y_train, X_val, y_val = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    tl.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = Model()
    gm = GradManager().attach(model.parameters())
    opt = (optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
           if args.optimizer == "sgd" else optim.Adam(model.parameters(), lr=args.lr))
    steps, step, accs, start = args.epochs * math.ceil(n_train / args.batch_size), 0, [], time.time()
    for _ in range(args.epochs):
        order = rng.permutation(n_train)
        for i in range(0, n_train, args.batch_size):
            if args.schedule == "cos":
                for group in opt.param_groups:
                    group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / steps))
            step += 1
            idx = order[i:i + args.batch_size]
            with gm:
                loss = F.nn.cross_entropy(model(tl.Tensor(X_train[idx])), tl.Tensor(y_train[idx]))
                gm.backward(loss)
                opt.step().clear_grad()
        pred = np.concatenate([F.argmax(model(tl.Tensor(X_val[k:k + 1000])), axis=1).numpy()
                               for k in range(0, len(X_val), 1000)])
        accs.append(float((pred == y_val).mean()))
    print(" ".join(str(a) for a in vars(args).values()), "| val acc per epoch:",
          " ".join(f"{a:.4f}" for a in accs), f"| {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
