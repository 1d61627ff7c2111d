"""The work behind one batch: read samples, transform them, collate them (main process or worker)."""
from __future__ import annotations

from .collator import Collator
from .transform.base import apply_stacked


def collate_batch(samples, transform, collator, key):
    """Transform a list of samples and collate them into one batch."""
    transform.reseed(*key)
    return (collator or Collator()).apply(transform.apply_batch(samples))


def load_batch(dataset, indices, transform, collator, key):
    """The batch of ``dataset`` at ``indices``; ``key = (epoch, batch)`` reseeds random transforms.

    With the default collator, a dataset that can gather whole columns (``get_batch``, e.g.
    ``ArrayDataset`` and the built-in datasets) and a transform with ``apply_stacked`` (every
    ``VisionTransform``), the batch is built from stacked arrays in a few vectorised numpy calls.
    The result is identical to transforming and collating sample by sample.
    """
    if collator is None and hasattr(dataset, "get_batch") and hasattr(transform, "apply_stacked"):
        transform.reseed(*key)
        out = apply_stacked(transform, dataset.get_batch(indices))
        return list(out) if isinstance(out, tuple) else out
    return collate_batch([dataset[i] for i in indices], transform, collator, key)
