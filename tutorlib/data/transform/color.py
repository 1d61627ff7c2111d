"""Transforms that change pixel values: normalisation and colour augmentation.

Colour transforms expect 0..255 images in **BGR** channel order (as MegEngine, whose images come
from OpenCV; ``CIFAR10`` samples are BGR too). They compute in float32, clip to 0..255 and cast
back to the input dtype after each step, like MegEngine (rounding where MegEngine truncates).
"""
from __future__ import annotations

import numpy as np

from . import functional as F
from .base import RandomTransform, VisionTransform


class Normalize(VisionTransform):
    """``(image - mean) / std`` with float32 ``mean`` and ``std`` (numbers or one per channel).

    A uint8 image becomes float32; any shape works, e.g. feature vectors.

    >>> Normalize(mean=127.5, std=127.5).apply(np.array([[[0], [255]]], np.uint8))[..., 0]
    array([[-1.,  1.]], dtype=float32)
    """

    stackable = True

    def __init__(self, mean=0.0, std=1.0, *, order=None):
        super().__init__(order)
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)

    def _apply_image(self, image):
        mean, std = self.mean, self.std
        if np.broadcast_shapes(image.shape, mean.shape, std.shape) != image.shape:
            return (image - mean) / std
        out = image.astype(np.result_type(image.dtype, mean.dtype))
        if out.ndim >= 2 and max(mean.ndim, std.ndim) == 1 and max(mean.size, std.size) > 1:
            # Per-channel constants repeated along W: numpy then runs long inner loops instead
            # of loops of C elements (several times faster; the same values).
            w, c = image.shape[-2:]
            out = out.reshape(out.shape[:-2] + (w * c,))
            mean, std = (np.tile(np.broadcast_to(a, (c,)), w) for a in (mean, std))
        out -= mean
        out /= std
        return out.reshape(image.shape)


def _finish(image, dtype):
    if np.issubdtype(dtype, np.integer):
        image = np.rint(image)  # float32 sums like 99.99999 must give 100, not 99
    return image.clip(0, 255).astype(dtype)


def brightness(image, alpha):
    """Scale all pixel values by ``alpha``.

    >>> brightness(np.array([[[10, 200, 250]]], np.uint8), 1.2)
    array([[[ 12, 240, 255]]], dtype=uint8)
    """
    return _finish(image.astype(np.float32) * alpha, image.dtype)


def contrast(image, alpha):
    """Blend with the image's mean grey level: ``alpha < 1`` flattens, ``> 1`` stretches.

    >>> contrast(np.array([[[0, 0, 0]], [[200, 200, 200]]], np.uint8), 0.5)[:, 0, 0]
    array([ 50, 150], dtype=uint8)
    """
    x = image.astype(np.float32)
    return _finish(x * alpha + F.to_gray(x).mean() * (1 - alpha), image.dtype)


def saturation(image, alpha):
    """Blend each pixel with its own grey level: ``alpha = 0`` gives a grey image.

    >>> saturation(np.array([[[255, 0, 0]]], np.uint8), 0.0)   # blue -> its grey level
    array([[[29, 29, 29]]], dtype=uint8)
    """
    x = image.astype(np.float32)
    return _finish(x * alpha + F.to_gray(x) * (1 - alpha), image.dtype)


def hue(image, alpha):
    """Turn the hue by ``alpha`` of a full circle (a 3-channel image; grey images are unchanged).

    >>> hue(np.array([[[255, 0, 0]]], np.uint8), 1 / 3)   # a third of a turn: B -> G
    array([[[  0, 255,   0]]], dtype=uint8)
    """
    if image.shape[-1] != 3:
        return image
    return _finish(image.astype(np.float32) @ F.hue_rotation(2 * np.pi * alpha).T, image.dtype)


_ADJUST = {"brightness": brightness, "contrast": contrast, "saturation": saturation, "hue": hue}


def _alpha_range(kind: str, value: float) -> tuple[float, float]:
    if kind == "hue":
        if not 0 <= value <= 0.5:
            raise ValueError(f"hue should be in [0, 0.5], got {value}")
        return -value, value
    if value < 0:
        raise ValueError(f"{kind} should be non-negative, got {value}")
    return max(0.0, 1 - value), 1 + value


