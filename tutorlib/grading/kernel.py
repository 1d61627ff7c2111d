"""The grading protocol between ``tutorlib-course`` and a notebook kernel.

After a submission has run, the grader executes ``emit(exercise_id, globals(), nonce)`` in the
kernel for every exercise of the chapter; ``emit`` checks the notebook global named by the
exercise and prints the ``Result`` as one JSON line after a sentinel and the run's nonce.
``parse`` reads it back from the cell's output.

>>> from tutorlib.grading.registry import exercise
>>> @exercise("dockernel.one", points=1, name="one")
... def _(one, t):
...     t.close(one, 1, "one")
>>> import contextlib, io
>>> out = io.StringIO()
>>> with contextlib.redirect_stdout(out):
...     emit("dockernel.one", {"one": 1}, "n0nce")
>>> parse(out.getvalue(), "n0nce").status
'passed'
>>> parse(out.getvalue(), "other") is None
True
"""

from __future__ import annotations

import json
import re
import sys

from tutorlib.grading.registry import get
from tutorlib.grading.result import Result
from tutorlib.grading.run import missing, run_check

SENTINEL = "@@tutorlib-grade@@"


def emit(exercise_id: str, namespace: dict, nonce: str) -> None:
    """Check ``namespace[exercise.name]`` and print the result line for ``parse``."""
    exercise = get(exercise_id)
    if exercise.name in namespace:
        result = run_check(exercise, namespace[exercise.name])
    else:
        result = missing(exercise, f"`{exercise.name}` is not defined when the notebook has run")
    sys.stdout.write(f"\n{SENTINEL} {nonce} {json.dumps(result.to_dict())}\n")
    sys.stdout.flush()


def parse(text: str, nonce: str) -> Result | None:
    """The ``Result`` printed by ``emit`` with this ``nonce`` in ``text``, or None."""
    match = re.search(rf"^{re.escape(SENTINEL)} {re.escape(nonce)} (.*)$", text, re.MULTILINE)
    return Result.from_dict(json.loads(match.group(1))) if match else None
