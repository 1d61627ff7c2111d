"""Helpers for the ``test_data_*.py`` files: a local HTTP server, small files in each dataset's
real format, and picklable datasets for worker tests (spawned workers import them from here).

``tests/`` is on ``sys.path`` (see conftest.py), so: ``from data_helpers import LocalServer``.
"""
from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import pickle
import struct
import tarfile
import threading
import time

import numpy as np

from tutorlib.data import Dataset

# -- files in the real formats -------------------------------------------------------------


def idx_gz(array: np.ndarray) -> bytes:
    """A uint8 array as a gzipped IDX file (MNIST's format)."""
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def mnist_files(n: int = 20, seed: int = 0):
    """``{file name: bytes}`` for a tiny MNIST (train and t10k), plus the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {p: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                  rng.integers(0, 10, n, dtype=np.uint8)) for p in ("train", "t10k")}
    files = {}
    for prefix, (images, labels) in arrays.items():
        files[f"{prefix}-images-idx3-ubyte.gz"] = idx_gz(images)
        files[f"{prefix}-labels-idx1-ubyte.gz"] = idx_gz(labels)
    return files, arrays


def _tar_gz(members: dict) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def cifar_batch(rows: np.ndarray, labels) -> bytes:
    """One CIFAR-10 python batch: a protocol-2 pickle of a dict with bytes keys."""
    return pickle.dumps({b"batch_label": b"test", b"labels": list(labels), b"data": rows,
                         b"filenames": [b"x.png"] * len(rows)}, protocol=2)


def cifar_archive(n: int = 4, seed: int = 0):
    """``cifar-10-python.tar.gz`` bytes with n images per batch, plus ``{batch: (rows, labels)}``."""
    rng = np.random.default_rng(seed)
    batches = {name: (rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                      rng.integers(0, 10, n).tolist())
               for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]}
    members = {f"cifar-10-batches-py/{name}": cifar_batch(*b) for name, b in batches.items()}
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(
        {b"label_names": [b"a"] * 10, b"num_cases_per_batch": n, b"num_vis": 3072}, protocol=2)
    return _tar_gz(members), batches


HOUSING_ROWS = (b"-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0\n"
                b"-122.22,37.86,21.0,7099.0,1106.0,2401.0,1138.0,8.3014,358500.0\n")


def housing_archive(text: bytes = HOUSING_ROWS) -> bytes:
    """``cal_housing.tgz`` bytes holding ``CaliforniaHousing/cal_housing.data``."""
    return _tar_gz({"CaliforniaHousing/cal_housing.data": text})


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- the server ----------------------------------------------------------------------------


class LocalServer:
    """An HTTP server on 127.0.0.1 (a free port) in a thread, serving ``routes``.

    ``routes[path]`` is bytes (served normally), an int (that HTTP status), or a tuple
    ``("truncate", bytes)`` (announces the full length, sends half, closes) or
    ``("stall", bytes)`` (sends the headers and a few bytes, then goes silent).
    """

    def __init__(self, routes=None):
        self.routes = dict(routes or {})
        self.hits = []
        self._stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits.append(self.path)
                route = server.routes.get(self.path, 404)
                if isinstance(route, int):
                    self.send_error(route)
                    return
                kind, body = route if isinstance(route, tuple) else ("ok", route)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if kind == "ok":
                    self.wfile.write(body)
                elif kind == "truncate":
                    self.wfile.write(body[:len(body) // 2])
                    self.close_connection = True
                elif kind == "stall":
                    self.wfile.write(body[:10])
                    self.wfile.flush()
                    server._stop.wait(30)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# -- datasets for worker-process tests -------------------------------------------------------


class SlowDataset(Dataset):
    """Takes ``delay`` seconds per sample."""

    def __init__(self, n: int = 8, delay: float = 5.0):
        self.n, self.delay = n, delay

    def __getitem__(self, index):
        time.sleep(self.delay)
        return (np.zeros(2, np.float32), np.int32(index))

    def __len__(self):
        return self.n
