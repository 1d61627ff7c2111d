"""Train a hub model from scratch, resumably: ``python -m tutorlib.hub.train resnet20_cifar10 --out DIR``.

The recipe (``RECIPES``) is the standard one for CIFAR ResNets: SGD with momentum 0.9, weight
decay 5e-4, batch 128, random 32x32 crops of the 4-pixel zero-padded image and random horizontal
flips, and a learning rate that follows a cosine from 0.1 to 0 over 60 epochs (stepped once per
epoch). ``restart_at`` > 0 adds one *warm restart* (Loshchilov & Hutter's SGDR, 2017): from
that epoch a second cosine from ``restart_lr`` to 0 over the remaining epochs (tried with
``--epochs 90 --restart-at 60``: no better on validation, see ``docs/hub.md``).
5 000 of the 50 000 training images (a fixed, seeded choice) are held out as a validation set:
the script reports them every epoch and keeps the best epoch by *validation* accuracy in
``best.tl``. It never looks at the test set (``python -m tutorlib.hub.evaluate`` does).
``--val-size 0`` holds nothing out: the way to train the final model on all 50 000 images once
the recipe has been chosen on the split (no validation columns in the curve, no ``best.tl``);
the shipped weights were trained so.

Everything in ``DIR`` is written atomically after every epoch:

- ``checkpoint.tl`` (``tl.save``): model and optimizer state, the scheduler, the number of
  finished epochs, the library's random-generator state, the config and the history;
- ``best.tl``: the model state of the best validation epoch;
- ``history.csv`` and ``history.json``: the curve (lr, train loss/accuracy, val loss/top-1/top-5,
  seconds per epoch).

Running the same command again resumes from ``checkpoint.tl``. With a different recipe it
refuses and names the differences, with one exception: a recipe that only *extends* the schedule
(``epochs``, ``restart_at``, ``restart_lr``) is accepted if every finished epoch was trained with
exactly the learning rate the new schedule gives it (as a 60-epoch cosine run is the first
cycle of ``--epochs 90 --restart-at 60``), so the run continues as if it had always had the new recipe.
Resuming gives bit-identical weights to an uninterrupted run on the same machine and thread
count: the batch order and the augmentation of epoch ``e``, batch ``k`` depend only on
``(seed, e, k)``.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import time

import numpy as np

from .. import functional as F
from .. import optimizer as optim
from .. import random as tl_random
from .. import serialization
from ..autodiff import GradManager
from ..data.download import atomic_write
from ..data.transform.base import apply_stacked
from ..tensor import Parameter, Tensor
from . import hub
from .evaluate import evaluate

RECIPES = {
    "resnet20_cifar10": {
        "epochs": 60, "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4, "batch_size": 128,
        "schedule": "cosine", "restart_at": 0, "restart_lr": 0.02, "val_size": 5000, "split_seed": 0, "seed": 0,
        "train_limit": 0,   # 0: every training image; N > 0: the first N (quick tests)
    },
}
CHECKPOINT, BEST = "checkpoint.tl", "best.tl"
SCHEDULE_KEYS = {"epochs", "restart_at", "restart_lr"}   # a resume may extend these (see above)


def _write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path) as f:
        f.write(text.encode("utf-8"))


def _history_csv(history: list) -> str:
    out = io.StringIO()
    if history:
        writer = csv.DictWriter(out, fieldnames=list(history[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
    return out.getvalue()


def split(labels_count: int, val_size: int, split_seed: int) -> tuple:
    """``(train indices, val indices)``: a seeded permutation of the training set, cut in two."""
    order = np.random.default_rng(split_seed).permutation(labels_count)
    return np.sort(order[val_size:]), np.sort(order[:val_size])


def _load_cifar10():
    from ..data.dataset import CIFAR10
    train = CIFAR10(train=True)
    return train.data, train.targets


class CosineWithRestart(optim.lr_scheduler.LRScheduler):
    """A cosine from the base lr to 0 over ``restart_at`` epochs, then a cosine from ``restart_lr``
    to 0 over the rest of ``epochs`` (``restart_at=0``: one cosine over ``epochs``). Before the
    restart it gives bit for bit what ``CosineAnnealingLR(T_max=restart_at)`` gives.

    >>> import tutorlib as tl
    >>> opt = optim.SGD([tl.Parameter(1.0)], lr=0.1)
    >>> sched = CosineWithRestart(opt, epochs=6, restart_at=4, restart_lr=0.02)
    >>> lrs = []
    >>> for _ in range(6):
    ...     lrs.append(round(opt.param_groups[0]["lr"], 4))
    ...     sched.step()
    >>> lrs
    [0.1, 0.0854, 0.05, 0.0146, 0.02, 0.01]
    """

    def __init__(self, optimizer, epochs: int, restart_at: int = 0, restart_lr: float = 0.0):
        if not 0 <= restart_at < epochs:
            raise ValueError(f"train: restart_at must be 0 (no restart) or an epoch before the last "
                             f"({epochs}), got {restart_at}")
        self.epochs, self.restart_at, self.restart_lr = epochs, restart_at, restart_lr
        super().__init__(optimizer)

    def get_lr(self) -> list:
        t, first = self.current_epoch, self.restart_at or self.epochs
        if t < first or not self.restart_at:
            return [lr * (1 + math.cos(math.pi * t / first)) / 2 for lr in self.base_lrs]
        cos = (1 + math.cos(math.pi * (t - first) / (self.epochs - first))) / 2
        return [self.restart_lr * cos for _ in self.base_lrs]


def _scheduler(opt, config):
    if config["schedule"] == "cosine":
        return CosineWithRestart(opt, config["epochs"], config["restart_at"], config["restart_lr"])
    if config["schedule"] == "step":   # x0.1 at 50% and 75% of the epochs, as He et al.
        e = config["epochs"]
        return optim.lr_scheduler.MultiStepLR(opt, milestones=[e // 2, 3 * e // 4], gamma=0.1)
    raise ValueError(f"unknown schedule {config['schedule']!r}: use cosine or step")


def _schedule_lrs(config: dict, epochs: int) -> list:
    """The learning rates ``config``'s schedule gives epochs ``0 .. epochs-1``."""
    opt = optim.SGD([Parameter(np.zeros(1, np.float32))], lr=config["lr"])
    sched = _scheduler(opt, config)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    return lrs


