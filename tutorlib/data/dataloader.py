"""``DataLoader``: iterate a dataset in batches of numpy arrays."""
from __future__ import annotations

import itertools

from ._fetch import collate_batch, load_batch
from ._workers import WorkerIterator
from .dataset.meta import StreamDataset
from .sampler import SequentialSampler, StreamSampler
from .transform.base import PseudoTransform


class DataLoader:
    """Batches of ``dataset`` in the order given by ``sampler``, transformed and collated.

    For each batch of indices: ``samples = [dataset[i] for i in batch]``, then
    ``transform.apply_batch(samples)``, then ``collator.apply(...)`` (default: ``Collator``, so
    ``(image, label)`` samples give the list ``[images, labels]`` of numpy arrays). With the
    default collator, datasets with ``get_batch`` (``ArrayDataset``, MNIST, CIFAR10, ...) are
    gathered and transformed as whole stacked arrays: same result, much faster.

    - ``sampler``: default ``SequentialSampler(dataset, batch_size=1)``; ``len(loader)`` is
      ``len(sampler)``, the number of batches.
    - ``num_workers > 0``: batches are made by that many spawned worker processes, in the same
      order; the workers stop when the loop ends or is left (``break``, an error).
      The dataset, transform and collator must then be picklable and importable. Workers pay
      off for slow samples (decoding image files, per-sample transforms); for in-memory arrays
      such as MNIST the single-process stacked path is usually faster (see
      ``benchmarks/dataloader.py``).
    - ``timeout``: with workers, the longest wait in seconds for one batch (0: no limit).

    Random transforms are reseeded from (their seed, epoch, batch number) before each batch, so
    the same seeds give the same batches with any ``num_workers``.

    >>> import numpy as np
    >>> from tutorlib.data import ArrayDataset, DataLoader, SequentialSampler
    >>> ds = ArrayDataset(np.zeros((10, 3), np.float32), np.arange(10, dtype=np.int32))
    >>> loader = DataLoader(ds, sampler=SequentialSampler(ds, batch_size=4))
    >>> len(loader), [(x.shape, y.tolist()) for x, y in loader][-1]
    (3, ((2, 3), [8, 9]))
    """

    def __init__(self, dataset, sampler=None, transform=None, collator=None, num_workers=0,
                 timeout=0):
        stream = isinstance(dataset, StreamDataset)
        if sampler is None:
            sampler = StreamSampler(batch_size=1) if stream else SequentialSampler(dataset, 1)
        if stream != isinstance(sampler, StreamSampler):
            raise ValueError("a StreamDataset needs a StreamSampler, and a StreamSampler needs "
                             f"a StreamDataset; got {type(dataset).__name__} with "
                             f"{type(sampler).__name__}")
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers should be a non-negative int, got {num_workers!r}")
        if timeout < 0:
            raise ValueError(f"timeout should be >= 0 seconds, got {timeout!r}")
        self.dataset = dataset
        self.sampler = sampler
        self.transform = PseudoTransform() if transform is None else transform
        self.collator = collator
        self.num_workers = num_workers
        self.timeout = timeout
        self._epoch = 0

    def __len__(self) -> int:
        if isinstance(self.sampler, StreamSampler):
            raise TypeError("a DataLoader over a StreamDataset has no length")
        return len(self.sampler)

    def _tasks(self, epoch):
        """``(key, indices, samples)`` for each batch: indices for map datasets, else samples."""
        if isinstance(self.sampler, StreamSampler):
            stream = iter(self.dataset)
            for k, size in enumerate(self.sampler):
                samples = list(itertools.islice(stream, size))
                if not samples:
                    return
                yield (epoch, k), None, samples
        else:
            for k, indices in enumerate(self.sampler):
                yield (epoch, k), indices, None

    def __iter__(self):
        epoch, self._epoch = self._epoch, self._epoch + 1
        tasks = self._tasks(epoch)
        if self.num_workers == 0:
            return self._serial(tasks)
        dataset = None if isinstance(self.sampler, StreamSampler) else self.dataset
        return WorkerIterator(dataset, self.transform, self.collator, tasks, self.num_workers,
                              self.timeout)

    def _serial(self, tasks):
        for key, indices, samples in tasks:
            if samples is None:
                yield load_batch(self.dataset, indices, self.transform, self.collator, key)
            else:
                yield collate_batch(samples, self.transform, self.collator, key)
