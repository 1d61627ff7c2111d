"""build: solution markers stripped, signatures kept, placeholders run, idempotent, drift found."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tutorlib.course.build import generate
from tutorlib.course.cli import main
from tutorlib.course.markers import MarkerError, strip_code, strip_markdown
from tutorlib.grading import chapter_exercises, run_check
from tutorlib.grading.registry import CHECKS_PATH_ENV

DEMO = Path(__file__).parent / "fixtures" / "grading_demo"


def test_function_body_becomes_a_stub_keeping_signature_and_docstring():
    source = ('def f(x, *, k=2):\n    """Doc."""\n    y = 1\n    ### BEGIN SOLUTION\n'
              '    if x:\n        return k * x\n    ### END SOLUTION\n    return y')
    assert strip_code(source) == ('def f(x, *, k=2):\n    """Doc."""\n    y = 1\n'
                                  '    # YOUR CODE HERE\n    raise NotImplementedError()\n'
                                  '    return y')


def test_top_level_solution_becomes_placeholders_that_run():
    source = ("import numpy as np\n### BEGIN SOLUTION\nimport math\na, (b, c) = 1, (2, 3)\n"
              "for i in range(3):\n    total = i\nd = [j for j in range(2)]\nd += [1]\n"
              "### END SOLUTION\nprint(a)")
    out = strip_code(source)
    assert out == ("import numpy as np\na = ...  # YOUR CODE HERE\nb = ...  # YOUR CODE HERE\n"
                   "c = ...  # YOUR CODE HERE\ni = ...  # YOUR CODE HERE\n"
                   "total = ...  # YOUR CODE HERE\nd = ...  # YOUR CODE HERE\nprint(a)")
    exec(compile(out, "cell", "exec"), {})
    assert strip_code("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION\n") == "# YOUR CODE HERE\n"


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "without END"),
    ("x = 1\n### END SOLUTION", "without BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ("### BEGIN SOLUTION\ndef f():\n    pass\n### END SOLUTION", "inside the body"),
    ("### BEGIN SOLUTION\nx = (\n### END SOLUTION", "does not parse"),
], ids=["unclosed", "unopened", "nested", "def-inside", "syntax-error"])
def test_bad_markers_are_errors(source, message):
    with pytest.raises(MarkerError, match=message):
        strip_code(source)


def test_markdown_answers_are_replaced():
    assert strip_markdown("Q?\n### BEGIN SOLUTION\nA.\n### END SOLUTION\nmore") == (
        "Q?\nYOUR ANSWER HERE\nmore")


@pytest.fixture(scope="module")
def solution():
    return nbformat.read(DEMO / "solutions" / "demo-basics.ipynb", as_version=4)


@pytest.fixture(scope="module")
def generated(solution):
    return generate(solution, "../solutions/demo-basics.ipynb")


def test_generated_notebook_is_clean_and_marked(solution, generated):
    assert generated.metadata.tutorlib == {
        "generated": True, "source": "../solutions/demo-basics.ipynb", "chapter": "demo"}
    text = nbformat.writes(generated)
    assert "BEGIN SOLUTION" not in text and "np.maximum" not in text
    assert "SOLUTION ONLY" not in text and len(generated.cells) == len(solution.cells) - 1
    code = [c for c in generated.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert 'def relu(x):\n    """max(x, 0) elementwise.' in code[1].source
    assert "n_params = ...  # YOUR CODE HERE" in [c.source for c in code]


def test_generated_notebook_runs_top_to_bottom_and_fails_every_check(generated, monkeypatch):
    monkeypatch.setenv(CHECKS_PATH_ENV, str(DEMO))
    namespace = {}
    for cell in generated.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, "cell", "exec"), namespace)
    results = [run_check(ex, namespace[ex.name]) for ex in chapter_exercises("demo")]
    assert {r.status for r in results} == {"not implemented"}


def test_committed_fixture_exercises_are_up_to_date():
    assert main(["build", "--check", "--solutions", str(DEMO / "solutions"),
                 "--exercises", str(DEMO / "exercises")]) == 0


def test_build_is_idempotent_and_check_finds_drift(tmp_path, capsys):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(DEMO / "solutions", solutions)
    args = ["--solutions", str(solutions), "--exercises", str(exercises)]
    assert main(["build", "--check", *args]) == 1
    assert main(["build", *args]) == 0
    target = exercises / "demo-basics.ipynb"
    first = target.read_bytes()
    assert first == (DEMO / "exercises" / "demo-basics.ipynb").read_bytes()
    capsys.readouterr()
    assert main(["build", *args]) == 0 and target.read_bytes() == first
    assert main(["build", "--check", *args]) == 0
    assert "up to date" in capsys.readouterr().out

    nb = nbformat.read(solutions / "demo-basics.ipynb", as_version=4)
    nb.cells[0].source += "\nA new sentence."
    nbformat.write(nb, solutions / "demo-basics.ipynb")
    assert main(["build", "--check", *args]) == 1
    assert f"{target} would be rewritten" in capsys.readouterr().out
    assert target.read_bytes() == first

    (solutions / "demo-basics.ipynb").rename(solutions / "demo-renamed.ipynb")
    (exercises / "hand-made.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    assert main(["build", *args]) == 0
    assert sorted(p.name for p in exercises.iterdir()) == ["demo-renamed.ipynb",
                                                          "hand-made.ipynb"]


def test_build_reports_marker_errors(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION")])
    nbformat.write(nb, tmp_path / "solutions" / "ch09-bad.ipynb")
    assert main(["build", "--solutions", str(tmp_path / "solutions"),
                 "--exercises", str(tmp_path / "exercises")]) == 2
    assert "ch09-bad.ipynb, cell 1: BEGIN SOLUTION without END" in capsys.readouterr().err


def test_command_line_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "tutorlib.course", "build", "--check", "--solutions",
         str(DEMO / "solutions"), "--exercises", str(DEMO / "exercises")],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "up to date" in out.stdout


def test_generated_exercise_drops_solution_widget_state():
    """Widget state saved by an executed solution (tqdm bars, sliders) is not copied to students."""
    import nbformat

    from tutorlib.course.build import generate

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    assert "widgets" not in generate(nb, "../solutions/ch09-demo.ipynb").metadata
