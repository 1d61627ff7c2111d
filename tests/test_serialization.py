"""tl.save / tl.load: round trips, a pickle-free format, clear errors, atomic writes."""
import io
import os
import pickle
import struct
import zlib
from collections import OrderedDict

import numpy as np
import pytest

import tutorlib as tl
import tutorlib.module as M
from tutorlib import serialization
from tutorlib.serialization import LoadError


def _checkpoint():
    net = M.Sequential(M.Conv2d(1, 2, 3), M.BatchNorm2d(2), M.Flatten(), M.Linear(8, 3))
    return {
        "epoch": 7, "best": 0.9125, "name": "lenet", "done": False, "note": None,
        "model": net.state_dict(),
        "history": [1.5, float("nan"), float("inf"), (1, "two")],
        "tensors": [tl.Tensor([1, 2]), tl.Parameter([[0.5]])],
        "scalars": {0: np.float32(1.5), 1: np.int64(3), "flag": np.bool_(True)},
        "arrays": [np.zeros((0, 3)), np.arange(6).reshape(2, 3)[:, ::2], np.array(2 + 1j, np.complex64),
                   np.ones(3, dtype=">f8"), np.array([True, False])],
    }


def _same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, (tl.Tensor, np.ndarray)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_round_trip_keeps_types_order_and_values(tmp_path):
    ckpt = _checkpoint()
    tl.save(ckpt, tmp_path / "ckpt.tl")
    back = tl.load(str(tmp_path / "ckpt.tl"))
    _same(ckpt, back)
    assert isinstance(back["model"], OrderedDict)
    assert type(back["tensors"][1]) is tl.Parameter and back["tensors"][0].dtype == np.int32


def test_file_objects():
    buf = io.BytesIO()
    tl.save({"w": np.arange(3.0)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(tl.load(buf)["w"], np.arange(3.0))


def test_state_dict_round_trip_restores_a_model(tmp_path):
    tl.random.seed(3)
    net = M.Sequential(M.Linear(4, 3), M.BatchNorm1d(3))
    net(tl.Tensor(np.random.default_rng(0).normal(size=(5, 4))))   # move the running stats
    tl.save(net.state_dict(), tmp_path / "net.tl")
    other = M.Sequential(M.Linear(4, 3), M.BatchNorm1d(3))
    other.load_state_dict(tl.load(tmp_path / "net.tl"))
    for (k, v), (k2, v2) in zip(net.state_dict().items(), other.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(v, v2)


def test_format_is_the_documented_one(tmp_path):
    tl.save({"x": np.array([1.0, 2.0], np.float32)}, tmp_path / "a.tl")
    data = (tmp_path / "a.tl").read_bytes()
    magic, version, hlen = struct.unpack_from("<8sIQ", data)
    assert magic == b"\x89TLSAVE\n" and version == 1
    import json
    header = json.loads(data[20:20 + hlen])
    assert header["root"] == {"dict": [["x", {"array": 0}]]}
    assert header["arrays"] == [{"dtype": "<f4", "shape": [2], "offset": 0, "nbytes": 8}]
    assert data[20 + hlen:20 + hlen + 8] == np.array([1.0, 2.0], np.float32).tobytes()
    assert struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store objects of type set"):
        tl.save({"s": {1, 2}}, tmp_path / "x.tl")
    with pytest.raises(TypeError, match="dtype object"):
        tl.save(np.array([object()]), tmp_path / "x.tl")
    assert not os.listdir(tmp_path)


def test_truncated_and_corrupt_files_name_the_file(tmp_path):
    path = tmp_path / "ckpt.tl"
    tl.save(_checkpoint(), path)
    data = path.read_bytes()
    for cut in (5, 30, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(LoadError, match=r"ckpt\.tl.*(truncated|corrupt)"):
            tl.load(path)
    flipped = bytearray(data)
    flipped[-20] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(LoadError, match="CRC-32 mismatch"):
        tl.load(path)


def test_foreign_files_are_rejected(tmp_path):
    png = tmp_path / "image.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(LoadError, match=r"image\.png.*not a tutorlib save file.*PNG"):
        tl.load(png)
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.zeros(2))
    with pytest.raises(LoadError, match="zip archive"):
        tl.load(npz)
    empty = tmp_path / "empty.tl"
    empty.write_bytes(b"")
    with pytest.raises(LoadError, match="empty.tl"):
        tl.load(empty)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch " + _Exploit.marker,))


def test_malicious_pickle_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    _Exploit.marker = str(marker)
    evil = tmp_path / "model.pkl"
    evil.write_bytes(pickle.dumps({"state": _Exploit()}))
    with pytest.raises(LoadError, match="looks like a pickle"):
        tl.load(evil)
    assert not marker.exists()
    # a pickle hidden after a valid-looking magic is rejected as well
    disguised = tmp_path / "disguised.tl"
    disguised.write_bytes(b"\x89TLSAVE\n" + struct.pack("<IQ", 1, 10) + pickle.dumps(_Exploit()))
    with pytest.raises(LoadError):
        tl.load(disguised)
    assert not marker.exists()


def test_crafted_headers_cannot_make_objects(tmp_path):
    def write(header: bytes, payload: bytes = b""):
        body = struct.pack("<8sIQ", b"\x89TLSAVE\n", 1, len(header)) + header + payload
        path = tmp_path / "crafted.tl"
        path.write_bytes(body + struct.pack("<I", zlib.crc32(body)))
        return path

    with pytest.raises(LoadError, match="unknown tag 'pickle'"):
        tl.load(write(b'{"root": {"pickle": "gASV"}, "arrays": [], "payload_bytes": 0}'))
    with pytest.raises(LoadError, match="unsupported dtype"):
        tl.load(write(b'{"root": {"array": 0}, "arrays": [{"dtype": "|O", "shape": [1], '
                      b'"offset": 0, "nbytes": 8}], "payload_bytes": 8}', b"\x00" * 8))
    with pytest.raises(LoadError, match="does not fit"):
        tl.load(write(b'{"root": {"array": 0}, "arrays": [{"dtype": "<f4", "shape": [4], '
                      b'"offset": 0, "nbytes": 16}], "payload_bytes": 8}', b"\x00" * 8))


def test_interrupted_save_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.tl"
    tl.save({"epoch": 1, "w": np.ones(1000)}, path)
    original = path.read_bytes()

    def write_half_then_fail(f, blocks):
        f.write(memoryview(blocks[0])[: len(blocks[0]) // 2])
        raise KeyboardInterrupt("simulated crash mid-write")

    monkeypatch.setattr(serialization, "_write_blocks", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        tl.save({"epoch": 2, "w": np.zeros(1000)}, path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["ckpt.tl"]
    assert tl.load(path)["epoch"] == 1

    monkeypatch.undo()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        tl.save({"epoch": 3}, path)
    assert path.read_bytes() == original and os.listdir(tmp_path) == ["ckpt.tl"]
