"""Finding notebooks on the command line and telling which chapter a notebook belongs to.

>>> chapter_from_name("exercises/ch03-softmax.ipynb")
'ch03'
>>> chapter_from_name("homework.ipynb") is None
True
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

_CHAPTER_NAME = re.compile(r"^(ch\d+)-")


def find_notebooks(paths: list[str]) -> list[Path]:
    """The ``.ipynb`` files named in ``paths``; directories are searched recursively
    (``.ipynb_checkpoints`` skipped). Raises ``FileNotFoundError`` for a missing path."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {name}")
    return found


def chapter_from_name(path: str | Path) -> str | None:
    """The chapter id from a ``chNN-topic.ipynb`` file name, or None."""
    match = _CHAPTER_NAME.match(Path(path).name)
    return match.group(1) if match else None


def notebook_chapter(nb: nbformat.NotebookNode, path: str | Path) -> str | None:
    """The chapter id: ``metadata.tutorlib.chapter`` if present, else from the file name."""
    return nb.metadata.get("tutorlib", {}).get("chapter") or chapter_from_name(path)
