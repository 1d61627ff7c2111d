"""Run a check on an answer and turn whatever happens into a ``Result`` — never raise for it.

>>> from tutorlib.grading.registry import exercise
>>> @exercise("docrun.half", points=1, name="half", hint="divide by 2")
... def _(half, t):
...     t.close(half(3.0), 1.5, "half(3.0)")
>>> check("docrun.half", lambda x: x / 2)
[PASS] docrun.half - half: passed, 1/1 points
  tested: half(3.0)
>>> check("docrun.half", lambda x: x // 2)
[FAIL] docrun.half - half: failed, 0/1 points
  test:     half(3.0)
  expected: 1.5
  got:      1.0
  problem:  off by 0.5 (rtol=1e-05, atol=1e-08)
  hint:     divide by 2
>>> bool(check("docrun.half", ...))
False
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from tutorlib.grading.compare import clean
from tutorlib.grading.registry import Exercise, get
from tutorlib.grading.result import FAILED, NOT_IMPLEMENTED, PASSED, Result
from tutorlib.grading.trial import CheckFailure, Trial

_MISSING = object()


def check(exercise_id: str, answer: Any = _MISSING) -> Result | None:
    """Check ``answer`` for exercise ``exercise_id`` and return the ``Result`` (shown as a card).

    Without ``answer``, the exercise's notebook global (e.g. ``relu``) is looked up in
    ``__main__``. Only an unknown ``exercise_id`` raises (``LookupError``). While
    ``tutorlib-course grade`` runs the notebook (``TUTORLIB_GRADING=1``) it does nothing and
    returns None: the grader checks every exercise itself, outside the notebook.
    """
    if os.environ.get("TUTORLIB_GRADING") == "1":
        return None
    exercise = get(exercise_id)
    if answer is _MISSING:
        namespace = vars(sys.modules["__main__"])
        if exercise.name not in namespace:
            return missing(exercise, f"`{exercise.name}` is not defined: run the cell that defines it")
        answer = namespace[exercise.name]
    return run_check(exercise, answer)


def run_check(exercise: Exercise, answer: Any, seed: int | None = None) -> Result:
    """Run ``exercise.check(answer, t)``: pass, wrong value, exception or not implemented.
    ``seed`` (the grader's secret for this run) is mixed into the seed of ``t.rng``."""
    result = Result(exercise.id, exercise.title, exercise.points, PASSED, hint=exercise.hint)
    if answer is None or answer is Ellipsis:
        result.status = NOT_IMPLEMENTED
        result.message = (f"`{exercise.name}` is still the placeholder {answer!r}:"
                          " replace the `# YOUR CODE HERE` line with your answer")
        return result
    trial = Trial(exercise.id, seed)
    try:
        exercise.check(answer, trial)
    except NotImplementedError:
        result.status = NOT_IMPLEMENTED
    except CheckFailure as failure:
        result.status = FAILED
        result.what, result.expected = failure.what, failure.expected
        result.got, result.detail = failure.got, failure.detail
    except Exception as error:
        result.status = FAILED
        where = f" while testing {trial.context}" if trial.context else ""
        result.message = f"raised {_exception_line(error)}{where}"
    result.tested = list(trial.tested)
    return result


def missing(exercise: Exercise, reason: str) -> Result:
    """A failed ``Result`` for an answer that could not be checked at all, with the reason."""
    return Result(exercise.id, exercise.title, exercise.points, FAILED, message=reason,
                  hint=exercise.hint)


def _exception_line(error: BaseException) -> str:
    return clean(traceback.format_exception_only(type(error), error)[-1].strip())
