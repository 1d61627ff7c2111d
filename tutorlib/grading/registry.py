"""The exercise registry: ``@exercise`` registers a check; chapters load lazily by id.

An exercise id is ``<chapter>.<name>``, e.g. ``"ch03.softmax"``. The checks of chapter ``ch03``
live in the module ``tutorlib.grading.ch03``, imported the first time one of its exercises is
looked up. Checks that are not part of the package (tests, a course fork) can be put in a
directory listed in the environment variable ``TUTORLIB_CHECKS_PATH`` (``os.pathsep``
separated): chapter ``demo`` is then loaded from ``<dir>/demo.py``.

>>> @exercise("docregistry.double", points=1, name="double", title="Double it")
... def _(double, t):
...     t.close(double(2.0), 4.0, "double(2.0)")
>>> get("docregistry.double").points
1
>>> [ex.id for ex in chapter_exercises("docregistry")]
['docregistry.double']
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKS_PATH_ENV = "TUTORLIB_CHECKS_PATH"
_ID = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_.]*)$")
_REGISTRY: dict[str, Exercise] = {}
_LOADED: set[str] = set()


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: the notebook global ``name`` is passed to ``check(answer, t)``."""

    id: str
    name: str
    points: int
    title: str
    hint: str
    check: Callable[[Any, Any], None]

    @property
    def chapter(self) -> str:
        """The chapter id, the part of the exercise id before the first dot."""
        return chapter_of(self.id)


def chapter_of(exercise_id: str) -> str:
    """``"ch03.softmax"`` -> ``"ch03"``.

    >>> chapter_of("ch03.softmax")
    'ch03'
    """
    match = _ID.match(exercise_id)
    if not match:
        raise ValueError(
            f"bad exercise id {exercise_id!r}: use '<chapter>.<name>', e.g. 'ch03.softmax'"
        )
    return match.group(1)


def exercise(exercise_id: str, *, points: int, name: str, title: str = "", hint: str = ""):
    """Register the decorated ``check(answer, t)`` function as exercise ``exercise_id``.

    ``name`` is the notebook global holding the student's answer; ``points`` the score for a
    pass; ``hint`` is shown when the answer is wrong. Registering an id again replaces it.
    """
    chapter_of(exercise_id)
    if not name.isidentifier():
        raise ValueError(f"exercise {exercise_id}: name {name!r} is not a Python identifier")
    if points < 0:
        raise ValueError(f"exercise {exercise_id}: points must be >= 0, got {points}")

    def register(check: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        _REGISTRY[exercise_id] = Exercise(exercise_id, name, points, title or name, hint, check)
        return check

    return register


def chapter_exercises(chapter: str) -> list[Exercise]:
    """All exercises of ``chapter`` in registration order, importing its checks if needed."""
    if chapter not in _LOADED:
        try:
            _load_chapter(chapter)
        except LookupError:
            if not any(ex.chapter == chapter for ex in _REGISTRY.values()):
                raise
        _LOADED.add(chapter)
    found = [ex for ex in _REGISTRY.values() if ex.chapter == chapter]
    if not found:
        raise LookupError(f"the checks module for chapter {chapter!r} registers no exercises")
    return found


def get(exercise_id: str) -> Exercise:
    """The exercise registered as ``exercise_id`` (its chapter's checks are imported first)."""
    chapter = chapter_of(exercise_id)
    if exercise_id not in _REGISTRY:
        known = [ex.id for ex in chapter_exercises(chapter)]
        if exercise_id not in _REGISTRY:
            raise LookupError(f"unknown exercise {exercise_id!r}; chapter {chapter} has: "
                              + ", ".join(known))
    return _REGISTRY[exercise_id]


def check_files() -> list[Path]:
    """Check modules (and their compiled copies) inside the tutorlib package: the grader hides
    them from the student's kernel, which can read the package."""
    folder = Path(__file__).parent
    return sorted([*folder.glob("ch[0-9]*.py"), *folder.glob("__pycache__/ch[0-9]*.pyc")])


def _load_chapter(chapter: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", chapter):
        raise LookupError(f"bad chapter id {chapter!r}")
    module_name = f"tutorlib.grading.{chapter}"
    if importlib.util.find_spec(module_name) is not None:
        importlib.import_module(module_name)
        return
    for directory in filter(None, os.environ.get(CHECKS_PATH_ENV, "").split(os.pathsep)):
        path = Path(directory) / f"{chapter}.py"
        if path.is_file():
            spec = importlib.util.spec_from_file_location(f"tutorlib_checks_{chapter}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            return
    recorded = importlib.import_module("tutorlib.grading.recorded")  # the student bundle
    if recorded.load(chapter):
        return
    raise LookupError(
        f"no checks for chapter {chapter!r}: expected tutorlib/grading/{chapter}.py"
        f" (or {chapter}.py in a directory listed in ${CHECKS_PATH_ENV})"
    )
