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

Every number in the header is checked before use (an int, not negative, consistent with the
payload's size), containers may nest at most ``MAX_DEPTH`` levels, and an object that contains
itself is refused when saving (JSON cannot express a cycle).

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
MAX_DEPTH = 100        # nesting levels of lists, tuples and dicts (a state dict needs about 4)


class LoadError(ValueError):
    """The file is not a complete, intact tutorlib save file."""


# ---- encoding ---------------------------------------------------------------------------------
class _Encoder:
    """Turns an object tree into a JSON-able node tree plus a list of arrays."""

    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self.path: dict[int, str] = {}      # id of each container being encoded -> where it is

    def _array(self, tag: str, array: np.ndarray) -> dict:
        if array.dtype.kind not in "biufc" or array.dtype.fields is not None:
            raise TypeError(f"save: cannot store arrays of dtype {array.dtype}")
        self.arrays.append(array if array.flags.c_contiguous else array.copy(order="C"))
        return {tag: len(self.arrays) - 1}

    def node(self, obj, where: str = "root"):
        if isinstance(obj, (list, tuple, dict)):
            if id(obj) in self.path:
                raise TypeError(f"save: {where} is the {type(obj).__name__} at {self.path[id(obj)]} "
                                "again: an object that contains itself cannot be saved")
            if len(self.path) >= MAX_DEPTH:
                raise TypeError(f"save: {where} is nested more than {MAX_DEPTH} levels deep")
            self.path[id(obj)] = where
            try:
                return self._container(obj, where)
            finally:
                del self.path[id(obj)]
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
        raise TypeError(f"save: cannot store objects of type {type(obj).__name__} (found at {where}; "
                        "only dicts, lists, tuples, numbers, strings, None, arrays and Tensors)")

    def _container(self, obj, where: str):
        if isinstance(obj, list):
            return [self.node(x, f"{where}[{i}]") for i, x in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.node(x, f"{where}[{i}]") for i, x in enumerate(obj)]}
        tag = "ordered_dict" if isinstance(obj, OrderedDict) else "dict"
        return {tag: [[self.node(k, f"a key of {where}"), self.node(v, f"{where}[{k!r:.40}]")]
                      for k, v in obj.items()]}


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
    except RecursionError:
        raise LoadError(f"load: {name} has a header nested too deeply") from None
    except ValueError as e:
        raise LoadError(f"load: {name} has a corrupt header ({e})") from None
    if not isinstance(header, dict) or not {"root", "arrays", "payload_bytes"} <= header.keys():
        raise LoadError(f"load: {name} has a corrupt header (expected an object with root, arrays "
                        "and payload_bytes)")
    payload_bytes = _count(header["payload_bytes"], "payload_bytes", name)
    expected = start + payload_bytes + _CRC.size
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "longer than recorded"
        raise LoadError(f"load: {name} is {kind}: {len(data)} bytes, expected {expected}")
    (crc,) = _CRC.unpack_from(data, expected - _CRC.size)
    if zlib.crc32(memoryview(data)[:expected - _CRC.size]) != crc:
        raise LoadError(f"load: {name} is corrupt (CRC-32 mismatch)")
    payload = memoryview(data)[start:start + payload_bytes]
    if not isinstance(header["arrays"], list):
        raise LoadError(f"load: {name} has a corrupt header (arrays must be a list)")
    arrays = [_read_array(payload, entry, payload_bytes, f"arrays[{i}]", name)
              for i, entry in enumerate(header["arrays"])]
    try:
        return _Decoder(arrays, name).node(header["root"])
    except LoadError:
        raise
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise LoadError(f"load: {name} has a corrupt structure ({e})") from None


