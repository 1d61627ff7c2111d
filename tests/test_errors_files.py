"""Hardened file readers (issue 18): every number in a tl.save header is validated before use,
nesting is bounded, cycles are refused on save; IDX files are decompressed no further than their
header promises and checked against the dataset's spec; a directory in a file's place is named."""
import gzip
import json
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from data_helpers import idx_gz, mnist_files

import tutorlib as tl
from tutorlib.data.dataset import MNIST
from tutorlib.data.dataset.mnist import read_idx
from tutorlib.data.download import CorruptFileError
from tutorlib.serialization import MAX_DEPTH, LoadError


# -- tl.save: cycles and depth -----------------------------------------------------------------
def test_save_refuses_an_object_that_contains_itself(tmp_path):
    loop = [1, 2]
    loop.append(loop)
    with pytest.raises(TypeError, match=r"save: root\[2\] is the list at root again: an object "
                                        r"that contains itself cannot be saved"):
        tl.save(loop, tmp_path / "a.tl")
    state = {"opt": {}}
    state["opt"]["parent"] = state
    with pytest.raises(TypeError, match=r"save: root\['opt'\]\['parent'\] is the dict at root again"):
        tl.save(state, tmp_path / "b.tl")
    assert not list(tmp_path.iterdir())            # nothing half-written


def test_save_allows_shared_objects_and_bounds_depth(tmp_path):
    shared = [1.0, 2.0]
    tl.save({"a": shared, "b": shared}, tmp_path / "ok.tl")     # shared, not a cycle: fine
    assert tl.load(tmp_path / "ok.tl") == {"a": shared, "b": shared}
    deep = []
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    tl.save(deep, tmp_path / "deep.tl")                         # MAX_DEPTH levels: fine
    assert tl.load(tmp_path / "deep.tl") == deep
    with pytest.raises(TypeError, match=rf"save: root(\[0\])+ is nested more than {MAX_DEPTH} levels"):
        tl.save([deep], tmp_path / "deeper.tl")


# -- tl.load: crafted headers with a valid checksum --------------------------------------------
def crafted(tmp_path, header, payload: bytes = b""):
    """A file with a correct magic, length and CRC around ``header`` (str or bytes)."""
    header = header.encode() if isinstance(header, str) else header
    body = struct.pack("<8sIQ", b"\x89TLSAVE\n", 1, len(header)) + header + payload
    path = tmp_path / "crafted.tl"
    path.write_bytes(body + struct.pack("<I", zlib.crc32(body)))
    return path


def array_header(shape="[2]", offset="0", nbytes="8", payload="8", dtype='"<f4"'):
    return (f'{{"root": {{"array": 0}}, "arrays": [{{"dtype": {dtype}, "shape": {shape}, '
            f'"offset": {offset}, "nbytes": {nbytes}}}], "payload_bytes": {payload}}}')


@pytest.mark.parametrize("header, message", [
    (array_header(payload="Infinity"), r"invalid header field payload_bytes=inf \(expected an integer >= 0\)"),
    (array_header(payload="1e400"), r"invalid header field payload_bytes=inf"),
    (array_header(payload="-8"), r"invalid header field payload_bytes=-8"),
    (array_header(payload="8.0"), r"invalid header field payload_bytes=8.0"),
    (array_header(shape="[-1]"), r"invalid header field arrays\[0\].shape\[0\]=-1"),
    (array_header(shape="[1e400]"), r"invalid header field arrays\[0\].shape\[0\]=inf"),
    (array_header(shape='"2"'), r"invalid arrays\[0\].shape"),
    (array_header(shape="[" + ",".join(["1"] * 40) + "]"), r"invalid arrays\[0\].shape \(a list of at most 32"),
    (array_header(offset="true"), r"invalid header field arrays\[0\].offset=True"),
    (array_header(offset="-4"), r"invalid header field arrays\[0\].offset=-4"),
    (array_header(nbytes='"8"'), r"invalid header field arrays\[0\].nbytes='8'"),
    (array_header(shape="[4294967296, 4294967296]"), r"arrays\[0\].nbytes=8, but shape .* needs"),
    (array_header(offset="4"), r"arrays\[0\] at bytes 4..12, which does not fit the payload of 8"),
    (array_header(dtype="7"), r"unsupported dtype 7 in arrays\[0\].dtype"),
    ('{"root": 1, "arrays": 5, "payload_bytes": 8}', r"arrays must be a list"),
    ('{"root": 1, "arrays": [7], "payload_bytes": 8}', r"invalid arrays\[0\]"),
    ('[1, 2]', r"corrupt header \(expected an object with root, arrays and payload_bytes\)"),
    ('{"root": 1e400, "arrays": [], "payload_bytes": 8}', r"non-finite number inf"),
    ('{"root": {"float": "1e5"}, "arrays": [], "payload_bytes": 8}', r"expected 'nan', 'inf' or '-inf'"),
    ('{"root": {"array": 3}, "arrays": [], "payload_bytes": 8}', r"\{'array': 3\}, but the array table has 0"),
    ('{"root": {"tensor": -1}, "arrays": [], "payload_bytes": 8}', r"\{'tensor': -1\}"),
    ('{"root": {"dict": [[1]]}, "arrays": [], "payload_bytes": 8}', r"'dict' node whose items are not pairs"),
    ('{"root": {"tuple": 3}, "arrays": [], "payload_bytes": 8}', r"'tuple' node that is not a list"),
    ('{"root": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + ', "arrays": [], "payload_bytes": 8}',
     rf"nests containers more than {MAX_DEPTH} levels deep"),
    ('{"root": ' + "[" * 200000 + "]" * 200000 + ', "arrays": [], "payload_bytes": 8}',
     r"header nested too deeply"),
])
def test_crafted_header_fields_are_load_errors_naming_the_field(tmp_path, header, message):
    with pytest.raises(LoadError, match=message):
        tl.load(crafted(tmp_path, header, b"\x00" * 8))