class Trainer:
    """Everything one run needs; :meth:`run` trains ``config["epochs"]`` epochs into ``out``."""

    def __init__(self, name: str, out: str, config: dict, data=None, log=print):
        self.name, self.out, self.config, self.log = name, out, config, log
        images, labels = _load_cifar10() if data is None else data
        train_idx, val_idx = split(len(labels), config["val_size"], config["split_seed"])
        if config["train_limit"]:
            train_idx = train_idx[:config["train_limit"]]
        self.train_images, self.train_labels = images[train_idx], labels[train_idx]
        self.val_images, self.val_labels = images[val_idx], labels[val_idx]

        tl_random.seed(config["seed"])
        self.model = hub.entry(name).build()
        self.opt = optim.SGD(self.model.parameters(), lr=config["lr"],
                             momentum=config["momentum"], weight_decay=config["weight_decay"])
        self.sched = _scheduler(self.opt, config)
        self.gm = GradManager().attach(self.model.parameters())
        self.augment = hub.transform(name, train=True, seed=config["seed"])
        self.eval_transform = hub.transform(name)
        self.epoch = 0            # epochs finished
        self.history: list = []
        self.best = -1.0

    # ---- checkpoints ----------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "name": self.name, "config": dict(self.config), "epoch": self.epoch,
            "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "rng": tl_random.generator().bit_generator.state,
            "history": list(self.history), "best_val_top1": self.best,
        }

    def restore(self, ckpt: dict) -> None:
        if ckpt.get("name") != self.name:
            raise ValueError(f"train: the checkpoint is for {ckpt.get('name')!r}, not {self.name!r}")
        saved = ckpt["config"]
        differ = sorted(k for k in set(saved) | set(self.config) if saved.get(k) != self.config.get(k))
        done = [row["lr"] for row in ckpt["history"]]
        extends = (differ and set(differ) <= SCHEDULE_KEYS and ckpt["epoch"] <= self.config["epochs"]
                   and _schedule_lrs(self.config, ckpt["epoch"]) == done)
        if differ and not extends:
            details = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs now {self.config.get(k)!r}"
                                for k in differ)
            raise ValueError(f"train: cannot resume with a different recipe ({details}); use "
                             f"another --out or the checkpoint's settings")
        if extends:
            self.log(f"extending the checkpoint's schedule ({', '.join(differ)}): its "
                     f"{ckpt['epoch']} epochs used exactly this recipe's learning rates")
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.sched.step(ckpt["epoch"])     # the schedule is a function of the epoch
        tl_random.generator().bit_generator.state = ckpt["rng"]
        self.epoch, self.history = ckpt["epoch"], list(ckpt["history"])
        self.best = ckpt["best_val_top1"]

    def save(self) -> None:
        serialization.save(self.state(), os.path.join(self.out, CHECKPOINT))
        _write_text(os.path.join(self.out, "history.json"), json.dumps(self.history, indent=1))
        _write_text(os.path.join(self.out, "history.csv"), _history_csv(self.history))

    # ---- training -------------------------------------------------------------------------
    def batches(self, epoch: int):
        """The augmented batches of ``epoch``: order and augmentation depend on (seed, epoch, k)."""
        n, bs = len(self.train_labels), self.config["batch_size"]
        order = np.random.default_rng([self.config["seed"], epoch]).permutation(n)
        for k, start in enumerate(range(0, n, bs)):
            idx = np.sort(order[start:start + bs])
            self.augment.reseed(epoch, k)
            x = apply_stacked(self.augment, self.train_images[idx])
            yield Tensor(x), Tensor(self.train_labels[idx])

    def train_epoch(self, epoch: int) -> dict:
        self.model.train()
        n, bs = len(self.train_labels), self.config["batch_size"]
        steps = -(-n // bs)
        total_loss = total_correct = seen = 0
        start = time.time()
        for k, (x, y) in enumerate(self.batches(epoch)):
            with self.gm:
                logits = self.model(x)
                loss = F.nn.cross_entropy(logits, y)
                self.gm.backward(loss)
            self.opt.step().clear_grad()
            total_loss += loss.item() * len(y)
            total_correct += int((logits.numpy().argmax(1) == y.numpy()).sum())
            seen += len(y)
            if (k + 1) % 50 == 0:
                self.log(f"  epoch {epoch + 1} step {k + 1}/{steps}  loss {total_loss / seen:.4f}  "
                         f"{(time.time() - start) / (k + 1):.2f} s/step")
        return {"train_loss": total_loss / seen, "train_acc": total_correct / seen}

    def run(self, stop_after: int | None = None) -> list:
        """Train (resuming from ``out/checkpoint.tl`` if present) until ``config["epochs"]`` are
        done, or for at most ``stop_after`` more epochs; returns the history."""
        os.makedirs(self.out, exist_ok=True)
        path = os.path.join(self.out, CHECKPOINT)
        if os.path.exists(path):
            self.restore(serialization.load(path))
            self.log(f"resumed from {path}: {self.epoch} of {self.config['epochs']} epochs done")
        target = self.config["epochs"] if stop_after is None else \
            min(self.config["epochs"], self.epoch + stop_after)
        while self.epoch < target:
            epoch, start = self.epoch, time.time()
            lr = self.opt.param_groups[0]["lr"]
            row = {"epoch": epoch + 1, "lr": lr, **self.train_epoch(epoch)}
            self.sched.step()
            val, val_text = None, ""
            if len(self.val_labels):    # val_size 0: every training image is trained on
                val = evaluate(self.model, self.val_images, self.val_labels, self.eval_transform)
                row.update(val_loss=val["loss"], val_top1=val["top1"], val_top5=val["top5"])
                val_text = (f"val loss {val['loss']:.4f} top-1 {val['top1']:.2%} "
                            f"top-5 {val['top5']:.2%}  ")
            row["seconds"] = round(time.time() - start, 1)
            self.history.append(row)
            self.epoch = epoch + 1
            if val is not None and val["top1"] > self.best:
                self.best = val["top1"]
                serialization.save({"name": self.name, "epoch": self.epoch, "config": dict(self.config),
                                    "val_top1": val["top1"], "model": self.model.state_dict(),
                                    "history": list(self.history)},
                                   os.path.join(self.out, BEST))
            self.save()
            self.log(f"epoch {self.epoch}/{self.config['epochs']}  lr {lr:.4f}  "
                     f"train loss {row['train_loss']:.4f} acc {row['train_acc']:.2%}  "
                     f"{val_text}{row['seconds']:.0f} s")
        return self.history


def parse_config(argv=None) -> tuple:
    """``(name, out, config, stop_after)`` from the command line (the recipe, with any overrides)."""
    parser = argparse.ArgumentParser(prog="python -m tutorlib.hub.train",
                                     description="Train a hub model resumably (see docs/hub.md).")
    parser.add_argument("name", choices=sorted(RECIPES))
    parser.add_argument("--out", required=True, help="run folder: checkpoint, best weights, curve")
    for key, value in RECIPES["resnet20_cifar10"].items():
        parser.add_argument("--" + key.replace("_", "-"), type=type(value), default=None,
                            help=f"default: the recipe's ({value})")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="train at most this many more epochs in this call, then exit "
                             "(the run stays resumable; not part of the recipe)")
    args = parser.parse_args(argv)
    config = dict(RECIPES[args.name])
    for key in config:
        value = getattr(args, key)
        if value is not None:
            config[key] = value
    return args.name, args.out, config, args.stop_after


def main(argv=None) -> int:
    name, out, config, stop_after = parse_config(argv)
    print(f"training {name} into {out} with {json.dumps(config)}", flush=True)
    Trainer(name, out, config, log=lambda s: print(s, flush=True)).run(stop_after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
