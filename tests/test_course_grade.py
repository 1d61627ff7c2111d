"""grade: hand-made submissions (right, partly wrong, endless loop, syntax error, crashing
kernel, deleted check cells, interrupt ignored) are all graded, and the command returns."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutorlib.course.cli import main
from tutorlib.course.execute import grade_notebook
from tutorlib.course.notebooks import chapter_from_name, find_notebooks, notebook_chapter
from tutorlib.grading.registry import CHECKS_PATH_ENV

DEMO = Path(__file__).parent / "fixtures" / "grading_demo"
SUBMISSIONS = DEMO / "submissions"
EXERCISES = ["demo.relu", "demo.mse", "demo.mse_grad", "demo.normalize", "demo.n_params"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One CLI run over every submission: (process, {name: {exercise: result}}, json, csv)."""
    out = tmp_path_factory.mktemp("grade")
    (out / "tmp").mkdir()   # the grader's scratch folders go here: see test_no_kernel_is_left
    env = dict(os.environ, **{CHECKS_PATH_ENV: str(DEMO), "TMPDIR": str(out / "tmp")})
    process = subprocess.run(
        [sys.executable, "-m", "tutorlib.course", "grade", str(SUBMISSIONS), "--chapter", "demo",
         "--timeout", "5",
         "--time-limit", "25", "--jobs", "2", "--json", str(out / "g.json"),
         "--csv", str(out / "g.csv")],
        capture_output=True, text=True, env=env, timeout=240)
    data = json.loads((out / "g.json").read_text())
    by_name = {Path(s["submission"]).stem: s for s in data}
    with open(out / "g.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return process, by_name, rows, out / "tmp"


def results(submission):
    return {r["exercise"]: r for r in submission["results"]}


def test_command_returns_and_prints_score_tables(graded):
    process, by_name = graded[:2]
    assert process.returncode == 0, process.stderr
    assert f"{SUBMISSIONS / 'partial.ipynb'}  (chapter demo): 4/10 points" in process.stdout
    assert "  demo.mse        0/2     failed  mse(pred, target)" in process.stdout
    assert set(by_name) == {"correct", "partial", "infinite_loop", "syntax_error",
                            "kernel_crash", "checks_deleted", "ignores_interrupt"}


@pytest.mark.parametrize("name", ["correct", "checks_deleted"])
def test_full_score(graded, name):
    submission = graded[1][name]
    assert (submission["score"], submission["points"]) == (10, 10)
    assert [r["exercise"] for r in submission["results"]] == EXERCISES
    assert submission["notes"] == []


def test_partial_score_and_feedback(graded):
    submission = graded[1]["partial"]
    r = results(submission)
    assert submission["score"] == 4
    assert [r[e]["status"] for e in EXERCISES] == ["passed", "failed", "failed", "passed",
                                                   "failed"]
    assert r["demo.mse"]["what"] == "mse(pred, target), random input 1 of 5: float64 (6, 3), float64 (6, 3)"
    assert r["demo.mse"]["detail"].startswith("off by ")
    assert r["demo.mse"]["hint"].startswith("Average the squared differences")
    assert "entries differ" in r["demo.mse_grad"]["detail"]
    assert r["demo.n_params"]["message"] == "`n_params` is not defined when the notebook has run"


def test_infinite_loops_time_out_and_the_rest_is_graded(graded):
    submission = graded[1]["infinite_loop"]
    r = results(submission)
    assert submission["score"] == 8
    assert r["demo.normalize"]["message"] == "the check timed out after 5 s and was interrupted"
    assert "cell 3 timed out after 5 s and was interrupted" in submission["notes"]


def test_syntax_error_fails_only_that_exercise(graded):
    submission = graded[1]["syntax_error"]
    r = results(submission)
    assert submission["score"] == 8 and r["demo.relu"]["status"] == "failed"
    assert r["demo.relu"]["message"] == "`relu` is not defined when the notebook has run"
    assert any(n.startswith("cell 2 raised SyntaxError") for n in submission["notes"])


def test_kernel_crash_is_all_fail_with_reason(graded):
    submission = graded[1]["kernel_crash"]
    assert submission["score"] == 0
    assert {r["message"] for r in submission["results"]} == {
        "not graded: the kernel died while running cell 4"}


def test_hard_time_limit_stops_a_kernel_that_ignores_interrupts(graded):
    submission = graded[1]["ignores_interrupt"]
    assert submission["score"] == 0
    assert {r["message"] for r in submission["results"]} == {
        "not graded: the notebook hit the time limit of 25 s"}
    assert submission["notes"][-1].startswith("stopped while running cell")


def test_csv_has_a_row_per_exercise_plus_totals(graded):
    rows = graded[2]
    assert len(rows) == 7 * (len(EXERCISES) + 1)
    totals = {Path(r["submission"]).stem: int(r["score"]) for r in rows
              if r["exercise"] == "TOTAL"}
    assert totals == {"correct": 10, "checks_deleted": 10, "partial": 4, "infinite_loop": 8,
                      "syntax_error": 8, "kernel_crash": 0, "ignores_interrupt": 0}
    assert rows[0].keys() == {"submission", "chapter", "exercise", "title", "points", "score",
                              "result", "feedback"}


def processes_in(folder: Path) -> list[str]:
    """Processes (pid and command) whose working directory is inside ``folder``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            args = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # gone, or not ours to inspect
            continue
        if cwd.startswith(str(folder)):
            found.append(pid + ": " + args.replace(b"\0", b" ").decode())
    return found


def test_no_kernel_is_left_running(graded):
    """The grader returns only once every kernel is gone, and removes the scratch folders."""
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to see processes")
    assert processes_in(graded[3]) == []
    assert list(graded[3].iterdir()) == []


def test_unreadable_notebook_is_all_fail(tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKS_PATH_ENV, str(DEMO))
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json")
    g = grade_notebook(bad, timeout=5, time_limit=10, chapter="demo")
    assert g.score == 0 and len(g.results) == len(EXERCISES)
    assert g.results[0].message.startswith("could not read the notebook")


def test_unknown_chapter_exits_non_zero(tmp_path, capsys):
    nb = tmp_path / "homework.ipynb"
    nb.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    assert main(["grade", str(nb)]) == 1
    assert "cannot tell the chapter" in capsys.readouterr().out


def test_chapter_comes_from_the_file_name(tmp_path):
    import nbformat
    nb = nbformat.v4.new_notebook()
    assert notebook_chapter(nb, "ch07-cnn.ipynb") == "ch07" == chapter_from_name("x/ch07-cnn.ipynb")
    nb.metadata["tutorlib"] = {"chapter": "ch02"}
    assert notebook_chapter(nb, "ch07-cnn.ipynb") == "ch02"
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir(parents=True)
    for name in ["a/x.ipynb", "a/.ipynb_checkpoints/x-checkpoint.ipynb", "b.ipynb"]:
        (tmp_path / name).write_text("{}")
    assert find_notebooks([str(tmp_path / "a"), str(tmp_path / "b.ipynb")]) == [
        tmp_path / "a" / "x.ipynb", tmp_path / "b.ipynb"]
    with pytest.raises(FileNotFoundError):
        find_notebooks([str(tmp_path / "missing")])


def test_process_sandbox_is_marked_unsandboxed(tmp_path):
    """Without bubblewrap the grade is still computed here, but said loudly to be unsandboxed."""
    env = dict(os.environ, **{CHECKS_PATH_ENV: str(DEMO)})
    process = subprocess.run(
        [sys.executable, "-m", "tutorlib.course", "grade", str(SUBMISSIONS / "correct.ipynb"),
         "--chapter", "demo", "--sandbox", "process", "--json", str(tmp_path / "g.json"),
         "--csv", str(tmp_path / "g.csv")], capture_output=True, text=True, env=env, timeout=240)
    assert process.returncode == 0, process.stderr
    assert "UNSANDBOXED" in process.stderr and "[UNSANDBOXED: process]" in process.stdout
    (submission,) = json.loads((tmp_path / "g.json").read_text())
    assert (submission["score"], submission["sandbox"], submission["unsandboxed"]) == (
        10, "process", True)
    with open(tmp_path / "g.csv", newline="") as f:
        total = [row for row in csv.DictReader(f) if row["exercise"] == "TOTAL"]
    assert total[0]["result"] == "unsandboxed"


def test_a_chapter_claimed_in_metadata_is_an_error(tmp_path, monkeypatch):
    import nbformat
    monkeypatch.setenv(CHECKS_PATH_ENV, str(DEMO))
    nb = nbformat.read(SUBMISSIONS / "correct.ipynb", as_version=4)
    nb.metadata["tutorlib"] = {"chapter": "ch00"}
    nbformat.write(nb, tmp_path / "claims.ipynb")
    g = grade_notebook(tmp_path / "claims.ipynb", timeout=20, time_limit=120, chapter="demo")
    assert g.chapter == "demo" and g.score == 10
    assert g.errors == ["the notebook's metadata claims chapter 'ch00' but it is graded as demo"
                        " (file name or --chapter)"]