def test_valid_crafted_header_loads(tmp_path):
    """The same helper with sound fields reads back the array (the checks above are specific)."""
    out = tl.load(crafted(tmp_path, array_header(), np.array([1.5, 2.5], "<f4").tobytes()))
    assert out.tolist() == [1.5, 2.5]
    json.loads(array_header())


# -- IDX and MNIST -----------------------------------------------------------------------------
def write_mnist(folder, **replace):
    files, _ = mnist_files()
    files.update(replace)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_gzip_bomb_is_stopped_after_the_header_size(tmp_path):
    """50 MB of zeros behind a header promising 20 images: at most ~the header's size is inflated."""
    header = b"\x00\x00\x08\x03" + struct.pack(">3I", 20, 28, 28)
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)             # gzip container
    chunk = bytes(1 << 20)
    bomb = packer.compress(header) + b"".join(packer.compress(chunk) for _ in range(50)) + packer.flush()
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(bomb)
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(CorruptFileError, match=r"is longer than its header says: its header "
                                                   r"promises 15680 values"):
            read_idx(str(path), (None, 28, 28), max_items=10000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"peak {peak} bytes while reading a {len(bomb)}-byte bomb"


def test_idx_header_is_checked_before_the_payload(tmp_path):
    path = tmp_path / "x-idx.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\xff" + bytes(4 * 255)))
    with pytest.raises(CorruptFileError, match=r"its header declares 255 dimensions, expected 3"):
        read_idx(str(path), (None, 28, 28))
    with pytest.raises(CorruptFileError, match=r"its header declares 255 dimensions, expected 1 to 4"):
        read_idx(str(path))
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 10001)))
    with pytest.raises(CorruptFileError, match=r"declares 10001 items, more than the 10000"):
        read_idx(str(path), (None,), max_items=10000)


def test_mnist_images_of_the_wrong_size_are_refused(tmp_path):
    write_mnist(tmp_path, **{"t10k-images-idx3-ubyte.gz": idx_gz(np.zeros((20, 28, 27)))})
    with pytest.raises(CorruptFileError, match=r"t10k-images-idx3-ubyte.gz holds an array of shape "
                                               r"\(20, 28, 27\), expected Nx28x28"):
        MNIST(root=tmp_path, train=False, download=False)


def test_mnist_labels_out_of_range_are_refused(tmp_path):
    write_mnist(tmp_path, **{"t10k-labels-idx1-ubyte.gz": idx_gz(np.full(20, 200))})
    with pytest.raises(CorruptFileError, match=r"t10k-labels-idx1-ubyte.gz holds label 200, but "
                                               r"MNIST has 10 classes \(0..9\)"):
        MNIST(root=tmp_path, train=False, download=False)


def test_a_directory_in_place_of_a_data_file_is_named_as_such(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").mkdir()
    with pytest.raises(IsADirectoryError, match=r"t10k-labels-idx1-ubyte.gz is a directory, but a "
                                                r"data file is expected there"):
        MNIST(root=tmp_path, train=False, download=False)
    assert len(MNIST(root=tmp_path, train=True, download=False)) == 20     # the other split loads
