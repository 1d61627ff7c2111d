"""Downloading, verifying and loading dataset files, against a local HTTP server (no internet)."""
import os
import pickle

import numpy as np
import pytest
from data_helpers import (
    HOUSING_ROWS,
    LocalServer,
    cifar_archive,
    cifar_batch,
    housing_archive,
    md5,
    mnist_files,
    sha256,
)

from tutorlib.data.dataset import (
    CIFAR10,
    MNIST,
    CaliforniaHousing,
    CorruptFileError,
    DownloadError,
    FashionMNIST,
    MissingDataError,
)
from tutorlib.data.download import atomic_write, download_url


def tree(folder):
    """Every file under ``folder`` (relative paths), to check nothing else was left behind."""
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, files in os.walk(folder) for f in files)


@pytest.fixture
def mnist_server(monkeypatch):
    files, arrays = mnist_files()
    monkeypatch.setattr(MNIST, "checksums", {name: md5(b) for name, b in files.items()})
    with LocalServer({f"/mnist/{name}": b for name, b in files.items()}) as server:
        yield server, files, arrays


def test_mnist_download_then_load(mnist_server, tmp_path):
    server, files, arrays = mnist_server
    train = MNIST(root=tmp_path, train=True, mirrors=[server.url + "/mnist/"], timeout=2)
    images, labels = arrays["train"]
    assert train.data.shape == (20, 28, 28, 1) and train.data.dtype == np.uint8
    np.testing.assert_array_equal(train.data[..., 0], images)
    np.testing.assert_array_equal(train.targets, labels)
    assert train.targets.dtype == np.int32
    assert tree(tmp_path) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    for name in tree(tmp_path):
        assert (tmp_path / name).read_bytes() == files[name]
    server.hits.clear()  # a second load uses the cache
    assert len(MNIST(root=tmp_path, mirrors=[server.url + "/mnist/"])) == 20
    assert server.hits == []


def test_mirrors_are_tried_in_order(mnist_server, tmp_path):
    server, _, _ = mnist_server
    test = MNIST(root=tmp_path, train=False, mirrors=[server.url + "/gone/", server.url + "/mnist/"])
    assert len(test) == 20
    assert server.hits[:2] == ["/gone/t10k-images-idx3-ubyte.gz", "/mnist/t10k-images-idx3-ubyte.gz"]


def test_default_root_is_tutorlib_data(mnist_server, tmp_path, monkeypatch):
    server, _, _ = mnist_server
    monkeypatch.setenv("TUTORLIB_DATA", str(tmp_path))
    MNIST(train=False, mirrors=[server.url + "/mnist/"])
    assert tree(tmp_path) == ["mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize("route, reason", [
    (404, "HTTP error 404"),
    (500, "HTTP error 500"),
    ("wrong bytes", "checksum mismatch"),
    ("truncate", "truncated"),
    ("stall", "timed out"),
])
def test_failed_download_is_named_and_leaves_nothing(route, reason, tmp_path, monkeypatch):
    files, _ = mnist_files()
    name = "t10k-images-idx3-ubyte.gz"
    monkeypatch.setattr(MNIST, "checksums", {n: md5(b) for n, b in files.items()})
    served = {404: 404, 500: 500, "wrong bytes": files["train-images-idx3-ubyte.gz"],
              "truncate": ("truncate", files[name]), "stall": ("stall", files[name])}[route]
    with LocalServer({f"/{name}": served}) as server, pytest.raises(DownloadError) as err:
        MNIST(root=tmp_path, train=False, mirrors=[server.url + "/"], timeout=0.5)
    message = str(err.value)
    assert reason in message and f"{server.url}/{name}" in message
    assert str(tmp_path / name) in message  # says where the file should go
    assert tree(tmp_path) == []


def test_missing_files_without_download_say_what_to_put_where(tmp_path):
    with pytest.raises(MissingDataError) as err:
        FashionMNIST(root=tmp_path, train=True, download=False)
    message = str(err.value)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert str(tmp_path / name) in message
        assert FashionMNIST.mirrors[0] + name in message
    assert tree(tmp_path) == []


