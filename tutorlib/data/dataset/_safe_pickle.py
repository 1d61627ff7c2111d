"""Loading pickles that may only contain plain data and numpy arrays.

A pickle can name any Python callable to run while loading, so a doctored data file could run
code. The datasets' pickles (CIFAR-10's "python version") only need numpy's array
reconstruction; ``load`` refuses everything else.
"""
from __future__ import annotations

import codecs
import pickle

import numpy as np

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

_ALLOWED = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): codecs.encode}
for _module in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_module}.multiarray", "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED[(f"{_module}.multiarray", "scalar")] = _multiarray.scalar
    _ALLOWED[(f"{_module}.numeric", "_frombuffer")] = _numeric._frombuffer


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays and plain Python data "
                "are allowed in a data file") from None


def load(path: str, encoding: str = "bytes"):
    """Unpickle ``path`` allowing only builtins and numpy arrays (``encoding`` as ``pickle.load``).

    >>> import os, pickle, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "ok.pkl")
    >>> pickle.dump({"x": np.arange(3)}, open(path, "wb"))
    >>> load(path)
    {'x': array([0, 1, 2])}
    >>> pickle.dump(os.system, open(path, "wb"))
    >>> load(path)
    Traceback (most recent call last):
    ...
    _pickle.UnpicklingError: refusing to load ...system: only numpy arrays ... are allowed in a data file
    """
    with open(path, "rb") as f:
        return _NumpyOnlyUnpickler(f, encoding=encoding).load()
