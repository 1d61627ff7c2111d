"""``save(obj, f)`` and ``load(f)``: checkpoints in a documented format that never runs code.

MegEngine's ``save``/``load`` wrap pickle, which executes code from the file on load. tutorlib
stores only data: nested dicts (plain or ordered, any key type below), lists, tuples, ``None``,
bools, ints, floats, strings, numpy arrays and scalars, Tensors and Parameters. Anything else is
refused when saving, and loading never constructs anything but those types.

File format (version 1), all integers little-endian::

    offset 0   magic     8 bytes  b"\\x89TLSAVE\\n"
    offset 8   version   uint32   1
    offset 12  H         uint64   length of the header
    offset 20  header    H bytes  UTF-8 JSON: {"root": <node>, "arrays": [...], "payload_bytes": P}
    20 + H     payload   P bytes  the arrays' raw bytes (C order), one after another
    end - 4    crc32     uint32   CRC-32 of every byte before it

``arrays`` lists ``{"dtype": numpy dtype string, e.g. "<f4", "shape": [...], "offset": o,
"nbytes": n}``, ``offset`` counted from the start of the payload. A ``<node>`` is JSON ``null``,
``true``/``false``, an integer, a finite float, a string, a JSON list (a Python list), or an
object with exactly one tag:
``{"tuple": [nodes]}``, ``{"dict": [[key node, value node], ...]}``,
``{"ordered_dict": [[key, value], ...]}``, ``{"float": "nan" | "inf" | "-inf"}``,
``{"array": i}``, ``{"scalar": i}`` (numpy scalar stored as a 0-d array), ``{"tensor": i}`` or
``{"parameter": i}`` (``i`` indexes ``arrays``).

Writes are atomic: the data goes to a temporary file in the same directory, is flushed and
fsynced, then renamed over the target, so an interrupted save never leaves a half-written file.

>>> import os, tempfile, numpy as np
>>> from collections import OrderedDict
>>> from tutorlib import Parameter
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.tl")
>>> save({"epoch": 3, "w": Parameter([1.0, 2.0]), "opt": OrderedDict(lr=0.1)}, path)
>>> ckpt = load(path)
>>> ckpt["epoch"], ckpt["w"], type(ckpt["opt"]).__name__
(3, Parameter([1. 2.], device=cpu0), 'OrderedDict')
"""
from __future__ import annotations

import json
import math
import os
import struct
import tempfile
import zlib
from collections import OrderedDict

import numpy as np

from .tensor import Parameter, Tensor

MAGIC = b"\x89TLSAVE\n"
VERSION = 1
_PREFIX = struct.Struct("<8sIQ")   # magic, version, header length
_CRC = struct.Struct("<I")


class LoadError(ValueError):
    """The file is not a complete, intact tutorlib save file."""


# ---- encoding ---------------------------------------------------------------------------------
class _Encoder:
    """Turns an object tree into a JSON-able node tree plus a list of arrays."""

    def __init__(self):
        self.arrays: list[np.ndarray] = []

    def _array(self, tag: str, array: np.ndarray) -> dict:
        if array.dtype.kind not in "biufc" or array.dtype.fields is not None:
            raise TypeError(f"save: cannot store arrays of dtype {array.dtype}")
        self.arrays.append(array if array.flags.c_contiguous else array.copy(order="C"))
        return {tag: len(self.arrays) - 1}

    def node(self, obj):
        if isinstance(obj, np.generic):   # before int/float: np.float64 subclasses float
            return self._array("scalar", np.asarray(obj))
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, Parameter):
            return self._array("parameter", obj._data)
        if isinstance(obj, Tensor):
            return self._array("tensor", obj._data)
        if isinstance(obj, np.ndarray):
            return self._array("array", obj)
        if isinstance(obj, list):
            return [self.node(x) for x in obj]
        if isinstance(obj, tuple):
            return {"tuple": [self.node(x) for x in obj]}
        if isinstance(obj, dict):
            tag = "ordered_dict" if isinstance(obj, OrderedDict) else "dict"
            return {tag: [[self.node(k), self.node(v)] for k, v in obj.items()]}
        raise TypeError(f"save: cannot store objects of type {type(obj).__name__} "
                        f"(only dicts, lists, tuples, numbers, strings, None, arrays and Tensors)")


