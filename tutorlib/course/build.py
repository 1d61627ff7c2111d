"""``build``: generate ``exercises/*.ipynb`` from ``solutions/*.ipynb`` (never edited by hand).

A generated notebook has the solution markers replaced (``tutorlib.course.markers``),
``### SOLUTION ONLY`` cells dropped, outputs and execution counts cleared, and
``metadata.tutorlib = {"generated": true, "source": "../solutions/<name>", "chapter": ...}``.
It is written as nbformat's sorted, indented JSON, so building twice gives identical bytes.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat

from tutorlib.course.markers import MarkerError, is_solution_only, strip_code, strip_markdown
from tutorlib.course.notebooks import notebook_chapter

_VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


def generate(solution: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """The student's notebook for ``solution``; ``source`` is recorded in the metadata."""
    nb = copy.deepcopy(solution)
    cells = []
    for index, cell in enumerate(nb.cells, start=1):
        if is_solution_only(cell.source):
            continue
        try:
            if cell.cell_type == "code":
                cell.source = strip_code(cell.source)
                cell.outputs, cell.execution_count = [], None
            elif cell.cell_type == "markdown":
                cell.source = strip_markdown(cell.source)
        except MarkerError as error:
            raise MarkerError(f"{source}, cell {index}: {error}") from None
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)   # widget state of the executed solution (tqdm bars, sliders)
    meta = {"generated": True, "source": source}
    chapter = notebook_chapter(solution, source)
    if chapter:
        meta["chapter"] = chapter
    nb.metadata["tutorlib"] = meta
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """Deterministic JSON text of a notebook (sorted keys, one-space indent, final newline)."""
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def plan(solutions: Path, exercises: Path) -> dict[Path, str | None]:
    """What ``build`` would do: {exercise path: new text, or None to delete a stale one}.

    Only files whose content would change are listed. Stale means a generated notebook whose
    solution no longer exists; notebooks in ``exercises`` that were not generated are left alone.
    """
    changes: dict[Path, str | None] = {}
    sources = sorted(solutions.glob("*.ipynb"))
    for path in sources:
        target = exercises / path.name
        source = Path(os.path.relpath(path, exercises)).as_posix()
        text = render(generate(nbformat.read(path, as_version=4), source))
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            changes[target] = text
    for target in sorted(exercises.glob("*.ipynb")):
        if not (solutions / target.name).exists() and _is_generated(target):
            changes[target] = None
    return changes


def apply(changes: dict[Path, str | None]) -> None:
    """Write (or delete) the files of a ``plan``."""
    for target, text in changes.items():
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def _is_generated(path: Path) -> bool:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # unreadable: not ours to delete
        return False
    return bool(nb.metadata.get("tutorlib", {}).get("generated"))
