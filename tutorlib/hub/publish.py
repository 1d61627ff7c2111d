"""Turn a training checkpoint into the hub's shipped weights, with a measured accuracy and a checksum.

    python -m tutorlib.hub.publish resnet20_cifar10 /work/hub-run/resnet20_cifar10/best.tl

measures the CIFAR-10 test accuracy of the checkpoint's model, writes
``tutorlib/hub/weights/resnet20_cifar10.tl`` (only the model's state dict, ``tl.save`` format)
and records its SHA-256, the accuracy, the epoch, the recipe and (from a ``checkpoint.tl``) the
training curve in ``weights/manifest.json``.
Both files are written atomically. Weights from an unfinished run are marked ``"final": false``
and ``hub.help()`` calls them an intermediate checkpoint.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .. import serialization
from . import hub
from .evaluate import evaluate
from .train import _write_text


def publish(name: str, checkpoint: str, root: str | None = None, test_data=None,
            note: str | None = None) -> dict:
    """Publish ``checkpoint`` (a ``checkpoint.tl`` or ``best.tl``) as ``name``'s weights in
    ``root``; returns the manifest record. ``test_data=(images, labels)`` replaces the CIFAR-10
    test set (tests use a few images)."""
    root = root or hub.WEIGHTS_DIR
    ckpt = serialization.load(checkpoint)
    if not isinstance(ckpt, dict) or ckpt.get("name") != name or "model" not in ckpt:
        raise hub.HubError(f"publish: {checkpoint} is not a training checkpoint of {name!r}")
    model = hub.load(name)
    model.load_state_dict(ckpt["model"])
    if test_data is None:
        from ..data.dataset import CIFAR10
        test = CIFAR10(train=False)
        test_data = (test.data, test.targets)
    result = evaluate(model, *test_data, hub.transform(name), progress=True)

    os.makedirs(root, exist_ok=True)
    filename = f"{name}.tl"
    path = os.path.join(root, filename)
    serialization.save({"name": name, "state_dict": ckpt["model"]}, path)
    config = ckpt["config"]
    history = ckpt.get("history", [])
    # best.tl holds its epoch's val_top1; checkpoint.tl the curve (no val_* with --val-size 0)
    val_top1 = ckpt.get("val_top1", max((row["val_top1"] for row in history if "val_top1" in row),
                                        default=None))
    record = {
        "file": filename, "sha256": hub.sha256(path), "bytes": os.path.getsize(path),
        "epoch": ckpt["epoch"], "epochs": config["epochs"], "final": ckpt["epoch"] == config["epochs"],
        "val_top1": val_top1, "test_top1": result["top1"], "test_top5": result["top5"],
        "test_images": len(test_data[1]), "recipe": config,
        "history": [{k: row[k] for k in ("epoch", "lr", "train_loss", "train_acc", "val_loss",
                                         "val_top1") if k in row}
                    for row in history],
        "published": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "note": note or (None if ckpt["epoch"] == config["epochs"] else
                         f"intermediate checkpoint: epoch {ckpt['epoch']} of {config['epochs']} "
                         f"of a run still in progress (see docs/hub.md)"),
    }
    manifest = hub._manifest(root)
    manifest[name] = record
    _write_text(os.path.join(root, hub.MANIFEST), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorlib.hub.publish",
                                     description="Ship a checkpoint as a hub model's weights.")
    parser.add_argument("name", choices=hub.list())
    parser.add_argument("checkpoint", help="checkpoint.tl or best.tl of a tutorlib.hub.train run")
    parser.add_argument("--root", help="weights folder (default: the package's)")
    parser.add_argument("--note", help="a remark stored in the manifest")
    args = parser.parse_args(argv)
    record = publish(args.name, args.checkpoint, args.root, note=args.note)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
