"""MNIST and Fashion-MNIST: 28x28 grey images in the gzipped IDX format."""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from typing import ClassVar

import numpy as np

from ..download import DEFAULT_TIMEOUT, CorruptFileError
from .meta import SupervisedDataset
from .storage import dataset_folder, fetch_or_explain, missing_files, missing_message


def read_idx(path: str, shape: tuple | None = None, max_items: int | None = None) -> np.ndarray:
    """The array stored in an IDX file (gzipped or not), checked against its header.

    IDX: 2 zero bytes, a type byte (0x08 = uint8), the number of dimensions, each dimension as a
    big-endian uint32, then the values. A truncated or damaged file raises ``CorruptFileError``.
    ``shape`` is the expected shape (``None`` for any size, e.g. ``(None, 28, 28)``) and
    ``max_items`` a bound on the first dimension; both are checked on the header, *before* the
    values are decompressed, and no more bytes than the header announces (plus one) are ever
    decompressed, so a gzip bomb cannot fill the memory.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> header = bytes([0, 0, 8, 1]) + struct.pack(">I", 3)    # uint8, 1 dimension of 3
    >>> _ = open(path, "wb").write(gzip.compress(header + bytes([7, 2, 1])))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    again = "; delete it and download or copy it again"
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[:3] != b"\x00\x00\x08":
                raise CorruptFileError(f"{path} is not a uint8 IDX file{again}")
            ndim = head[3]
            if ndim > (4 if shape is None else len(shape)) or ndim < 1:
                expected = "1 to 4" if shape is None else str(len(shape))
                raise CorruptFileError(f"{path}: its header declares {ndim} dimensions, expected "
                                       f"{expected}{again}")
            raw_dims = f.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise CorruptFileError(f"{path} is truncated inside its header{again}")
            dims = struct.unpack(f">{ndim}I", raw_dims)
            if shape is not None and any(e is not None and d != e for d, e in zip(dims, shape)):
                want = "x".join("N" if e is None else str(e) for e in shape)
                raise CorruptFileError(f"{path} holds an array of shape {dims}, expected "
                                       f"{want}{again}")
            if max_items is not None and dims[0] > max_items:
                raise CorruptFileError(f"{path} declares {dims[0]} items, more than the "
                                       f"{max_items} this dataset has{again}")
            size = math.prod(dims)
            body = f.read(size + 1)       # at most one byte more than the header promises
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise CorruptFileError(f"{path} is corrupt or truncated ({exc}){again}") from exc
    if len(body) != size:
        kind = "truncated" if len(body) < size else "longer than its header says"
        raise CorruptFileError(f"{path} is {kind}: its header promises {size} values after the "
                               f"{4 + 4 * ndim}-byte header{again}")
    return np.frombuffer(bytearray(body), np.uint8).reshape(dims)


class MNIST(SupervisedDataset):
    """The MNIST handwritten digits: 60000 training and 10000 test images.

    A sample is ``(image, label)``: a (28, 28, 1) uint8 HWC image (0..255) and an int32 label.
    ``.data`` (N, 28, 28, 1) and ``.targets`` (N,) hold the whole set as numpy arrays.

    Files come from ``root`` (see ``storage.dataset_folder``), ``$TUTORLIB_DATA/mnist`` or
    ``~/.cache/tutorlib/mnist``; missing ones are downloaded (``download=True``) from the first
    working entry of ``mirrors`` and checked against ``checksums`` (both overridable: pass
    ``mirrors=`` or subclass); a mirror that is silent for ``timeout`` seconds is given up.
    Existing files are checked for structure (gzip, IDX header, size), not checksums.

    >>> train = MNIST(train=True)                     # doctest: +SKIP
    >>> len(train), train[0][0].shape, train.data.shape, train.targets.dtype  # doctest: +SKIP
    (60000, (28, 28, 1), (60000, 28, 28, 1), dtype('int32'))

    Without the files and without ``download``, the error says what to put where:

    >>> import tempfile
    >>> MNIST(root=tempfile.mkdtemp(), train=False, download=False)
    Traceback (most recent call last):
    ...
    tutorlib.data.dataset.storage.MissingDataError: MNIST: missing data files:
      .../t10k-images-idx3-ubyte.gz
      .../t10k-labels-idx1-ubyte.gz
    Download them (any mirror) from:
      https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz
    ...
    """

    folder = "mnist"
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "https://storage.googleapis.com/cvdf-datasets/mnist/",
               "http://yann.lecun.com/exdb/mnist/")
    checksums: ClassVar[dict] = {"train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
                 "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
                 "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
                 "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c"}
    class_names = tuple(str(d) for d in range(10))

    def __init__(self, root=None, train=True, download=True, timeout=DEFAULT_TIMEOUT, *,
                 mirrors=None):
        self.root = dataset_folder(root, self.folder)
        self.train = train
        prefix = "train" if train else "t10k"
        names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
        self._fetch(names, list(mirrors or self.mirrors), download, timeout)
        n = 60000 if train else 10000
        images = read_idx(os.path.join(self.root, names[0]), (None, 28, 28), max_items=n)
        labels = read_idx(os.path.join(self.root, names[1]), (None,), max_items=n)
        if len(images) != len(labels):
            raise CorruptFileError(f"{self.root}: {names[0]} holds {images.shape} and {names[1]} "
                                   f"holds {labels.shape}; expected N images and N labels")
        classes = len(self.class_names)
        if labels.size and labels.max() >= classes:
            raise CorruptFileError(f"{os.path.join(self.root, names[1])} holds label "
                                   f"{labels.max()}, but {type(self).__name__} has {classes} "
                                   f"classes (0..{classes - 1})")
        super().__init__(images[..., None], labels.astype(np.int32))

    def _fetch(self, names, mirrors, download, timeout):
        missing = missing_files(self.root, names)
        if not missing:
            return
        sources = "\n".join(f"  {m}{os.path.basename(p)}" for p in missing for m in mirrors)
        message = missing_message(type(self).__name__, missing,
                                  f"Download them (any mirror) from:\n{sources}")
        for path in missing:
            name = os.path.basename(path)
            fetch_or_explain([m + name for m in mirrors], path, self.checksums[name], message,
                             download, timeout)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 kinds of clothing, as ``MNIST``.

    Labels name ``FashionMNIST.class_names[label]``. Files live in ``fashion-mnist/``.

    >>> FashionMNIST.class_names[9]
    'Ankle boot'
    """

    folder = "fashion-mnist"
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")
    checksums: ClassVar[dict] = {"train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                 "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
                 "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
                 "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310"}
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