def _count(value, field: str, name: str) -> int:
    """A header number that counts something: a JSON integer >= 0 (not a float, bool or string)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LoadError(f"load: {name} has an invalid header field {field}={value!r:.60} "
                        "(expected an integer >= 0)")
    return value


def _read_array(payload, entry, payload_bytes: int, field: str, name: str) -> np.ndarray:
    """The array described by the array-table ``entry``, after checking every field of it."""
    if not isinstance(entry, dict) or not {"dtype", "shape", "offset", "nbytes"} <= entry.keys():
        raise LoadError(f"load: {name} has an invalid {field} (expected dtype, shape, offset, nbytes)")
    try:
        dtype = np.dtype(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biufc" or dtype.fields is not None:
        raise LoadError(f"load: {name} has an unsupported dtype {entry['dtype']!r:.60} in {field}.dtype")
    if not isinstance(entry["shape"], list) or len(entry["shape"]) > 32:
        raise LoadError(f"load: {name} has an invalid {field}.shape (a list of at most 32 sizes)")
    shape = tuple(_count(s, f"{field}.shape[{i}]", name) for i, s in enumerate(entry["shape"]))
    offset = _count(entry["offset"], f"{field}.offset", name)
    nbytes = _count(entry["nbytes"], f"{field}.nbytes", name)
    count = math.prod(shape)              # Python ints: no overflow however large the sizes
    if count * dtype.itemsize != nbytes:
        raise LoadError(f"load: {name} has {field}.nbytes={nbytes}, but shape {list(shape)} of "
                        f"{dtype} needs {count * dtype.itemsize}")
    if offset + nbytes > payload_bytes:
        raise LoadError(f"load: {name} has {field} at bytes {offset}..{offset + nbytes}, which "
                        f"does not fit the payload of {payload_bytes} bytes")
    return np.frombuffer(payload, dtype, count, offset).reshape(shape).copy()


class _Decoder:
    """Rebuilds the object tree from nodes; builds nothing but the documented types."""

    def __init__(self, arrays: list, name: str):
        self.arrays = arrays
        self.name = name

    def _index(self, tag: str, value) -> np.ndarray:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < len(self.arrays):
            raise LoadError(f"load: {self.name} has {{{tag!r}: {value!r:.40}}}, but the array "
                            f"table has {len(self.arrays)} entries")
        return self.arrays[value]

    def node(self, n, depth: int = 0):
        if n is None or isinstance(n, (bool, int, str)):
            return n
        if isinstance(n, float):
            if not math.isfinite(n):     # JSON has no Infinity; a plain 1e400 is not ours either
                raise LoadError(f"load: {self.name} holds the non-finite number {n!r} outside "
                                "a {'float': ...} node")
            return n
        if depth >= MAX_DEPTH:
            raise LoadError(f"load: {self.name} nests containers more than {MAX_DEPTH} levels deep")
        if isinstance(n, list):
            return [self.node(x, depth + 1) for x in n]
        if not isinstance(n, dict) or len(n) != 1:
            raise LoadError(f"load: {self.name} contains an invalid node {n!r:.80}")
        (tag, value), = n.items()
        if tag in ("tuple", "dict", "ordered_dict") and not isinstance(value, list):
            raise LoadError(f"load: {self.name} has a {tag!r} node that is not a list")
        if tag == "tuple":
            return tuple(self.node(x, depth + 1) for x in value)
        if tag in ("dict", "ordered_dict"):
            if not all(isinstance(p, list) and len(p) == 2 for p in value):
                raise LoadError(f"load: {self.name} has a {tag!r} node whose items are not pairs")
            pairs = ((self.node(k, depth + 1), self.node(v, depth + 1)) for k, v in value)
            return OrderedDict(pairs) if tag == "ordered_dict" else dict(pairs)
        if tag == "float":
            if value not in ("nan", "inf", "-inf"):
                raise LoadError(f"load: {self.name} has {{'float': {value!r:.40}}}; expected "
                                "'nan', 'inf' or '-inf'")
            return float(value)
        if tag == "array":
            return self._index(tag, value)
        if tag == "scalar":
            return self._index(tag, value)[()]
        if tag == "tensor":
            return Tensor(self._index(tag, value), dtype=self.arrays[value].dtype)
        if tag == "parameter":
            return Parameter(self._index(tag, value), dtype=self.arrays[value].dtype)
        raise LoadError(f"load: {self.name} contains an unknown tag {tag!r:.40}")


def load(f):
    """Read an object stored by :func:`save` from ``f`` (a path or a readable binary file object).

    Truncated, corrupt or foreign files raise :class:`LoadError` naming the file.
    """
    if hasattr(f, "read"):
        return _parse(f.read(), repr(getattr(f, "name", f)))
    path = os.fspath(f)
    with open(path, "rb") as fh:
        return _parse(fh.read(), repr(path))
