"""release: the student bundle has no solutions and no reference code, and its recorded checks
still pass the solution, fail wrong answers with feedback, and see stubs as not implemented."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tutorlib.course.sandbox import bwrap_available

ROOT = Path(__file__).parents[1]
SOLUTION = ROOT / "solutions" / "ch01-basics.ipynb"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A bundle recorded from the chapter 1 solution only (the command is the same for all)."""
    root = tmp_path_factory.mktemp("release")
    (root / "solutions").mkdir()
    shutil.copy(SOLUTION, root / "solutions")
    dest = root / "bundle"
    process = subprocess.run(
        [sys.executable, "-m", "tutorlib.course", "release", str(dest), "--solutions",
         str(root / "solutions"), "--sandbox", "bwrap" if bwrap_available() else "process"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert process.returncode == 0, process.stderr
    return dest


def in_bundle(bundle: Path, code: str) -> str:
    """Run ``code`` with the bundle's tutorlib (not the repository's) and return its output."""
    env = dict(os.environ, PYTHONPATH=str(bundle), MPLBACKEND="Agg")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=bundle, env=env, timeout=300)
    assert process.returncode == 0, process.stderr
    return process.stdout


def test_no_solutions_no_checks_no_references(bundle):
    assert not (bundle / "solutions").exists()
    assert {"notebooks", "exercises", "tutorlib", "README.md"} <= {p.name for p in bundle.iterdir()}
    assert list((bundle / "tutorlib" / "grading").glob("ch[0-9]*.py")) == []
    for path in (bundle / "tutorlib").rglob("*.py"):
        assert "reference_square_loss" not in path.read_text(), path
    record = json.loads((bundle / "tutorlib/grading/recorded/ch01.json").read_text())
    assert [e["id"] for e in record["exercises"]] == [
        "ch01.square_loss", "ch01.square_loss_grad", "ch01.pairwise_sq_dists",
        "ch01.largest_stable_lr"]


def test_recorded_checks_judge_answers(bundle):
    code = f"""
import json, numpy as np, tutorlib
from tutorlib.grading import check
assert tutorlib.__file__.startswith({str(bundle)!r}), tutorlib.__file__
namespace = {{}}
for cell in json.load(open({str(SOLUTION)!r}))["cells"]:
    source = "".join(cell["source"])
    if cell["cell_type"] == "code" and "check(" not in source:
        exec(source, namespace)
for name in ["square_loss", "square_loss_grad", "pairwise_sq_dists", "largest_stable_lr"]:
    print("@" + check("ch01." + name, namespace[name]).status)
print("@" + repr(check("ch01.square_loss", lambda p, t: ((p - t) ** 2).sum())).replace("\\n", "\\n@"))
def stub(p, t):
    raise NotImplementedError()
print("@" + check("ch01.square_loss", stub).status)
"""
    output = in_bundle(bundle, code)   # the solution's cells print too: ours start with @
    lines = [line[1:] for line in output.splitlines() if line.startswith("@")]
    assert lines[:4] == ["passed"] * 4
    assert lines[4] == "[FAIL] ch01.square_loss - The square loss: failed, 0/2 points"
    assert any("as the reference answers it (recorded input 1 of" in line for line in lines)
    assert any(line.startswith("  hint:") for line in lines)
    assert lines[-1] == "not implemented"
