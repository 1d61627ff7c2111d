"""Data loading (MegEngine's ``megengine.data``): datasets, samplers, transforms, ``DataLoader``.

Pure numpy: batches come out as numpy arrays; wrap them with ``tutorlib.Tensor`` to train.

>>> import numpy as np
>>> import tutorlib.data as data
>>> import tutorlib.data.transform as T
>>> train = data.ArrayDataset(np.zeros((100, 28, 28, 1), np.uint8), np.zeros(100, np.int32))
>>> loader = data.DataLoader(train, sampler=data.RandomSampler(train, batch_size=64),
...                          transform=T.Compose([T.Normalize(33.3, 78.6), T.ToMode("CHW")]))
>>> images, labels = next(iter(loader))
>>> images.shape, images.dtype, labels.shape, labels.dtype
((64, 1, 28, 28), dtype('float32'), (64,), dtype('int32'))

Datasets with download and caching (MNIST, CIFAR10, ...) live in ``tutorlib.data.dataset``.
"""
from . import dataset, transform
from .collator import Collator
from .dataloader import DataLoader
from .dataset.meta import ArrayDataset, ConcatDataset, Dataset, StreamDataset
from .sampler import (
                      Infinite,
                      MapSampler,
                      RandomSampler,
                      ReplacementSampler,
                      Sampler,
                      SequentialSampler,
                      StreamSampler,
)

__all__ = [
                      "ArrayDataset",
                      "Collator",
                      "ConcatDataset",
                      "DataLoader",
                      "Dataset",
                      "Infinite",
                      "MapSampler",
                      "RandomSampler",
                      "ReplacementSampler",
                      "Sampler",
                      "SequentialSampler",
                      "StreamDataset",
                      "StreamSampler",
                      "dataset",
                      "transform",
]
