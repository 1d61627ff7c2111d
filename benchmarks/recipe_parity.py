"""The hub's training recipe run by PyTorch on the very same batches: is tutorlib's curve PyTorch's?

    .venv/bin/python benchmarks/recipe_parity.py --epochs 15 --restart-at 0 --out benchmarks/results/parity_torch.json
    TUTORLIB_DATA=$PWD/data .venv/bin/python -m tutorlib.hub.train resnet20_cifar10 \\
        --out /tmp/parity_tl --epochs 15 --restart-at 0          # tutorlib's run of the same recipe

The model is ResNet-20 as ``tutorlib.models.resnet20`` (``train_step.py``'s PyTorch version:
option-B shortcuts; with MSRA fan-out initialisation, BN 1/0, uniform linear layer), the optimizer SGD with the recipe's momentum,
weight decay and per-epoch learning rates (``tutorlib.hub.train._schedule_lrs``), and the data
the batches of ``tutorlib.hub.train.Trainer.batches`` (same split, order and augmentation,
converted to torch tensors). It prints and writes the validation top-1 after every epoch, to be
compared with the ``history.json`` of tutorlib's run: a gap far beyond seed noise would point at
a difference in tutorlib's training, not in the recipe. Needs PyTorch.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]   # train_step.py, and tutorlib of this checkout


def torch_resnet20():
    """``train_step.py``'s PyTorch ResNet-20, initialised as ``tutorlib.models.resnet``."""
    from torch import nn
    from train_step import torch_model

    model = torch_model("resnet20", (3, 32, 32))
    for m in model.modules():   # tutorlib.models.resnet's initialisation
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            bound = 1 / math.sqrt(m.in_features)
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.uniform_(m.bias, -bound, bound)
    return model


def main():
    import torch

    from tutorlib.hub.train import RECIPES, Trainer, _schedule_lrs

    name = "resnet20_cifar10"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=RECIPES[name]["epochs"])
    parser.add_argument("--restart-at", type=int, default=RECIPES[name]["restart_at"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the curve here (JSON)")
    args = parser.parse_args()
    config = dict(RECIPES[name], epochs=args.epochs, restart_at=args.restart_at)
    torch.set_num_threads(args.threads)
    torch.manual_seed(config["seed"])

    data = Trainer(name, "/nonexistent", config, log=lambda s: None)   # batches and val set only
    model = torch_resnet20()
    opt = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"],
                          weight_decay=config["weight_decay"])
    val_x = torch.from_numpy(data.eval_transform.apply_stacked(data.val_images))
    val_y = torch.from_numpy(data.val_labels.astype(np.int64))
    curve = []
    for epoch, lr in enumerate(_schedule_lrs(config, config["epochs"])):
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        start, losses = time.time(), []
        for x, y in data.batches(epoch):
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x.numpy())),
                                                     torch.from_numpy(y.numpy().astype(np.int64)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(val_x[i:i + 500]).argmax(1) == val_y[i:i + 500]).sum())
                          for i in range(0, len(val_y), 500))
        row = {"epoch": epoch + 1, "lr": lr, "train_loss": float(np.mean(losses)),
               "val_top1": correct / len(val_y), "seconds": round(time.time() - start, 1)}
        curve.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"config": config, "framework": f"torch {torch.__version__}",
                           "history": curve}, f, indent=1)


if __name__ == "__main__":
    main()
