"""progress: read which exercises pass from the check results stored in a notebook."""

import shutil
from pathlib import Path

import nbformat
import pytest

from tutorlib.course.cli import main
from tutorlib.grading.registry import CHECKS_PATH_ENV
from tutorlib.grading.result import Result

DEMO = Path(__file__).parent / "fixtures" / "grading_demo"


def stored_output(result):
    """The output Jupyter stores for a cell whose value is ``result``."""
    formatter = pytest.importorskip("IPython.core.formatters").DisplayFormatter()
    data, metadata = formatter.format(result)
    return nbformat.v4.new_output("execute_result", data=data, metadata=metadata,
                                  execution_count=1)


def test_progress_reads_stored_check_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(CHECKS_PATH_ENV, str(DEMO))
    monkeypatch.chdir(tmp_path)
    shutil.copytree(DEMO / "exercises", tmp_path / "exercises")
    path = tmp_path / "exercises" / "demo-basics.ipynb"
    nb = nbformat.read(path, as_version=4)
    checks = {c.source: c for c in nb.cells if c.source.startswith("check(")}
    checks['check("demo.relu", relu)'].outputs = [
        stored_output(Result("demo.relu", "ReLU", 2, "failed"))]
    checks['check("demo.mse", mse)'].outputs = [
        stored_output(Result("demo.mse", "MSE", 2, "failed"))]
    nb.cells.append(nbformat.v4.new_code_cell(
        'check("demo.relu", relu)',
        outputs=[stored_output(Result("demo.relu", "ReLU", 2, "passed"))]))
    nbformat.write(nb, path)

    assert main(["progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("exercises/demo-basics.ipynb (chapter demo): 1/5 exercises passed,"
                        " 2/10 points")
    assert [line.split()[0] for line in lines[1:]] == ["passed", "failed", "not", "not", "not"]
    assert lines[3] == "  not checked yet  demo.mse_grad   Gradient of the MSE"


def test_progress_without_chapter_fails(tmp_path, capsys):
    path = tmp_path / "notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    assert main(["progress", str(path)]) == 1
    assert "cannot show progress" in capsys.readouterr().out
