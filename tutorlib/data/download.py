"""Downloading dataset files safely: mirrors, a timeout, a progress bar, checksums, atomic writes.

Nothing half-written ever appears under the final name: data goes to a temporary file next to
the destination (``.NAME.XXXX.part``), is verified, and only then renamed with ``os.replace``.
On any failure the temporary file is removed, so the cache is left exactly as it was.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib

#: seconds to wait for the server to connect or to send the next piece of data
DEFAULT_TIMEOUT = 30.0
_CHUNK = 1 << 20


class DownloadError(OSError):
    """No mirror delivered a complete, verified file; the message lists each attempt."""


class CorruptFileError(OSError):
    """A data file exists but is damaged, truncated or not in the expected format."""


def parse_checksum(checksum: str) -> tuple[str, str]:
    """Split ``"md5:<hex>"`` or ``"sha256:<hex>"`` into (algorithm, hex digest).

    >>> parse_checksum("md5:c58f30108f718f92721af3b95e74349a")
    ('md5', 'c58f30108f718f92721af3b95e74349a')
    """
    algorithm, _, digest = checksum.partition(":")
    if algorithm not in ("md5", "sha256") or not digest:
        raise ValueError(f"checksum should look like 'md5:<hex>' or 'sha256:<hex>', got {checksum!r}")
    return algorithm, digest.lower()


@contextlib.contextmanager
def atomic_write(path: str):
    """Write a file that appears at ``path`` only if the ``with`` block succeeds.

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"hello")
    >>> open(target, "rb").read()
    b'hello'
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP error {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, TimeoutError):
        return f"timed out: no data for {timeout} s"
    if isinstance(exc, http.client.IncompleteRead):
        return f"transfer truncated: {exc!r}"
    return f"{type(exc).__name__}: {exc}"


def _fetch(url: str, path: str, checksum: str, timeout: float, progress: bool) -> None:
    from tqdm.auto import tqdm  # imported here: loading data that is already cached needs none

    algorithm, expected = parse_checksum(checksum)
    digest = hashlib.new(algorithm)
    with atomic_write(path) as out, urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length is not None else None
        received = 0
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=os.path.basename(path), disable=not progress) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if total is not None and received != total:
            raise DownloadError(f"transfer truncated: received {received} of {total} bytes")
        if digest.hexdigest() != expected:
            raise DownloadError(f"checksum mismatch: expected {algorithm} {expected}, "
                                f"got {digest.hexdigest()}")


def download_url(urls, path: str, checksum: str, *, timeout: float = DEFAULT_TIMEOUT,
                 progress: bool = True) -> str:
    """Download ``path`` from the first of ``urls`` (mirrors, tried in order) that delivers a
    complete file with the given ``checksum`` (``"md5:..."`` or ``"sha256:..."``).

    Each attempt shows a tqdm progress bar and gives up when the server is silent for
    ``timeout`` seconds. Returns ``path``; raises ``DownloadError`` listing every failed attempt.

    >>> download_url([], "/tmp/never", "md5:0")
    Traceback (most recent call last):
    ...
    tutorlib.data.download.DownloadError: could not download /tmp/never: no URL to try
    """
    failures = []
    for url in urls:
        try:
            _fetch(url, path, checksum, timeout, progress)
            return path
        except DownloadError as exc:
            failures.append(f"  {url}: {exc}")
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"  {url}: {_describe(exc, timeout)}")
    reasons = "\n".join(failures) if failures else "no URL to try"
    raise DownloadError(f"could not download {path}:" + ("\n" if failures else " ") + reasons)


def extract_members(archive: str, members: dict) -> None:
    """Copy ``members`` (name inside the tar archive -> destination path) out of ``archive``.

    Only the named regular files are read, so paths inside the archive can never escape the
    destination; each destination is written atomically.

    >>> import io, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with tarfile.open(os.path.join(folder, "a.tgz"), "w:gz") as tar:
    ...     info = tarfile.TarInfo("inner/x.txt"); info.size = 2
    ...     tar.addfile(info, io.BytesIO(b"hi"))
    >>> extract_members(os.path.join(folder, "a.tgz"), {"inner/x.txt": os.path.join(folder, "x")})
    >>> open(os.path.join(folder, "x"), "rb").read()
    b'hi'
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            for name, destination in members.items():
                try:
                    info = tar.getmember(name)
                except KeyError:
                    raise CorruptFileError(f"{archive} has no member {name!r}") from None
                if not info.isfile():
                    raise CorruptFileError(f"{archive}: member {name!r} is not a regular file")
                source = tar.extractfile(info)
                with atomic_write(destination) as out:
                    while chunk := source.read(_CHUNK):
                        out.write(chunk)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise CorruptFileError(f"{archive} is corrupt or truncated: {exc}") from exc
