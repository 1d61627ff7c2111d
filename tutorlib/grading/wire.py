"""The data format between the grader and a student's kernel: plain data as JSON, never pickle.

What crosses is numbers, strings, ``None``, lists, tuples, dicts, numpy arrays of numbers and
tutorlib tensors (sent as their arrays). The kernel can send nothing else: any other object it
would return stays in the kernel and the grader gets a *handle* (``{"$ref": n}``) to call it
through. The grader may also send tutorlib objects (a ``Linear`` layer: its class name and its
attributes) and tutorlib or numpy functions by name, which the kernel rebuilds. Messages are
size-capped; decoding checks every dtype and shape, so a hostile kernel can only send data.

>>> message = dumps((np.arange(3.0), {"loss": [0.5, float("nan")]}, None))
>>> loads(message)
(array([0., 1., 2.]), {'loss': [0.5, nan]}, None)
>>> loads(dumps({"$array": "not an array"}))
{'$array': 'not an array'}
"""

from __future__ import annotations

import base64
import builtins
import importlib
import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_MESSAGE = 64 * 2**20   # bytes in one message
MAX_DEPTH = 32             # nesting of lists / dicts / objects
_DTYPE = re.compile(r"^[<>|=]?[biufc]\d{1,2}$")
_IMPORTABLE = re.compile(r"^(tutorlib|numpy)(\.[A-Za-z_]\w*)*$")
_CHECKS = re.compile(r"^tutorlib\.grading\.ch\d+")


class WireError(ValueError):
    """A value that cannot be sent, or a message that is not valid."""


def dumps(value: Any, *, to_handle: Callable[[Any], dict] | None = None,
          limit: int = MAX_MESSAGE) -> bytes:
    """``value`` as UTF-8 JSON. ``to_handle(obj)`` turns anything else into a ``$ref`` dict
    (the kernel's side); without it, tutorlib objects are sent by value and the rest is an error.
    """
    data = json.dumps(_encode(value, to_handle, 0), allow_nan=False,
                      separators=(",", ":")).encode()
    if len(data) > limit:
        raise WireError(f"the value is too large to send ({len(data) / 2**20:.1f} MiB, at most "
                        f"{limit / 2**20:g} MiB)")
    return data


def loads(data: bytes, *, from_handle: Callable[[dict], Any] | None = None,
          objects: bool = False, limit: int = MAX_MESSAGE) -> Any:
    """Decode ``dumps`` output. ``objects=True`` (the kernel's side only) rebuilds tutorlib
    objects and functions; the grader decodes with ``objects=False``: data and handles only."""
    if len(data) > limit:
        raise WireError(f"message of {len(data)} bytes, at most {limit}")
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise WireError(f"not a valid message: {type(error).__name__}") from None
    return _decode(tree, from_handle, objects, 0)


# --- encoding ------------------------------------------------------------------------------------

