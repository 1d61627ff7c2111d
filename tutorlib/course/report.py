"""Score tables for the terminal and CSV / JSON summaries for a whole class.

>>> from tutorlib.grading.result import Result
>>> from tutorlib.course.execute import Graded
>>> g = Graded("alice/ch01-intro.ipynb", "ch01", [
...     Result("ch01.a", "A", 2, "passed"),
...     Result("ch01.b", "B", 1, "failed", message="`b` is not defined")])
>>> print(table(g))
alice/ch01-intro.ipynb  (chapter ch01): 2/3 points
  exercise  points  result  feedback
  ch01.a    2/2     passed
  ch01.b    0/1     failed  `b` is not defined
>>> [row["exercise"] for row in csv_rows([g])]
['ch01.a', 'ch01.b', 'TOTAL']
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tutorlib.data.download import atomic_write

CSV_FIELDS = ["submission", "chapter", "exercise", "title", "points", "score", "result",
              "feedback"]


def table(graded, width: int = 100) -> str:
    """One submission: headline, one line per exercise, then notes (cell errors, timeouts)."""
    headline = (f"{graded.path}  (chapter {graded.chapter or '?'}): "
                f"{graded.score}/{graded.points} points")
    if graded.sandbox != "bwrap":
        headline += f"  [UNSANDBOXED: {graded.sandbox}]"
    lines = [headline] + [f"  ERROR: {error}" for error in graded.errors]
    rows = [("exercise", "points", "result", "feedback")] + [
        (r.exercise, f"{r.score}/{r.points}", r.status, _cut(r.feedback, width))
        for r in graded.results]
    if graded.results:
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [cell.ljust(w) for cell, w in zip(row, widths)] + [row[3]]
            lines.append("  " + "  ".join(cells).rstrip())
    lines += [f"  note: {note}" for note in graded.notes]
    return "\n".join(lines)


def summary(all_graded) -> str:
    """The class at a glance: one line per submission with its total."""
    width = max(len(g.path) for g in all_graded)
    return "\n".join(f"{g.path.ljust(width)}  {g.score:>3}/{g.points}" for g in all_graded)


def csv_rows(all_graded) -> list[dict]:
    """One row per submission and exercise, plus a ``TOTAL`` row per submission."""
    out = []
    for g in all_graded:
        for r in g.results:
            out.append({"submission": g.path, "chapter": g.chapter, "exercise": r.exercise,
                        "title": r.title, "points": r.points, "score": r.score,
                        "result": r.status, "feedback": r.feedback})
        out.append({"submission": g.path, "chapter": g.chapter, "exercise": "TOTAL",
                    "title": "", "points": g.points, "score": g.score,
                    "result": "unsandboxed" if g.sandbox != "bwrap" else "",
                    "feedback": "; ".join([f"ERROR: {e}" for e in g.errors] + g.notes)})
    return out


def write_csv(path: Path, all_graded) -> None:
    """``csv_rows`` as a CSV file with a header (written atomically)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerows(csv_rows(all_graded))
    write_atomically(path, text.getvalue())


def write_json(path: Path, all_graded) -> None:
    """Every submission with its results in full (expected/got/hint included) as JSON, with
    ``sandbox`` (``bwrap``, or ``process``/``none`` and ``unsandboxed: true``), ``errors`` and
    the first part of what the notebook printed (``output``), the notebook's ``sha256`` (what
    ``--resume`` compares), the ``seconds`` it took and the ``host`` that ran it. Written
    atomically."""
    data = [g.to_record() for g in all_graded]
    write_atomically(path, json.dumps(data, indent=1) + "\n")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) next to ``path`` and rename it over ``path``: a reader sees the old
    file or the new one, never half of it."""
    with atomic_write(path) as f:
        f.write(text.encode("utf-8"))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
