"""Where samplers and random transforms get a seed when you don't pass ``seed=``."""
from __future__ import annotations

import sys

import numpy as np


def fresh_seed() -> int:
    """A new seed in [0, 2**32) drawn from the library's global generator.

    It comes from ``tutorlib.random.generator()`` when ``tutorlib.random`` is loaded, so
    ``tutorlib.random.seed(n)`` makes every sampler and random transform built afterwards
    repeatable; otherwise from numpy's global state (``np.random.seed(n)`` then does the same).
    The data package looks the module up instead of importing it, so it never pulls in tensors.

    >>> import tutorlib.random
    >>> tutorlib.random.seed(0); a = fresh_seed()
    >>> tutorlib.random.seed(0); a == fresh_seed()
    True
    """
    generator = getattr(sys.modules.get("tutorlib.random"), "generator", None)
    if generator is not None:
        return int(generator().integers(2**32))
    return int(np.random.randint(2**32, dtype=np.int64))