def test_root_may_be_the_data_home_or_the_dataset_folder(mnist_server, tmp_path):
    server, _, _ = mnist_server
    MNIST(root=tmp_path / "mnist", train=False, mirrors=[server.url + "/mnist/"])
    # tmp_path now has mnist/: root=tmp_path finds the files there, without downloading
    server.hits.clear()
    assert len(MNIST(root=tmp_path, train=False, download=False)) == 20 and server.hits == []


def test_corrupt_or_truncated_idx_files_are_named(tmp_path):
    files, _ = mnist_files()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    images = tmp_path / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(files["t10k-images-idx3-ubyte.gz"][:-100])
    with pytest.raises(CorruptFileError, match="t10k-images-idx3-ubyte.gz is corrupt or truncated"):
        MNIST(root=tmp_path, train=False, download=False)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(md5(b"x").encode())  # not gzip at all
    with pytest.raises(CorruptFileError, match="train-labels-idx1-ubyte.gz"):
        MNIST(root=tmp_path, train=True, download=False)


def test_idx_with_a_short_payload_is_truncated(tmp_path):
    import gzip
    files, _ = mnist_files()
    raw = gzip.decompress(files["t10k-labels-idx1-ubyte.gz"])
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw[:-3]))
    with pytest.raises(CorruptFileError, match="t10k-labels-idx1-ubyte.gz is truncated"):
        MNIST(root=tmp_path, train=False, download=False)


# -- CIFAR-10 ------------------------------------------------------------------------------


@pytest.fixture
def cifar_server(monkeypatch):
    archive, batches = cifar_archive()
    monkeypatch.setattr(CIFAR10, "checksum", md5(archive))
    with LocalServer({"/kriz/cifar-10-python.tar.gz": archive}) as server:
        yield server, batches


