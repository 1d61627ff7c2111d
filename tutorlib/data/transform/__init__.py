"""Data transforms (MegEngine's ``megengine.data.transform``), numpy only. Use as ``T``:

>>> import numpy as np
>>> import tutorlib.data.transform as T
>>> quick_start = T.Compose([T.Normalize(0.1307 * 255, 0.3081 * 255), T.Pad(2), T.ToMode("CHW")])
>>> image, label = quick_start.apply((np.zeros((28, 28, 1), np.uint8), 5))
>>> image.shape, image.dtype, label
((1, 32, 32), dtype('float32'), 5)

Images are HWC arrays (``ToMode("CHW")`` comes last); colour transforms assume BGR order.
Random transforms take ``seed=`` and own a numpy Generator (see ``RandomTransform``).
"""
from .base import Compose, PseudoTransform, RandomTransform, Transform, VisionTransform
from .color import (
                    BrightnessTransform,
                    ColorJitter,
                    ContrastTransform,
                    HueTransform,
                    Lighting,
                    Normalize,
                    SaturationTransform,
)
from .geometry import (
                    CenterCrop,
                    Pad,
                    RandomCrop,
                    RandomHorizontalFlip,
                    RandomResizedCrop,
                    RandomVerticalFlip,
                    Resize,
                    ToMode,
)

__all__ = [
                    "BrightnessTransform",
                    "CenterCrop",
                    "ColorJitter",
                    "Compose",
                    "ContrastTransform",
                    "HueTransform",
                    "Lighting",
                    "Normalize",
                    "Pad",
                    "PseudoTransform",
                    "RandomCrop",
                    "RandomHorizontalFlip",
                    "RandomResizedCrop",
                    "RandomTransform",
                    "RandomVerticalFlip",
                    "Resize",
                    "SaturationTransform",
                    "ToMode",
                    "Transform",
                    "VisionTransform",
]