class ColorJitter(RandomTransform):
    """Randomly change brightness, contrast, saturation and hue, in a random order per image.

    Factors are uniform in ``[max(0, 1 - v), 1 + v]`` (hue: a turn in ``[-v, v]`` of a circle,
    ``v <= 0.5``); a 0 switches that change off. The hue turn rotates colours around the grey axis
    (OpenCV's HSV shift is not available in numpy; the two agree closely).

    >>> out = ColorJitter(0.4, 0.4, 0.4, 0.1, seed=0).apply(np.full((4, 4, 3), 100, np.uint8))
    >>> out.shape, out.dtype
    ((4, 4, 3), dtype('uint8'))
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, *, seed=None, order=None):
        super().__init__(seed, order=order)
        values = {"brightness": brightness, "contrast": contrast, "saturation": saturation,
                  "hue": hue}
        self.ranges = {k: _alpha_range(k, v) for k, v in values.items() if v != 0}

    def _apply_image(self, image):
        kinds = list(self.ranges)
        for i in self.rng.permutation(len(kinds)):
            image = _ADJUST[kinds[i]](image, self.rng.uniform(*self.ranges[kinds[i]]))
        return image


class BrightnessTransform(ColorJitter):
    """Multiply pixel values by a random factor in ``[max(0, 1 - value), 1 + value]``.

    >>> BrightnessTransform(0.5, seed=0).apply(np.full((1, 1, 3), 100, np.uint8)).shape
    (1, 1, 3)
    """

    def __init__(self, value, *, seed=None, order=None):
        super().__init__(brightness=value, seed=seed, order=order)


class ContrastTransform(ColorJitter):
    """Random contrast factor in ``[max(0, 1 - value), 1 + value]``.

    >>> ContrastTransform(0.5, seed=0).apply(np.full((1, 1, 3), 100, np.uint8))[0, 0]
    array([100, 100, 100], dtype=uint8)
    """

    def __init__(self, value, *, seed=None, order=None):
        super().__init__(contrast=value, seed=seed, order=order)


class SaturationTransform(ColorJitter):
    """Random saturation factor in ``[max(0, 1 - value), 1 + value]``.

    >>> SaturationTransform(0.5, seed=0).apply(np.full((1, 1, 3), 100, np.uint8))[0, 0]
    array([100, 100, 100], dtype=uint8)
    """

    def __init__(self, value, *, seed=None, order=None):
        super().__init__(saturation=value, seed=seed, order=order)


class HueTransform(ColorJitter):
    """Random hue turn in ``[-value, value]`` of a full circle (``0 <= value <= 0.5``).

    >>> HueTransform(0.5, seed=0).apply(np.full((1, 1, 3), 100, np.uint8))[0, 0]   # grey stays
    array([100, 100, 100], dtype=uint8)
    """

    def __init__(self, value, *, seed=None, order=None):
        super().__init__(hue=value, seed=seed, order=order)


class Lighting(RandomTransform):
    """AlexNet-style PCA lighting noise: add ``eigvec @ (alpha * eigval)`` with
    ``alpha ~ N(0, scale * 255)`` per image, using ImageNet's colour eigenvectors (3 channels).

    >>> Lighting(0.1, seed=0).apply(np.full((2, 2, 3), 128, np.uint8)).dtype
    dtype('uint8')
    """

    eigvec = np.array([[-0.5836, -0.6948, 0.4203],
                       [-0.5808, -0.0045, -0.8140],
                       [-0.5675, 0.7192, 0.4009]])
    eigval = np.array([0.2175, 0.0188, 0.0045])

    def __init__(self, scale, *, seed=None, order=None):
        super().__init__(seed, order=order)
        if scale < 0:
            raise ValueError(f"lighting scale should be non-negative, got {scale}")
        self.scale = scale

    def _apply_image(self, image):
        if image.shape[-1] != 3:
            raise ValueError(f"Lighting needs a 3-channel image, got shape {image.shape}")
        if self.scale == 0:
            return image
        alpha = self.rng.normal(scale=self.scale * 255, size=3)
        shift = (self.eigvec @ (alpha * self.eigval)).astype(np.float32)
        return _finish(image.astype(np.float32) + shift, image.dtype)
