"""Transforms that move pixels: padding, layout, resizing, cropping, flipping."""
from __future__ import annotations

import math

import numpy as np

from . import functional as F
from .base import RandomTransform, VisionTransform


def _pair(size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(size)


def _offset(u: float, room: int) -> int:
    """Uniform integer in [0, room] from one uniform float (so stacked and per-image draws agree)."""
    return int(u * (room + 1))


class Pad(VisionTransform):
    """Pad the image borders with ``value``: ``size`` is an int (all sides), (bottom, right) or
    (top, bottom, left, right). A float ``value`` makes the image float32.

    >>> Pad(2).apply(np.ones((28, 28, 1), np.uint8)).shape
    (32, 32, 1)
    """

    stackable = True

    def __init__(self, size=0, value=0, *, order=None):
        super().__init__(order)
        self.size = F.pad_sizes(size)
        self.value = value

    def _apply_image(self, image):
        return F.pad(image, self.size, self.value)


class ToMode(VisionTransform):
    """Change the layout from HWC to CHW (the layout convolutions expect); only "CHW" exists.

    >>> ToMode("CHW").apply(np.zeros((32, 32, 3))).shape
    (3, 32, 32)
    """

    stackable = True

    def __init__(self, mode="CHW", *, order=None):
        super().__init__(order)
        if mode != "CHW":
            raise ValueError(f"unsupported mode {mode!r}: only 'CHW' is available")
        self.mode = mode

    def _apply_image(self, image):
        return np.ascontiguousarray(np.moveaxis(image, -1, -3))


class Resize(VisionTransform):
    """Resize to ``output_size``: an int sets the shorter side (keeping the aspect ratio), a pair
    is (height, width). ``interpolation`` is "linear" (bilinear) or "nearest".

    >>> Resize(16).apply(np.zeros((32, 64, 3), np.uint8)).shape
    (16, 32, 3)
    """

    stackable = True

    def __init__(self, output_size, interpolation="linear", *, order=None):
        super().__init__(order)
        self.output_size = output_size
        self.interpolation = interpolation

    def target_size(self, h: int, w: int) -> tuple[int, int]:
        """The (height, width) an h x w image is resized to."""
        if not isinstance(self.output_size, (int, np.integer)):
            return tuple(self.output_size)
        size = int(self.output_size)
        if min(h, w) == size:
            return h, w
        return (size, int(size * w / h)) if h < w else (int(size * h / w), size)

    def _apply_image(self, image):
        return F.resize(image, self.target_size(*image.shape[-3:-1]), self.interpolation)


class CenterCrop(VisionTransform):
    """Cut the central ``output_size`` (int or (height, width)) region out of the image.

    >>> CenterCrop(24).apply(np.zeros((32, 32, 3))).shape
    (24, 24, 3)
    """

    stackable = True

    def __init__(self, output_size, *, order=None):
        super().__init__(order)
        self.output_size = _pair(output_size)

    def _apply_image(self, image):
        th, tw = self.output_size
        h, w = image.shape[-3:-1]
        if th > h or tw > w:
            raise ValueError(f"CenterCrop{self.output_size} is larger than the {h}x{w} image")
        y, x = round((h - th) / 2), round((w - tw) / 2)
        return image[..., y:y + th, x:x + tw, :]


class RandomCrop(RandomTransform):
    """Pad by ``padding_size`` (as ``Pad``), then cut a random ``output_size`` window.

    The classic CIFAR augmentation is ``RandomCrop(32, padding_size=4)``. If the padded image is
    still smaller than the window, its bottom/right are padded up to the window size.

    >>> crop = RandomCrop(32, padding_size=4, seed=0)
    >>> crop.apply(np.zeros((32, 32, 3), np.uint8)).shape
    (32, 32, 3)
    """

    def __init__(self, output_size, padding_size=0, padding_value=0, *, seed=None, order=None):
        super().__init__(seed, order=order)
        self.output_size = _pair(output_size)
        self.padding_size = F.pad_sizes(padding_size)
        self.padding_value = padding_value

    def _padded(self, image):
        image = F.pad(image, self.padding_size, self.padding_value)
        th, tw = self.output_size
        h, w = image.shape[-3:-1]
        if th > h or tw > w:
            image = F.pad(image, (0, max(th - h, 0), 0, max(tw - w, 0)), self.padding_value)
        return image, h, w

    def _apply_image(self, image):
        image, h, w = self._padded(image)
        th, tw = self.output_size
        u = self.rng.random(2)
        x, y = _offset(u[0], max(0, w - tw)), _offset(u[1], max(0, h - th))
        return image[y:y + th, x:x + tw]

    def _apply_images(self, images):
        images, h, w = self._padded(images)
        th, tw = self.output_size
        out = np.empty((len(images), th, tw, images.shape[-1]), images.dtype)
        for i, (ux, uy) in enumerate(self.rng.random((len(images), 2))):
            x, y = _offset(ux, max(0, w - tw)), _offset(uy, max(0, h - th))
            out[i] = images[i, y:y + th, x:x + tw]
        return out


class RandomResizedCrop(RandomTransform):
    """Cut a random region (area fraction in ``scale_range``, aspect ratio in ``ratio_range``)
    and resize it to ``output_size``: the standard ImageNet training augmentation.

    After 10 failed attempts to fit such a region it takes a central crop instead.

    >>> RandomResizedCrop(24, seed=0).apply(np.zeros((40, 50, 3), np.uint8)).shape
    (24, 24, 3)
    """

    def __init__(self, output_size, scale_range=(0.08, 1.0), ratio_range=(3 / 4, 4 / 3),
                 interpolation="linear", *, seed=None, order=None):
        super().__init__(seed, order=order)
        if scale_range[0] > scale_range[1] or ratio_range[0] > ratio_range[1]:
            raise ValueError("scale_range and ratio_range should be (min, max)")
        self.output_size = _pair(output_size)
        self.scale_range = scale_range
        self.ratio_range = ratio_range
        self.interpolation = interpolation

    def region(self, height: int, width: int, attempts: int = 10):
        """Draw a crop (x, y, w, h) for a height x width image."""
        log_ratio = (math.log(self.ratio_range[0]), math.log(self.ratio_range[1]))
        for _ in range(attempts):
            area = self.rng.uniform(*self.scale_range) * height * width
            ratio = math.exp(self.rng.uniform(*log_ratio))
            w, h = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
            if 0 < w <= width and 0 < h <= height:
                x, y = self.rng.random(2)
                return _offset(x, width - w), _offset(y, height - h), w, h
        ratio = width / height
        if ratio < self.ratio_range[0]:
            w, h = width, round(width / self.ratio_range[0])
        elif ratio > self.ratio_range[1]:
            w, h = round(height * self.ratio_range[1]), height
        else:
            w, h = width, height
        return (width - w) // 2, (height - h) // 2, w, h

    def _apply_image(self, image):
        x, y, w, h = self.region(*image.shape[:2])
        return F.resize(image[y:y + h, x:x + w], self.output_size, self.interpolation)


class RandomHorizontalFlip(RandomTransform):
    """Mirror the image left-right with probability ``prob``.

    >>> image = np.arange(3).reshape(1, 3, 1)
    >>> RandomHorizontalFlip(prob=1.0, seed=0).apply(image)[..., 0]
    array([[2, 1, 0]])
    """

    axis = -2

    def __init__(self, prob=0.5, *, seed=None, order=None):
        super().__init__(seed, order=order)
        self.prob = prob

    def _apply_image(self, image):
        return np.flip(image, self.axis) if self.rng.random() < self.prob else image

    def _apply_images(self, images):
        flip = self.rng.random(len(images)) < self.prob
        out = images.copy()
        out[flip] = np.flip(images[flip], self.axis)
        return out


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror the image upside-down with probability ``prob``.

    >>> RandomVerticalFlip(prob=1.0, seed=0).apply(np.arange(3).reshape(3, 1, 1))[:, 0, 0]
    array([2, 1, 0])
    """

    axis = -3
