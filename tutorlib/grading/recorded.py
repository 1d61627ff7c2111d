"""Recorded checks: what ``check()`` runs in the student bundle, which has no reference code.

``tutorlib-course release`` runs every check once against the solution and records each call
the check made of the student's function (its arguments and the solution's return value, in the
``tutorlib.grading.wire`` format) in ``tutorlib/grading/recorded/<chapter>.json``. In the
bundle, ``check("ch01.square_loss", square_loss)`` replays those calls and compares the answers
with the recorded ones (``rtol=1e-4, atol=1e-6``), with the same cards as the full check.

The trade-off: a student can read the recorded inputs and answers and hard-code them, which
fools this check and nothing else, since ``tutorlib-course grade`` draws fresh secret inputs and
runs the full checks. And an answer that is right in a way the reference is not (another valid
shuffling order, say) fails here while the full check, which tests properties, passes it.

>>> record = {"id": "docrec.double", "name": "double", "title": "Double", "points": 1,
...           "hint": "", "cases": [{"args": {"$tuple": [2.0]}, "kwargs": {"$dict": []},
...                                   "result": 4.0}]}
>>> register(record)
>>> from tutorlib.grading import check
>>> check("docrec.double", lambda x: 2 * x)
[PASS] docrec.double - Double: passed, 1/1 points
  tested: double(2.0) as the reference answers it (recorded input 1 of 1)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tutorlib.grading import wire
from tutorlib.grading.compare import describe, mismatch
from tutorlib.grading.registry import exercise
from tutorlib.grading.trial import CheckFailure, Trial

FOLDER = Path(__file__).parent / "recorded"
RTOL, ATOL = 1e-4, 1e-6


def load(chapter: str) -> bool:
    """Register the recorded checks of ``chapter``; False if there are none."""
    path = FOLDER / f"{chapter}.json"
    if not path.is_file():
        return False
    for record in json.loads(path.read_text(encoding="utf-8"))["exercises"]:
        register(record)
    return True


def register(record: dict) -> None:
    """Register one recorded exercise (see ``tutorlib.course.release``)."""
    name, cases = record["name"], record["cases"]

    def replay(answer: Any, t: Trial) -> None:
        for i, case in enumerate(cases):
            label = f"(recorded input {i + 1} of {len(cases)})"
            expected = _decode(case["result"])
            if "args" not in case:
                compare(t, answer, expected, f"{name} {label}")
                continue
            args, kwargs = _decode(case["args"]), _decode(case["kwargs"])
            got = answer(*args, **kwargs)
            compare(t, got, expected, f"{name}({_call(args, kwargs)}) as the reference "
                                      f"answers it {label}")

    exercise(record["id"], points=record["points"], name=name, title=record["title"],
             hint=record["hint"])(replay)


def compare(t: Trial, got: Any, expected: Any, what: str) -> None:
    """``got`` must match ``expected``: numbers and arrays within ``RTOL``/``ATOL``, tuples,
    lists and dicts element by element (the failure names the element)."""
    _compare(got, expected, t.label(what))
    t.passed(what)


def _compare(got: Any, expected: Any, what: str) -> None:
    if isinstance(expected, (tuple, list)):
        if not (isinstance(got, (tuple, list)) and len(got) == len(expected)):
            raise CheckFailure(what, f"a {type(expected).__name__} of {len(expected)}",
                               describe(got))
        for i, (g, e) in enumerate(zip(got, expected)):
            _compare(g, e, f"{what}[{i}]")
    elif isinstance(expected, dict):
        if not (isinstance(got, dict) and set(got) == set(expected)):
            raise CheckFailure(what, f"a dict with keys {sorted(map(str, expected))}",
                               describe(got))
        for key in expected:
            _compare(got[key], expected[key], f"{what}[{key!r}]")
    else:
        if hasattr(expected, "numpy") and callable(expected.numpy):
            expected = expected.numpy()
        problem = mismatch(got, expected, rtol=RTOL, atol=ATOL)
        if problem:
            raise CheckFailure(what, describe(expected), describe(got), problem)


def _decode(tree: Any) -> Any:
    return wire.loads(json.dumps(tree).encode(), objects=True)


def _call(args: tuple, kwargs: dict) -> str:
    shown = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
    return ", ".join(shown)


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<{value.dtype} {value.shape}>" if value.size > 4 else describe(value).split(
            ": ", 1)[-1]
    return describe(value)[:40]
