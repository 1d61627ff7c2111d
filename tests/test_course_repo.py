"""The repository's own course notebooks, as CI checks them: exercises/ is generated from
solutions/ and up to date, every solution passes its checks, every exercise fails them."""

from pathlib import Path

import pytest

from tutorlib.course.cli import main

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
NO_CHAPTERS = pytest.mark.skipif(
    not SOLUTIONS, reason="solutions/ has no chapter notebooks yet")
TIMEOUT = ["--timeout", "600"]


@NO_CHAPTERS
def test_exercises_are_built_from_solutions():
    assert main(["build", "--check", "--solutions", str(ROOT / "solutions"),
                 "--exercises", str(ROOT / "exercises")]) == 0


@NO_CHAPTERS
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_passes_every_check(solution):
    assert main(["validate", *TIMEOUT, str(solution)]) == 0


@NO_CHAPTERS
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_exercise_fails_every_check(solution):
    exercise = ROOT / "exercises" / solution.name
    assert exercise.is_file(), f"{exercise} is missing: run `tutorlib-course build`"
    assert main(["validate", "--invert", *TIMEOUT, str(exercise)]) == 0