def test_cifar_download_extracts_and_loads_bgr(cifar_server, tmp_path):
    server, batches = cifar_server
    train = CIFAR10(root=tmp_path, train=True, mirrors=[server.url + "/kriz/"])
    rows = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    rgb = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    assert train.data.shape == (20, 32, 32, 3) and train.data.dtype == np.uint8
    np.testing.assert_array_equal(train.data, rgb[..., ::-1])  # BGR, as MegEngine
    labels = [label for i in range(1, 6) for label in batches[f"data_batch_{i}"][1]]
    np.testing.assert_array_equal(train.targets, labels)
    assert train.targets.dtype == np.int32
    names = ["batches.meta"] + [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    assert tree(tmp_path) == [f"cifar-10-batches-py/{n}" for n in sorted(names)]  # no archive
    test = CIFAR10(root=tmp_path, train=False, download=False)
    np.testing.assert_array_equal(test.targets, batches["test_batch"][1])


def test_cifar_checksum_mismatch_leaves_nothing(cifar_server, tmp_path, monkeypatch):
    server, _ = cifar_server
    monkeypatch.setattr(CIFAR10, "checksum", md5(b"something else"))
    with pytest.raises(DownloadError, match="checksum mismatch"):
        CIFAR10(root=tmp_path, mirrors=[server.url + "/kriz/"])
    assert tree(tmp_path) == []


def test_cifar_truncated_download_leaves_nothing(tmp_path, monkeypatch):
    archive, _ = cifar_archive()
    monkeypatch.setattr(CIFAR10, "checksum", md5(archive))
    with LocalServer({"/cifar-10-python.tar.gz": ("truncate", archive)}) as server, \
            pytest.raises(DownloadError, match="truncated"):
        CIFAR10(root=tmp_path, mirrors=[server.url + "/"])
    assert tree(tmp_path) == []


def _prepared_cifar(tmp_path, batches):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, batch in batches.items():
        (folder / name).write_bytes(cifar_batch(*batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": ["a"] * 10}))
    return folder


def test_prepared_cifar_loads_without_original_md5s(tmp_path):
    _, batches = cifar_archive(n=3)
    _prepared_cifar(tmp_path, batches)
    assert len(CIFAR10(root=tmp_path, train=False, download=False)) == 3


def test_truncated_cifar_batch_is_named(tmp_path):
    _, batches = cifar_archive(n=3)
    folder = _prepared_cifar(tmp_path, batches)
    data = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(data[:len(data) // 2])
    with pytest.raises(CorruptFileError, match="data_batch_3 is corrupt or truncated"):
        CIFAR10(root=tmp_path, train=True, download=False)


def test_cifar_batch_with_wrong_structure_is_named(tmp_path):
    _, batches = cifar_archive(n=3)
    folder = _prepared_cifar(tmp_path, batches)
    rows, labels = batches["test_batch"]
    (folder / "test_batch").write_bytes(cifar_batch(rows[:, :100], labels))
    with pytest.raises(CorruptFileError, match="test_batch: 'data' should be an"):
        CIFAR10(root=tmp_path, train=False, download=False)


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_pickles_cannot_run_code(tmp_path):
    _, batches = cifar_archive(n=3)
    folder = _prepared_cifar(tmp_path, batches)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": _Boom()}, protocol=2))
    with pytest.raises(CorruptFileError, match="refusing to load .*system"):
        CIFAR10(root=tmp_path, train=False, download=False)


# -- California housing --------------------------------------------------------------------


def test_housing_download_extracts_and_loads(tmp_path, monkeypatch):
    archive = housing_archive()
    monkeypatch.setattr(CaliforniaHousing, "checksum", sha256(archive))
    with LocalServer({"/files/5976036": archive}) as server:
        housing = CaliforniaHousing(root=tmp_path, mirrors=[server.url + "/files/"])
    assert housing.data.shape == (2, 8) and housing.data.dtype == np.float32
    np.testing.assert_allclose(housing.data[0], [8.3252, 41, 6.98412698, 1.02380952, 322,
                                                 2.55555556, 37.88, -122.23], rtol=1e-6)
    np.testing.assert_allclose(housing.targets, [4.526, 3.585], rtol=1e-6)
    assert tree(tmp_path) == ["CaliforniaHousing/cal_housing.data"]
    assert (tmp_path / "CaliforniaHousing/cal_housing.data").read_bytes() == HOUSING_ROWS


def test_housing_failed_download_and_truncated_file(tmp_path, monkeypatch):
    archive = housing_archive()
    monkeypatch.setattr(CaliforniaHousing, "checksum", sha256(archive))
    with LocalServer({"/files/5976036": 500}) as server, \
            pytest.raises(DownloadError, match="HTTP error 500"):
        CaliforniaHousing(root=tmp_path, mirrors=[server.url + "/files/"])
    assert tree(tmp_path) == []
    data = tmp_path / "CaliforniaHousing" / "cal_housing.data"
    data.parent.mkdir()
    data.write_bytes(HOUSING_ROWS[:-20])
    with pytest.raises(CorruptFileError, match="cal_housing.data is corrupt or truncated"):
        CaliforniaHousing(root=tmp_path, download=False)


# -- the building blocks ---------------------------------------------------------------------


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    with pytest.raises(RuntimeError), atomic_write(tmp_path / "f") as f:
        f.write(b"half")
        raise RuntimeError
    assert tree(tmp_path) == []


def test_download_url_verifies_sha256(tmp_path):
    with LocalServer({"/f": b"payload"}) as server:
        path = download_url([server.url + "/f"], str(tmp_path / "f"), sha256(b"payload"),
                            progress=False)
        with pytest.raises(DownloadError, match="checksum mismatch: expected sha256"):
            download_url([server.url + "/f"], str(tmp_path / "g"), sha256(b"other"))
    assert (tmp_path / "f").read_bytes() == b"payload" and path == str(tmp_path / "f")
    assert tree(tmp_path) == ["f"]
