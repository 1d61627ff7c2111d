"""Where dataset files live, and the errors that say which files are missing and where to get them.

The data home is ``root`` if given, else the ``TUTORLIB_DATA`` environment variable, else
``~/.cache/tutorlib``. Each dataset has its folder in it (``mnist/``, ``fashion-mnist/``,
``cifar10/``, ``california-housing/``): the layout ``python ../shared/data/prepare.py DIR``
writes. Like MegEngine, ``root`` may also be the dataset's own folder.
"""
from __future__ import annotations

import os

from ..download import DownloadError, download_url


class MissingDataError(FileNotFoundError):
    """Data files are missing and were not downloaded; the message says what to put where."""


def data_home() -> str:
    """The folder holding all datasets: ``$TUTORLIB_DATA`` or ``~/.cache/tutorlib``.

    >>> data_home() == os.path.abspath(os.environ.get("TUTORLIB_DATA")
    ...                                 or os.path.expanduser("~/.cache/tutorlib"))
    True
    """
    home = os.environ.get("TUTORLIB_DATA") or os.path.join("~", ".cache", "tutorlib")
    return os.path.abspath(os.path.expanduser(home))


def dataset_folder(root, name: str) -> str:
    """The folder of dataset ``name``: ``root/name`` if that folder exists, else ``root`` itself
    (MegEngine style: ``MNIST(root="/data/mnist")``); without ``root``, ``data_home()/name``.

    >>> dataset_folder("/nonexistent/place", "mnist")
    '/nonexistent/place'
    """
    if root is None:
        return os.path.join(data_home(), name)
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    nested = os.path.join(root, name)
    return nested if os.path.isdir(nested) else root


def missing_files(folder: str, names) -> list:
    """Full paths of the files ``names`` (relative to ``folder``) that do not exist.

    A directory where a file should be raises ``IsADirectoryError`` saying exactly that.

    >>> missing_files("/nonexistent", ["a.gz"])
    ['/nonexistent/a.gz']
    >>> missing_files("/", ["tmp"])
    Traceback (most recent call last):
    ...
    IsADirectoryError: /tmp is a directory, but a data file is expected there; remove or rename it
    """
    paths = [os.path.join(folder, name) for name in names]
    for p in paths:
        if os.path.isdir(p):
            raise IsADirectoryError(f"{p} is a directory, but a data file is expected there; "
                                    "remove or rename it")
    return [p for p in paths if not os.path.isfile(p)]


def missing_message(dataset: str, paths, how_to_get: str) -> str:
    """The text of a missing-data error: which files, where they go, where to get them.

    >>> print(missing_message("Toy", ["/data/toy/a.gz"], "Get it from http://example.org/a.gz"))
    Toy: missing data files:
      /data/toy/a.gz
    Get it from http://example.org/a.gz
    Put the files at exactly these paths, ...
    """
    listing = "\n".join(f"  {p}" for p in paths)
    return (f"{dataset}: missing data files:\n{listing}\n{how_to_get}\n"
            "Put the files at exactly these paths, or point root= or the TUTORLIB_DATA "
            "environment variable at a folder that has them (the layout of "
            "`python ../shared/data/prepare.py DIR`).")


def fetch_or_explain(urls, dest: str, checksum: str, message: str, download: bool,
                     timeout: float) -> None:
    """Download ``dest`` (checksum-verified) from the first URL that works, or explain.

    Raises :class:`MissingDataError` with ``message`` when ``download`` is False, and
    ``DownloadError`` with ``message`` appended when every URL fails.
    """
    if not download:
        raise MissingDataError(message + "\nOr pass download=True.")
    try:
        download_url(urls, dest, checksum, timeout=timeout)
    except DownloadError as exc:
        raise DownloadError(f"{exc}\n{message}") from None
