"""Measure a hub model: ``python -m tutorlib.hub.evaluate resnet20_cifar10`` prints its CIFAR-10
test accuracy (top-1 and top-5) with the published weights, or with ``--checkpoint FILE``.

``predict`` and ``evaluate`` are also what the training script and the chapters use.

>>> import numpy as np
>>> from tutorlib import hub
>>> model = hub.load("resnet20_cifar10")
>>> images = np.zeros((3, 32, 32, 3), np.uint8)
>>> predict(model, images, hub.transform("resnet20_cifar10")).shape
(3, 10)
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from .. import functional as F
from ..data.transform.base import apply_stacked
from ..tensor import Tensor


def predict(model, images: np.ndarray, transform, batch_size: int = 500,
            progress: bool = False) -> np.ndarray:
    """The (N, classes) logits of ``model`` (switched to eval mode) for HWC ``images``."""
    model.eval()
    starts = range(0, len(images), batch_size)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc="evaluate", unit="batch", leave=False)
    outputs = [model(Tensor(apply_stacked(transform, images[i:i + batch_size]))).numpy()
               for i in starts]
    return np.concatenate(outputs)


def evaluate(model, images: np.ndarray, labels: np.ndarray, transform,
             batch_size: int = 500, progress: bool = False) -> dict:
    """``{"loss", "top1", "top5"}`` of ``model`` on ``(images, labels)`` (eval mode)."""
    logits = predict(model, images, transform, batch_size, progress)
    loss = float(F.nn.cross_entropy(Tensor(logits), Tensor(labels.astype(np.int32))).item())
    top1, top5 = F.topk_accuracy(logits, labels, topk=(1, 5))
    return {"loss": loss, "top1": top1, "top5": top5}


def main(argv=None) -> int:
    from .. import serialization
    from ..data.dataset import CIFAR10
    from . import hub

    parser = argparse.ArgumentParser(prog="python -m tutorlib.hub.evaluate",
                                     description="CIFAR-10 test accuracy of a hub model.")
    parser.add_argument("name", choices=hub.list())
    parser.add_argument("--checkpoint", help="a training checkpoint or best.tl instead of the "
                                             "published weights")
    parser.add_argument("--root", help="weights folder (default: the package's)")
    args = parser.parse_args(argv)
    model = hub.load(args.name, pretrained=args.checkpoint is None, root=args.root)
    if args.checkpoint:
        model.load_state_dict(serialization.load(args.checkpoint)["model"])
    test = CIFAR10(train=False)
    result = evaluate(model, test.data, test.targets, hub.transform(args.name), progress=True)
    print(f"{args.name}: CIFAR-10 test (10000 images) top-1 {result['top1']:.2%}, "
          f"top-5 {result['top5']:.2%}, loss {result['loss']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
