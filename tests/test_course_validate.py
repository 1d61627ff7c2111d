"""validate: the solution notebook passes every check, the generated exercise fails every one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutorlib.course.batch import grade_many
from tutorlib.course.cmd_validate import problems
from tutorlib.course.execute import Graded
from tutorlib.grading.registry import CHECKS_PATH_ENV
from tutorlib.grading.result import Result

DEMO = Path(__file__).parent / "fixtures" / "grading_demo"
SOLUTION = DEMO / "solutions" / "demo-basics.ipynb"
EXERCISE = DEMO / "exercises" / "demo-basics.ipynb"


def validate(*args):
    env = dict(os.environ, **{CHECKS_PATH_ENV: str(DEMO)})
    return subprocess.run([sys.executable, "-m", "tutorlib.course", "validate", "--timeout",
                           "20", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=180)


def test_solution_validates():
    out = validate(DEMO / "solutions")
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"ok      {SOLUTION}: all 5 checks pass" in out.stdout


def test_exercise_validates_inverted():
    out = validate("--invert", EXERCISE)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"ok      {EXERCISE}: all 5 checks fail as expected" in out.stdout


@pytest.fixture(scope="module")
def executed():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CHECKS_PATH_ENV, str(DEMO))
        solution, exercise = grade_many([SOLUTION, EXERCISE], timeout=20, time_limit=120,
                                        jobs=2, trust_metadata=True)
    return solution, exercise


def test_swapped_expectations_are_reported(executed):
    solution, exercise = executed
    assert problems(solution, invert=False) == [] == problems(exercise, invert=True)
    assert problems(solution, invert=True)[0] == (
        "demo.relu passes in the exercise notebook (is the solution left in?)")
    assert problems(exercise, invert=False)[0] == "demo.relu: not implemented yet"


def test_cell_errors_and_unknown_chapters_invalidate():
    passed = Result("demo.relu", "ReLU", 2, "passed")
    assert problems(Graded("x.ipynb", "demo", [passed], ["cell 3 raised ValueError: no"]),
                    invert=False) == ["cell 3 raised ValueError: no"]
    assert problems(Graded("x.ipynb", None, [], ["cannot tell the chapter"]), invert=True)


def test_no_notebooks_is_an_error(tmp_path):
    out = validate(tmp_path)
    assert out.returncode == 2 and "no notebooks found" in out.stderr
