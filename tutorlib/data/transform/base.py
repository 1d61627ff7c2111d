"""What a transform is: ``Transform``, ``VisionTransform`` (image-only), seeded randomness, ``Compose``.

A sample is usually a tuple ``(image, label)`` with an HWC image. A ``VisionTransform`` with the
default ``order=("image",)`` changes element 0 and passes the label through; given a bare array
it treats it as the image. Besides ``apply(sample)`` and ``apply_batch(samples)`` (MegEngine's
API), vision transforms have ``apply_stacked(batch)``: the same result computed on a whole
stacked batch at once, ``apply_stacked(stack(samples)) == stack(apply_batch(samples))``, which is
what makes the ``DataLoader`` fast.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from .._seed import fresh_seed
from ..collator import Collator


class Transform(ABC):
    """Changes one sample (``apply``); ``apply_batch`` maps it over a list of samples.

    >>> class Double(Transform):
    ...     def apply(self, input): return input * 2
    >>> Double().apply_batch([1, 2])
    (2, 4)
    """

    @abstractmethod
    def apply(self, input):
        ...

    def apply_batch(self, inputs):
        """``tuple(self.apply(x) for x in inputs)``."""
        return tuple(self.apply(x) for x in inputs)

    def reseed(self, *key) -> None:  # noqa: B027  (a no-op by default, not abstract)
        """Restart the random numbers from ``key``; deterministic transforms ignore it."""


class PseudoTransform(Transform):
    """The identity transform (what ``DataLoader`` uses when you give none).

    >>> PseudoTransform().apply((1, 2))
    (1, 2)
    """

    def apply(self, input):
        return input

    def apply_stacked(self, batch):
        return batch


def _unstack(batch):
    return list(zip(*batch)) if isinstance(batch, tuple) else list(batch)


def _restack(samples):
    if isinstance(samples[0], tuple):
        return tuple(Collator().apply(list(column)) for column in zip(*samples))
    return Collator().apply(list(samples))


def apply_stacked(transform, batch):
    """``transform.apply_stacked(batch)`` if it has one, else per sample and stacked again.

    >>> class Double(Transform):
    ...     def apply(self, input): return (input[0] * 2, input[1])
    >>> apply_stacked(Double(), (np.array([1, 2]), np.array([7, 8])))
    (array([2, 4]), array([7, 8]))
    """
    if hasattr(transform, "apply_stacked"):
        return transform.apply_stacked(batch)
    return _restack(transform.apply_batch(_unstack(batch)))


class VisionTransform(Transform):
    """Base of the image transforms. Subclasses implement ``_apply_image(image)`` for one HWC image.

    ``order`` names the elements of a sample tuple: ``"image"`` entries are transformed, names
    ending in ``"category"`` or ``"info"`` (e.g. ``"image_category"`` for a label) pass through,
    and elements beyond ``order`` pass through too.

    Set ``stackable = True`` when ``_apply_image`` also works on an (N, H, W, C) stack (it only
    uses the last three axes); otherwise ``apply_stacked`` loops over the images (or override
    ``_apply_images``).

    >>> class Invert(VisionTransform):
    ...     stackable = True
    ...     def _apply_image(self, image): return 255 - image
    >>> image, label = Invert().apply((np.zeros((2, 2, 1), np.uint8), 7))
    >>> image[..., 0], label
    (array([[255, 255],
           [255, 255]], dtype=uint8), 7)
    """

    stackable = False

    def __init__(self, order=None):
        order = ("image",) if order is None else tuple(order)
        for key in order:
            if key != "image" and not key.endswith(("category", "info")):
                raise ValueError(f"unsupported order entry {key!r}: use 'image', '*category' "
                                 "or '*info'")
        self.order = order

    def apply(self, input):
        if not isinstance(input, tuple):
            return self._apply_image(input)
        return self._map(input, self._apply_image)

    def apply_stacked(self, batch):
        """``apply_batch`` for a stacked batch (an array, or a tuple of arrays, one per element)."""
        if type(self).apply is not VisionTransform.apply:  # a subclass customised apply()
            return _restack(self.apply_batch(_unstack(batch)))
        if not isinstance(batch, tuple):
            return self._apply_images(batch)
        return self._map(batch, self._apply_images)

    def _map(self, elements, func):
        out = tuple(func(x) if key == "image" else x for key, x in zip(self.order, elements))
        out += elements[len(self.order):]
        return out[0] if len(out) == 1 else out

    def _apply_image(self, image):
        raise NotImplementedError(f"{type(self).__name__} does not implement _apply_image")

    def _apply_images(self, images):
        if self.stackable:
            return self._apply_image(images)
        return np.stack([self._apply_image(image) for image in images])


class RandomTransform(VisionTransform):
    """A vision transform that draws its random numbers from its own generator ``self.rng``.

    ``seed=None`` takes a seed from the library's global generator, so ``tutorlib.random.seed(n)``
    before building the transform makes it repeatable. Each random transform owns its stream, so
    applying a ``Compose`` sample by sample or stacked gives identical results. The
    ``DataLoader`` calls ``reseed(epoch, batch)`` before each batch: augmentations then depend
    only on (seed, epoch, batch), not on how many worker processes load the data.

    >>> class Noise(RandomTransform):
    ...     def _apply_image(self, image): return image + self.rng.normal(size=image.shape)
    >>> a, b = Noise(seed=1), Noise(seed=1)
    >>> bool((a.apply(np.zeros((2, 2, 1))) == b.apply(np.zeros((2, 2, 1)))).all())
    True
    """

    def __init__(self, seed=None, *, order=None):
        super().__init__(order)
        seed = fresh_seed() if seed is None else seed
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed should be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)

    def reseed(self, *key) -> None:
        self.rng = np.random.default_rng([self.seed, *key])


class Compose(VisionTransform):
    """Apply transforms one after another.

    >>> from tutorlib.data import transform as T
    >>> pipeline = T.Compose([T.Normalize(127.5, 127.5), T.Pad(2), T.ToMode("CHW")])
    >>> image, label = pipeline.apply((np.zeros((28, 28, 1), np.uint8), 3))
    >>> image.shape, image.dtype, label
    ((1, 32, 32), dtype('float32'), 3)
    """

    def __init__(self, transforms=(), *, order=None):
        super().__init__(order)
        self.transforms = list(transforms)
        if order is not None:
            self._set_order(self.order)

    def _set_order(self, order):
        for t in self.transforms:
            if isinstance(t, Compose):
                t._set_order(order)
            if isinstance(t, VisionTransform):
                t.order = order

    def apply(self, input):
        for t in self.transforms:
            input = t.apply(input)
        return input

    def apply_stacked(self, batch):
        for t in self.transforms:
            batch = apply_stacked(t, batch)
        return batch

    def reseed(self, *key) -> None:
        for t in self.transforms:
            t.reseed(*key)
