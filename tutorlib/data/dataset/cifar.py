"""CIFAR-10 from its "python version" batches (pickled dicts), loaded without running code."""
from __future__ import annotations

import os

import numpy as np

from ..download import (
    DEFAULT_TIMEOUT,
    CorruptFileError,
    extract_members,
)
from . import _safe_pickle
from .meta import SupervisedDataset
from .storage import dataset_folder, fetch_or_explain, missing_files, missing_message


def to_rgb(images: np.ndarray) -> np.ndarray:
    """Swap BGR <-> RGB (the last axis reversed) to display an HWC image or NHWC batch.

    >>> to_rgb(np.array([[[1, 2, 3]]]))
    array([[[3, 2, 1]]])
    """
    return images[..., ::-1]


def _check_batch(path, batch):
    """``(data (n, 3072) uint8, labels (n,))`` of a loaded batch dict, or ``CorruptFileError``."""
    if not isinstance(batch, dict):
        raise CorruptFileError(f"{path} should hold a dict, got {type(batch).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        raise CorruptFileError(f"{path}: 'data' should be an (n, 3072) uint8 array")
    labels = np.asarray(labels) if labels is not None else None
    if labels is None or labels.shape != (len(data),) or labels.dtype.kind not in "iu" \
            or not np.all((labels >= 0) & (labels < 10)):
        raise CorruptFileError(f"{path}: 'labels' should be {len(data)} integers in 0..9")
    return data, labels.astype(np.int32)


def _bgr_images(rows) -> np.ndarray:
    """(N, 32, 32, 3) BGR images from batches of rows holding the R, G, B 32x32 planes.

    Copied one plane at a time: reading whole planes is much faster than a 4-D transpose.
    """
    images = np.empty((sum(len(r) for r in rows), 32, 32, 3), np.uint8)
    start = 0
    for block in rows:
        out = images[start:start + len(block)]
        for c in range(3):
            out[..., 2 - c] = block[:, 1024 * c:1024 * (c + 1)].reshape(-1, 32, 32)
        start += len(block)
    return images


def _load(path):
    try:
        return _safe_pickle.load(path)
    except Exception as exc:  # any failure to parse the file means it is damaged
        raise CorruptFileError(f"{path} is corrupt or truncated ({type(exc).__name__}: {exc}); "
                               "delete it and download or copy it again") from exc


class CIFAR10(SupervisedDataset):
    """CIFAR-10: 32x32 colour images in 10 classes, 50000 for training and 10000 for testing.

    A sample is ``(image, label)``: a (32, 32, 3) uint8 HWC image in **BGR channel order** (as
    MegEngine, which converts CIFAR's RGB for OpenCV) and an int32 label; ``class_names[label]``
    names it. Show an image with ``to_rgb(image)`` (``image[..., ::-1]``). ``.data`` (N, 32, 32, 3)
    and ``.targets`` (N,) hold the whole set.

    Files: ``cifar10/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`` in the
    data home. Missing ones are extracted from the official archive (downloaded from ``mirrors``
    and checked against ``checksum``). Existing batches are checked for structure, not against
    the original md5s, so the course's rebuilt copy loads too.

    >>> CIFAR10.class_names[:3], CIFAR10.channel_order
    (('airplane', 'automobile', 'bird'), 'BGR')
    >>> train = CIFAR10(train=True)              # doctest: +SKIP
    >>> train.data.shape, train.targets.dtype    # doctest: +SKIP
    ((50000, 32, 32, 3), dtype('int32'))
    """

    folder = "cifar10"
    batches_folder = "cifar-10-batches-py"
    archive = "cifar-10-python.tar.gz"
    checksum = "md5:c58f30108f718f92721af3b95e74349a"
    mirrors = ("https://www.cs.toronto.edu/~kriz/",)
    class_names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
    channel_order = "BGR"

    def __init__(self, root=None, train=True, download=True, timeout=DEFAULT_TIMEOUT, *,
                 mirrors=None):
        self.root = dataset_folder(root, self.folder)
        self.train = train
        names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        names = [os.path.join(self.batches_folder, n) for n in (*names, "batches.meta")]
        self._fetch(names, list(mirrors or self.mirrors), download, timeout)
        paths = [os.path.join(self.root, n) for n in names]
        meta = _load(paths[-1])
        label_names = meta.get(b"label_names", meta.get("label_names")) \
            if isinstance(meta, dict) else None
        if not isinstance(label_names, list) or len(label_names) != 10:
            raise CorruptFileError(f"{paths[-1]} should hold 10 'label_names'")
        columns = [_check_batch(p, _load(p)) for p in paths[:-1]]
        images = _bgr_images([data for data, _ in columns])
        super().__init__(images, np.concatenate([labels for _, labels in columns]))

    def _fetch(self, names, mirrors, download, timeout):
        missing = missing_files(self.root, names)
        if not missing:
            return
        urls = [m + self.archive for m in mirrors]
        message = missing_message(
            type(self).__name__, missing,
            f"They are in the archive {' or '.join(urls)} ({self.checksum}); extract it into "
            f"{self.root}.")
        archive = os.path.join(self.root, self.archive)
        fetch_or_explain(urls, archive, self.checksum, message, download, timeout)
        every = [f"{self.batches_folder}/{n}" for n in ("batches.meta", "test_batch",
                                                         *(f"data_batch_{i}" for i in range(1, 6)))]
        try:  # the archive holds both splits: extract every missing file
            extract_members(archive, {name: os.path.join(self.root, *name.split("/"))
                                      for name in every
                                      if missing_files(self.root, [name])})
        finally:
            os.remove(archive)