def _encode(value: Any, to_handle, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError(f"the value is nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind in (list, tuple):
        items = [_encode(v, to_handle, depth + 1) for v in value]
        return items if kind is list else {"$tuple": items}
    if isinstance(value, dict) and kind.__module__ in ("builtins", "collections"):
        return {"$dict": [[_encode(k, to_handle, depth + 1), _encode(v, to_handle, depth + 1)]
                          for k, v in value.items()]}
    if isinstance(value, np.str_):  # numpy's string scalar (a state dict's keys from np.unique)
        return str(value)
    if kind is np.ndarray or isinstance(value, np.generic):
        return _encode_array(np.asarray(value), scalar=isinstance(value, np.generic))
    tensor = _tensor_class()
    if tensor is not None and isinstance(value, tensor):
        return {"$tensor": _encode_array(np.asarray(value.numpy())),
                "parameter": type(value).__name__ == "Parameter"}
    if to_handle is not None:
        return to_handle(value)
    if getattr(value, "__wire_ref__", None) is not None:
        return {"$ref": value.__wire_ref__}
    return _encode_by_name(value, depth)


def _encode_array(array: np.ndarray, scalar: bool = False) -> dict:
    if array.dtype.kind not in "biufc" or array.dtype.fields is not None:
        raise WireError(f"cannot send an array of dtype {array.dtype} (numbers only)")
    if array.nbytes * 4 // 3 > MAX_MESSAGE:
        raise WireError(f"the value is too large to send (an array of {array.nbytes / 2**20:.0f} "
                        f"MiB, at most {MAX_MESSAGE * 3 // 4 / 2**20:.0f} MiB)")
    return {"$array": base64.b64encode(array.tobytes(order="C")).decode(),
            "dtype": array.dtype.str,
            "shape": list(array.shape), "scalar": scalar}


def _encode_by_name(value: Any, depth: int) -> dict:
    """A tutorlib/numpy function or class by name; a tutorlib object by class and attributes."""
    if callable(value) and hasattr(value, "__qualname__"):
        module = getattr(value, "__module__", "") or ""
        if _importable(module) and "<" not in value.__qualname__:
            return {"$name": f"{module}:{value.__qualname__}"}
    cls = next((c for c in type(value).__mro__ if _importable(c.__module__)), None)
    if cls is None or cls is object or not hasattr(value, "__dict__"):
        raise WireError(f"cannot send {type(value).__name__} to the student's kernel: only "
                        "numbers, strings, arrays, tensors, lists/tuples/dicts of them and "
                        "tutorlib objects")
    state = {k: _encode(v, None, depth + 1) for k, v in vars(value).items()}
    return {"$object": f"{cls.__module__}:{cls.__qualname__}", "state": state}


def _importable(module: str) -> bool:
    """Modules the student's kernel may import: tutorlib (but no checks) and numpy."""
    return bool(_IMPORTABLE.match(module)) and not _CHECKS.match(module)


def _tensor_class():
    module = sys.modules.get("tutorlib.tensor")
    return getattr(module, "Tensor", None)


# --- decoding ------------------------------------------------------------------------------------

def _decode(tree: Any, from_handle, objects: bool, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError(f"message nested more than {MAX_DEPTH} levels deep")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        return [_decode(v, from_handle, objects, depth + 1) for v in tree]
    if not isinstance(tree, dict):
        raise WireError(f"unexpected {type(tree).__name__} in a message")
    if "$float" in tree and tree["$float"] in ("nan", "inf", "-inf"):
        return float(tree["$float"])
    if "$tuple" in tree and isinstance(tree["$tuple"], list):
        return tuple(_decode(v, from_handle, objects, depth + 1) for v in tree["$tuple"])
    if "$dict" in tree and isinstance(tree["$dict"], list):
        out = {}
        for pair in tree["$dict"]:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise WireError("a dict entry must be a [key, value] pair")
            key = _decode(pair[0], from_handle, objects, depth + 1)
            if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                raise WireError(f"a dict key must be a number or string, got {type(key).__name__}")
            out[key] = _decode(pair[1], from_handle, objects, depth + 1)
        return out
    if "$array" in tree and isinstance(tree["$array"], str):
        return _decode_array(tree)
    if "$tensor" in tree and isinstance(tree["$tensor"], dict):
        import tutorlib

        cls = tutorlib.Parameter if tree.get("parameter") is True else tutorlib.Tensor
        return cls(_decode_array(tree["$tensor"]))
    if "$ref" in tree and from_handle is not None:
        return from_handle(tree)
    if objects and isinstance(tree.get("$name"), str):
        return _by_name(tree["$name"])
    if objects and isinstance(tree.get("$object"), str) and isinstance(tree.get("state"), dict):
        cls = _by_name(tree["$object"])
        obj = cls.__new__(cls)
        obj.__dict__.update({k: _decode(v, from_handle, objects, depth + 1)
                             for k, v in tree["state"].items()})
        return obj
    return {k: _decode(v, from_handle, objects, depth + 1) for k, v in tree.items()}


def _decode_array(tree: dict) -> np.ndarray | np.generic:
    dtype, shape = tree.get("dtype"), tree.get("shape")
    if not (isinstance(dtype, str) and _DTYPE.match(dtype) and isinstance(shape, list)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        raise WireError(f"bad array header: dtype {dtype!r}, shape {shape!r}")
    raw = base64.b64decode(tree["$array"], validate=True)
    dtype = np.dtype(dtype)
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise WireError(f"array of shape {tuple(shape)} and dtype {dtype} needs "
                        f"{math.prod(shape) * dtype.itemsize} bytes, got {len(raw)}")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return array[()] if tree.get("scalar") is True and array.ndim == 0 else array


def _by_name(name: str) -> Any:
    module, _, qualname = name.partition(":")
    if not _importable(module) or not re.fullmatch(r"[A-Za-z_][\w.]*", qualname):
        raise WireError(f"cannot rebuild {name!r}: not a tutorlib or numpy name")
    value = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def exception_from(name: str, message: str) -> Exception:
    """An exception to raise in the grader for one raised in the kernel: a built-in exception
    of that name if there is one (``NotImplementedError`` stays "not implemented"), else a new
    ``StudentError`` subclass with that name.

    >>> exception_from("ValueError", "bad shape")
    ValueError('bad shape')
    >>> type(exception_from("MyError", "oops")).__mro__[1].__name__
    'StudentError'
    """
    builtin = getattr(builtins, name, None)
    if (isinstance(builtin, type) and issubclass(builtin, Exception)
            and not issubclass(builtin, (SystemExit, KeyboardInterrupt))):
        return builtin(message)
    name = name if name.isidentifier() and len(name) <= 60 else "StudentError"
    return type(name, (StudentError,), {"__module__": "builtins"})(message)


class StudentError(Exception):
    """Raised in the grader for an exception of the student's own class in the kernel."""


def write_frame(stream, data: bytes) -> None:
    """Send one message: its length (8 bytes, big-endian), then the bytes."""
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def read_frame(stream, limit: int = MAX_MESSAGE) -> bytes | None:
    """Read one ``write_frame`` message; None at end of stream. Refuses more than ``limit``."""
    header = _read_exactly(stream, 8)
    if header is None:
        return None
    size = int.from_bytes(header, "big")
    if size > limit:
        raise WireError(f"message of {size} bytes, at most {limit}")
    data = _read_exactly(stream, size)
    if data is None:
        raise WireError("the stream ended inside a message")
    return data


def _read_exactly(stream, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
