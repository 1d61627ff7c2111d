"""``ImageFolder``: a dataset from a folder with one sub-folder of images per class."""
from __future__ import annotations

import os

import numpy as np
from PIL import Image

from .meta import Dataset

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def read_image(path: str) -> np.ndarray:
    """An image file as an (H, W, 3) uint8 array in BGR order (as OpenCV's ``imread``).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "red.png")
    >>> Image.new("RGB", (2, 1), (255, 0, 0)).save(path)
    >>> read_image(path)
    array([[[  0,   0, 255],
            [  0,   0, 255]]], dtype=uint8)
    """
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[..., ::-1])


class ImageFolder(Dataset):
    """Images arranged as ``root/<class name>/<image file>``; classes are the sorted folder names.

    A sample is ``(image, label)`` (plus the class name if ``class_name=True``): the image is
    read with Pillow as (H, W, 3) uint8 in **BGR** order, like MegEngine (use
    ``image[..., ::-1]`` to display it); the label is an int32 index into ``classes``.
    ``check_valid_func(path)`` decides which files count (default: common image extensions).

    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ("cat", "dog"):
    ...     os.makedirs(os.path.join(root, name))
    ...     Image.new("RGB", (4, 3)).save(os.path.join(root, name, "1.png"))
    >>> ds = ImageFolder(root)
    >>> ds.classes, len(ds), ds[1][0].shape, ds[1][1]
    (['cat', 'dog'], 2, (3, 4, 3), np.int32(1))
    """

    def __init__(self, root, check_valid_func=None, class_name=False):
        self.root = os.path.abspath(os.fspath(root))
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a folder")
        is_valid = check_valid_func or (lambda p: p.lower().endswith(IMAGE_EXTENSIONS))
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self.samples = []
        for name in self.classes:
            for folder, _, files in sorted(os.walk(os.path.join(self.root, name))):
                self.samples += [(os.path.join(folder, f), self.class_to_idx[name])
                                 for f in sorted(files) if is_valid(os.path.join(folder, f))]
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no images in {self.root}/<class>/ folders")
        self.class_name = class_name

    def __getitem__(self, index):
        path, label = self.samples[index]
        if self.class_name:
            return read_image(path), np.int32(label), self.classes[label]
        return read_image(path), np.int32(label)

    def __len__(self) -> int:
        return len(self.samples)
