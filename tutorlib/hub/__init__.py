"""Pretrained models (as ``megengine.hub``), shipped inside the package in the safe format.

>>> from tutorlib import hub
>>> hub.list()
['resnet20_cifar10']

``hub.load("resnet20_cifar10", pretrained=True)`` builds the model and loads its weights after
checking their SHA-256; ``hub.help(name)`` says how they were trained and how accurate they are.
Training: ``python -m tutorlib.hub.train``; publishing a checkpoint: ``python -m
tutorlib.hub.publish``; measuring: ``python -m tutorlib.hub.evaluate`` (see ``docs/hub.md``).
"""
from .hub import (
    WEIGHTS_DIR,
    Entry,
    HubError,
    entry,
    help,
    info,
    list,
    load,
    sha256,
    transform,
    weights_path,
)

__all__ = ["WEIGHTS_DIR", "Entry", "HubError", "entry", "help", "info", "list", "load", "sha256",
           "transform", "weights_path"]
