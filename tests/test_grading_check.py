"""check(): passed / failed / not implemented, never raising for a wrong answer; the helpers."""

import sys
from pathlib import Path

import numpy as np
import pytest

from tutorlib.grading import CheckFailure, Trial, check, describe, get, mismatch, numerical_grad
from tutorlib.grading.registry import CHECKS_PATH_ENV, chapter_exercises, chapter_of

DEMO = Path(__file__).parent / "fixtures" / "grading_demo"


@pytest.fixture(autouse=True, scope="module")
def demo_chapter():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CHECKS_PATH_ENV, str(DEMO))
        yield


def relu(x):
    return np.maximum(x, 0)


def mse(pred, target):
    return float(((pred - target) ** 2).mean())


def mse_grad(pred, target):
    return 2 * (pred - target) / pred.size


def normalize(x):
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)


def stub(*args):
    raise NotImplementedError()


CORRECT = {"demo.relu": relu, "demo.mse": mse, "demo.mse_grad": mse_grad,
           "demo.normalize": normalize, "demo.n_params": 16}


@pytest.mark.parametrize("exercise_id", sorted(CORRECT))
def test_correct_answers_pass_with_full_points(exercise_id):
    result = check(exercise_id, CORRECT[exercise_id])
    assert result and result.status == "passed", result
    assert result.score == result.points == get(exercise_id).points
    assert result.tested


@pytest.mark.parametrize("exercise_id, wrong, feedback", [
    ("demo.relu", np.abs, "relu([-1, 0, 2])"),
    ("demo.mse", lambda p, t: float(((p - t) ** 2).sum()), "off by"),
    ("demo.mse_grad", lambda p, t: 2 * (p - t), "mse_grad(pred, target), random input 1 of 3"),
    ("demo.normalize", lambda x: x - x.mean(axis=1, keepdims=True), "has std 1"),
    ("demo.n_params", 12, "n_params for Linear(3, 4)"),
    ("demo.relu", lambda x: "relu", "expected numbers, got 'relu'"),
    ("demo.relu", lambda x: x[:1], "shape (1,), expected shape (3,)"),
])
def test_wrong_answers_fail_with_feedback(exercise_id, wrong, feedback):
    result = check(exercise_id, wrong)
    assert not result and result.status == "failed" and result.score == 0
    assert feedback in result.feedback
    assert result.hint == get(exercise_id).hint


def test_exceptions_are_reported_not_raised():
    result = check("demo.normalize", lambda x: x.no_such_method())
    assert result.status == "failed"
    assert result.message == ("raised AttributeError: 'numpy.ndarray' object has no attribute"
                              " 'no_such_method' while testing random input 1 of 5: float64 (4, 5)")


@pytest.mark.parametrize("answer", [stub, ..., None])
def test_stubs_and_placeholders_are_not_implemented(answer):
    result = check("demo.relu", answer)
    assert result.status == "not implemented" and not result


def test_normalize_must_not_depend_on_scale():
    def sneaky(x):  # right mean and std on the inputs, but not scale invariant
        return normalize(x) if x.max() < 5 else np.zeros_like(x)
    result = check("demo.normalize", sneaky)
    assert not result and "normalize(3 * x + 1) == normalize(x)" in result.what


def test_unknown_exercise_raises_and_lists_the_known_ones():
    with pytest.raises(LookupError, match="demo.relu"):
        check("demo.rleu", relu)
    with pytest.raises(LookupError, match="no checks for chapter 'nochapter'"):
        check("nochapter.x", relu)
    with pytest.raises(ValueError, match="bad exercise id"):
        chapter_of("no-dot")


def test_answer_defaults_to_the_notebook_global(monkeypatch):
    monkeypatch.setattr(sys.modules["__main__"], "relu", relu, raising=False)
    assert check("demo.relu")
    monkeypatch.delattr(sys.modules["__main__"], "relu")
    assert "`relu` is not defined" in check("demo.relu").message


def test_results_are_deterministic():
    wrong = lambda p, t: 2 * (p - t)
    assert check("demo.mse_grad", wrong).to_dict() == check("demo.mse_grad", wrong).to_dict()


def test_chapter_exercises_in_registration_order():
    assert [ex.id for ex in chapter_exercises("demo")] == [
        "demo.relu", "demo.mse", "demo.mse_grad", "demo.normalize", "demo.n_params"]


def test_numerical_grad_matches_analytic_gradient():
    x = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_allclose(numerical_grad(lambda v: np.sin(v).sum(), x), np.cos(x),
                               rtol=1e-6)


def test_mismatch_names_shapes_and_first_differences():
    got, want = np.zeros((2, 3)), np.zeros((2, 3))
    got[1, 2] = 1.0
    assert mismatch(got, want) == ("1 of 6 entries differ (rtol=1e-05, atol=1e-08); "
                                   "at [1, 2]: expected 0, got 1")
    assert mismatch(np.zeros(3), want) == "shape (3,), expected shape (2, 3)"
    assert mismatch(np.float32(0.1), 0.1) is None
    assert mismatch(np.array([np.nan]), np.array([np.nan])) is None


def test_describe_has_no_memory_addresses():
    assert "0x" not in describe(relu) and describe(relu).startswith("<function relu")


def test_against_reference_gives_copies_and_names_the_input():
    t = Trial("any.id")

    def in_place(x):
        x[:] = 0
        return x

    with pytest.raises(CheckFailure) as failure:
        t.against_reference(in_place, lambda x: x * 0 + 1, lambda rng: (rng.normal(size=2),),
                            what="f(x)")
    assert failure.value.what == "f(x), random input 1 of 5: float64 (2,)"
    t = Trial("any.id")
    t.against_reference(np.abs, np.abs, lambda rng: (rng.normal(size=2),), what="abs(x)", n=3)
    assert t.tested == ["abs(x) matches the reference on 3 seeded random inputs"]


def test_trial_rng_is_seeded_by_exercise_id():
    assert Trial("a.b").rng.normal() == Trial("a.b").rng.normal() != Trial("a.c").rng.normal()


def test_holds_reports_a_broken_property():
    t = Trial("any.id")
    t.holds(np.ones(3) > 0, "positive")
    with pytest.raises(CheckFailure, match="non-negative"):
        t.holds(np.array([1.0, -1.0]) >= 0, "non-negative", got=np.array([1.0, -1.0]))
    assert t.tested == ["positive"]
