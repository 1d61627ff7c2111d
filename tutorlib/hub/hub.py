"""Pretrained models shipped inside the package: ``list()``, ``load()``, ``help()``, ``info()``.

MegEngine's ``hub.load("megengine/models", "resnet18", pretrained=True)`` downloads a
``hubconf.py`` and pickled weights from GitHub. tutorlib's hub is local and safe: the entries
are defined here, the weights are ``tl.save`` files in ``tutorlib/hub/weights/`` (no pickle,
nothing executed on load) and ``weights/manifest.json`` records each file's SHA-256, checked
on every load, together with how the weights were trained and the test accuracy measured for
them (``python -m tutorlib.hub.publish`` writes both; see ``docs/hub.md``).

>>> from tutorlib import hub
>>> "resnet20_cifar10" in hub.list()
True
>>> model = hub.load("resnet20_cifar10")        # architecture only, random weights
>>> type(model).__name__, model.fc.out_features
('ResNet', 10)
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

from .. import serialization
from ..data import transform as T
from ..models import resnet20

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
MANIFEST = "manifest.json"


class HubError(ValueError):
    """A pretrained-weights file is missing, corrupt, or not what the manifest records."""


@dataclass(frozen=True)
class Entry:
    """One hub model: how to build it and how its inputs must be prepared."""

    name: str
    builder: object
    description: str
    kwargs: dict = field(default_factory=dict)
    mean: tuple = ()        # per-channel Normalize constants, in the dataset's channel order
    std: tuple = ()
    class_names: tuple = ()
    input_size: int = 32

    def build(self, **overrides):
        return self.builder(**{**self.kwargs, **overrides})


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")

_ENTRIES = {
    "resnet20_cifar10": Entry(
        name="resnet20_cifar10",
        builder=resnet20,
        description="ResNet-20 (CIFAR ResNet, 3 stages of 3 basic blocks, 16/32/64 channels, "
                    "1x1-conv shortcuts) trained on CIFAR-10 by python -m tutorlib.hub.train",
        kwargs={"num_classes": 10},
        # The training images' per-channel mean and std, BGR order (as tutorlib's CIFAR10 and
        # MegEngine's CIFAR examples).
        mean=(113.865, 122.950, 125.307),
        std=(66.705, 62.089, 62.993),
        class_names=CIFAR10_CLASSES,
    ),
}


def list() -> list:  # shadows the builtin, as MegEngine's hub.list does
    """The names of the hub's models, sorted.

    >>> list()
    ['resnet20_cifar10']
    """
    return sorted(_ENTRIES)


def entry(name: str) -> Entry:
    """The :class:`Entry` called ``name`` (a clear error listing the names otherwise)."""
    if name not in _ENTRIES:
        raise KeyError(f"hub: no model called {name!r}; available: {', '.join(list())}")
    return _ENTRIES[name]


def _manifest(root: str) -> dict:
    path = os.path.join(root, MANIFEST)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise HubError(f"hub: {path} is not valid JSON ({e})") from None


def info(name: str, root: str | None = None) -> dict | None:
    """What the manifest records about ``name``'s published weights (None if there are none):
    file, sha256, test accuracy, the epoch and recipe, and whether training was finished."""
    entry(name)
    return _manifest(root or WEIGHTS_DIR).get(name)


def sha256(path: str) -> str:
    """The SHA-256 of a file, as a hex string."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_path(name: str, root: str | None = None) -> str:
    """The verified path of ``name``'s weights file: it must exist and match the manifest's SHA-256."""
    root = root or WEIGHTS_DIR
    record = info(name, root)
    if record is None:
        raise HubError(f"hub: no pretrained weights are published for {name!r} in {root} "
                       f"(train with `python -m tutorlib.hub.train {name} --out DIR`, then "
                       f"`python -m tutorlib.hub.publish {name} DIR/checkpoint.tl`; see docs/hub.md)")
    path = os.path.join(root, record["file"])
    if not os.path.exists(path):
        raise HubError(f"hub: the weights file of {name!r} is missing: {path} (the manifest lists "
                       f"it; restore it with `git checkout -- {path}` or reinstall tutorlib)")
    found = sha256(path)
    if found != record["sha256"]:
        raise HubError(f"hub: the weights file {path} is corrupt or was replaced: its SHA-256 is "
                       f"{found}, the manifest expects {record['sha256']} (restore it with "
                       f"`git checkout -- {path}`, or publish new weights with "
                       f"`python -m tutorlib.hub.publish`)")
    return path


def load(name: str, pretrained: bool = False, *, root: str | None = None, **kwargs):
    """Build hub model ``name``; with ``pretrained=True`` load its published, checksummed weights.

    ``kwargs`` go to the model's constructor (e.g. ``num_classes``; the weights must then still
    fit). ``root`` is the weights folder (default: the package's ``weights/``). The model comes
    back in training mode, as every new module: call ``model.eval()`` before evaluating.
    """
    model = entry(name).build(**kwargs)
    if pretrained:
        path = weights_path(name, root)
        saved = serialization.load(path)
        if not isinstance(saved, dict) or saved.get("name") != name or "state_dict" not in saved:
            raise HubError(f"hub: {path} does not hold weights for {name!r}")
        model.load_state_dict(saved["state_dict"])
    return model


def transform(name: str, train: bool = False, seed: int | None = None):
    """The input pipeline of hub model ``name`` for HWC uint8 images (as the dataset gives them).

    ``train=False``: ``Normalize(mean, std)`` and ``ToMode("CHW")``. ``train=True`` puts the
    standard CIFAR augmentation first: ``RandomCrop(32, padding_size=4)`` and
    ``RandomHorizontalFlip()``, seeded from ``seed`` (and reseeded per batch by the loader).

    >>> transform("resnet20_cifar10").transforms[0].mean.round(1)
    array([113.9, 123. , 125.3], dtype=float32)
    """
    e = entry(name)
    steps = [T.Normalize(e.mean, e.std), T.ToMode("CHW")]
    if train:
        base = 0 if seed is None else int(seed)
        steps = [T.RandomCrop(e.input_size, padding_size=4, seed=base),
                 T.RandomHorizontalFlip(seed=base + 1)] + steps
    return T.Compose(steps)


def help(name: str, root: str | None = None) -> str:  # as MegEngine's hub.help
    """A description of ``name`` and of its published weights (accuracy, training state)."""
    e = entry(name)
    record = info(name, root)
    lines = [f"{name}: {e.description}"]
    if record is None:
        lines.append("no pretrained weights published yet")
    else:
        lines.append(f"weights: {record['file']} (sha256 {record['sha256'][:12]}...), "
                     f"epoch {record['epoch']} of {record['epochs']}"
                     + ("" if record.get("final") else " - an INTERMEDIATE checkpoint"))
        lines.append(f"CIFAR-10 test accuracy: top-1 {record['test_top1']:.2%}, "
                     f"top-5 {record['test_top5']:.2%} (measured by tutorlib.hub.publish)")
        if record.get("note"):
            lines.append(record["note"])
    return "\n".join(lines)