def _encode(obj) -> tuple[bytes, list[np.ndarray]]:
    """The file's bytes before the payload, and the arrays making up the payload."""
    enc = _Encoder()
    root = enc.node(obj)
    table, offset = [], 0
    for a in enc.arrays:
        table.append({"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset, "nbytes": a.nbytes})
        offset += a.nbytes
    header = json.dumps({"root": root, "arrays": table, "payload_bytes": offset},
                        allow_nan=False, separators=(",", ":")).encode("utf-8")
    return _PREFIX.pack(MAGIC, VERSION, len(header)) + header, enc.arrays


def _write_blocks(f, blocks) -> None:
    """Write each block (bytes or array) to ``f``, followed by the CRC-32 of them all."""
    crc = 0
    for block in blocks:
        view = memoryview(block if isinstance(block, bytes) else block.reshape(-1).view(np.uint8))
        f.write(view)
        crc = zlib.crc32(view, crc)
    f.write(_CRC.pack(crc))


def save(obj, f) -> None:
    """Store ``obj`` in ``f`` (a path or a writable binary file object); see the module docstring.

    A path is written atomically: the old file, if any, stays intact unless the save completes.
    """
    head, arrays = _encode(obj)
    blocks = [head] + arrays
    if hasattr(f, "write"):
        _write_blocks(f, blocks)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            _write_blocks(out, blocks)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# ---- decoding ---------------------------------------------------------------------------------
def _what_is_it(data: bytes) -> str:
    """A hint about a foreign file, from its first bytes."""
    if data[:1] == b"\x80":
        return " (it looks like a pickle, e.g. from megengine.save or torch.save; tutorlib never unpickles)"
    if data[:2] == b"PK":
        return " (it looks like a zip archive, e.g. an .npz or a torch.save file)"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return " (it is a PNG image)"
    return ""


def _parse(data: bytes, name: str):
    if len(data) < _PREFIX.size or data[:8] != MAGIC:
        if MAGIC.startswith(data[:8]) and len(data) < _PREFIX.size:
            raise LoadError(f"load: {name} is truncated ({len(data)} bytes)")
        raise LoadError(f"load: {name} is not a tutorlib save file (bad magic){_what_is_it(data)}")
    _, version, hlen = _PREFIX.unpack_from(data)
    if version != VERSION:
        raise LoadError(f"load: {name} has format version {version}; this tutorlib reads version {VERSION}")
    start = _PREFIX.size + hlen
    if len(data) < start + _CRC.size:
        raise LoadError(f"load: {name} is truncated ({len(data)} bytes, header alone needs {start})")
    try:
        header = json.loads(data[_PREFIX.size:start].decode("utf-8"))
        payload_bytes = int(header["payload_bytes"])
    except (ValueError, KeyError, TypeError) as e:
        raise LoadError(f"load: {name} has a corrupt header ({e})") from None
    expected = start + payload_bytes + _CRC.size
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "longer than recorded"
        raise LoadError(f"load: {name} is {kind}: {len(data)} bytes, expected {expected}")
    (crc,) = _CRC.unpack_from(data, expected - _CRC.size)
    if zlib.crc32(memoryview(data)[:expected - _CRC.size]) != crc:
        raise LoadError(f"load: {name} is corrupt (CRC-32 mismatch)")
    payload = memoryview(data)[start:start + payload_bytes]
    try:
        arrays = [_read_array(payload, entry, payload_bytes) for entry in header["arrays"]]
    except (ValueError, TypeError, KeyError) as e:
        raise LoadError(f"load: {name} has an inconsistent array table ({e})") from None
    try:
        return _Decoder(arrays, name).node(header["root"])
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise LoadError(f"load: {name} has a corrupt structure ({e})") from None


def _read_array(payload, entry: dict, payload_bytes: int) -> np.ndarray:
    dtype = np.dtype(entry["dtype"])
    if dtype.kind not in "biufc" or dtype.fields is not None:
        raise ValueError(f"unsupported dtype {entry['dtype']!r}")
    shape = tuple(int(s) for s in entry["shape"])
    count = int(np.prod(shape, dtype=np.int64))
    offset, nbytes = int(entry["offset"]), int(entry["nbytes"])
    if count * dtype.itemsize != nbytes or offset < 0 or offset + nbytes > payload_bytes:
        raise ValueError(f"array of shape {shape} and dtype {dtype} does not fit its record")
    return np.frombuffer(payload, dtype, count, offset).reshape(shape).copy()


class _Decoder:
    """Rebuilds the object tree from nodes; builds nothing but the documented types."""

    def __init__(self, arrays: list, name: str):
        self.arrays = arrays
        self.name = name

    def node(self, n):
        if n is None or isinstance(n, (bool, int, float, str)):
            return n
        if isinstance(n, list):
            return [self.node(x) for x in n]
        if not isinstance(n, dict) or len(n) != 1:
            raise LoadError(f"load: {self.name} contains an invalid node {n!r:.80}")
        (tag, value), = n.items()
        if tag == "tuple":
            return tuple(self.node(x) for x in value)
        if tag in ("dict", "ordered_dict"):
            pairs = ((self.node(k), self.node(v)) for k, v in value)
            return OrderedDict(pairs) if tag == "ordered_dict" else dict(pairs)
        if tag == "float":
            return float(value)
        if tag == "array":
            return self.arrays[value]
        if tag == "scalar":
            return self.arrays[value][()]
        if tag == "tensor":
            return Tensor(self.arrays[value], dtype=self.arrays[value].dtype)
        if tag == "parameter":
            return Parameter(self.arrays[value], dtype=self.arrays[value].dtype)
        raise LoadError(f"load: {self.name} contains an unknown tag {tag!r}")


def load(f):
    """Read an object stored by :func:`save` from ``f`` (a path or a readable binary file object).

    Truncated, corrupt or foreign files raise :class:`LoadError` naming the file.
    """
    if hasattr(f, "read"):
        return _parse(f.read(), repr(getattr(f, "name", f)))
    path = os.fspath(f)
    with open(path, "rb") as fh:
        return _parse(fh.read(), repr(path))
