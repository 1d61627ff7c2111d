"""The Result card: deterministic plain text (for nbval) and a compact coloured HTML card."""

import pytest

from tutorlib.grading.result import CHECK_MIME, Result

FAILED = Result(
    "ch01.relu", "ReLU <max>", points=2, status="failed",
    tested=["relu([-1, 0, 2])"], what="relu(x), random input 2 of 5: float64 (4, 5)",
    expected="float64 array of shape (4, 5)", got="float64 array of shape (4, 5)",
    detail="1 of 20 entries differ (rtol=1e-05, atol=1e-08); at [0, 1]: expected 0, got -0.3",
    hint="np.maximum(x, 0)")


def test_failed_text():
    assert repr(FAILED) == (
        "[FAIL] ch01.relu - ReLU <max>: failed, 0/2 points\n"
        "  test:     relu(x), random input 2 of 5: float64 (4, 5)\n"
        "  expected: float64 array of shape (4, 5)\n"
        "  got:      float64 array of shape (4, 5)\n"
        "  problem:  1 of 20 entries differ (rtol=1e-05, atol=1e-08); at [0, 1]: expected 0,"
        " got -0.3\n"
        "  passed:   relu([-1, 0, 2])\n"
        "  hint:     np.maximum(x, 0)")


def test_passed_and_not_implemented_text():
    passed = Result("ch01.relu", "ReLU", 2, "passed", tested=["a", "b"], hint="h")
    assert repr(passed) == ("[PASS] ch01.relu - ReLU: passed, 2/2 points\n"
                            "  tested: a\n"
                            "          b")
    todo = Result("ch01.relu", "ReLU", 2, "not implemented")
    assert repr(todo) == ("[TODO] ch01.relu - ReLU: not implemented, 0/2 points\n  todo: not "
                          "implemented yet: replace the `# YOUR CODE HERE` lines with your code")
    assert (passed.feedback, todo.feedback) == ("", "not implemented yet")
    assert FAILED.feedback == f"{FAILED.what}: {FAILED.detail}"


@pytest.mark.parametrize("status, colour", [
    ("passed", "#2e7d32"), ("failed", "#c62828"), ("not implemented", "#757575")])
def test_html_card_colour_and_escaping(status, colour):
    result = Result("ch01.relu", "ReLU <max>", 2, status, tested=["x < 0 & y"], hint="h")
    html = result._repr_html_()
    assert f"border-left:5px solid {colour}" in html
    assert "ReLU &lt;max&gt;" in html and "<max>" not in html
    assert html == Result.from_dict(result.to_dict())._repr_html_()
    assert ("hint" in html) == (status != "passed")


def test_jupyter_gets_text_html_and_progress_data():
    formatter = pytest.importorskip("IPython.core.formatters").DisplayFormatter()
    data, _ = formatter.format(FAILED)
    assert data["text/plain"] == repr(FAILED)
    assert data["text/html"] == FAILED._repr_html_()
    assert data[CHECK_MIME] == {"exercise": "ch01.relu", "status": "failed", "points": 2}
    assert "0x" not in data["text/plain"] + data["text/html"]


def test_status_is_validated():
    with pytest.raises(ValueError, match="status must be one of"):
        Result("ch01.relu", "ReLU", 2, "ok")
