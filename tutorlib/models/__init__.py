"""Ready-made models (as the MegEngine Models repository): ``from tutorlib.models import resnet20``.

Pretrained weights for them come from :mod:`tutorlib.hub`.
"""
from .resnet import BasicBlock, ResNet, resnet20

__all__ = ["BasicBlock", "ResNet", "resnet20"]
