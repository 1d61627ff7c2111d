"""Turning a list of samples into one batch of numpy arrays (MegEngine's default ``Collator``)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


class Collator:
    """Stack a list of samples into a batch, recursively, like MegEngine.

    - numpy arrays are ``np.stack``-ed (a new leading batch axis);
    - numpy scalars become an array of their dtype, Python floats float64, Python ints int64 (bools bool);
    - strings stay a list;
    - dicts are collated key by key, tuples/lists element by element. A tuple sample
      ``(image, label)`` becomes the **list** ``[batch_images, batch_labels]``.

    >>> batch = Collator().apply([(np.zeros((2, 2)), np.int32(1)), (np.ones((2, 2)), np.int32(0))])
    >>> type(batch).__name__, batch[0].shape, batch[1]
    ('list', (2, 2, 2), array([1, 0], dtype=int32))
    """

    def apply(self, inputs):
        elem = inputs[0]
        if isinstance(elem, np.ndarray):
            if elem.dtype.kind in "OUS":
                raise TypeError(f"Collator cannot stack arrays of dtype {elem.dtype}")
            return np.stack(inputs)
        if isinstance(elem, np.generic):
            return np.array(inputs)
        if isinstance(elem, float):
            return np.array(inputs, dtype=np.float64)
        if isinstance(elem, int):
            return np.array(inputs)
        if isinstance(elem, (str, bytes)):
            return list(inputs)
        if isinstance(elem, Mapping):
            return {key: self.apply([d[key] for d in inputs]) for key in elem}
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*(self.apply(list(field)) for field in zip(*inputs)))
        if isinstance(elem, Sequence):
            if len({len(sample) for sample in inputs}) != 1:
                raise ValueError("every sample in a batch must have the same number of elements")
            return [self.apply(list(field)) for field in zip(*inputs)]
        raise TypeError(f"Collator cannot batch samples of type {type(elem).__name__}")
