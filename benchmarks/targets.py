"""The chapters' targets for several seeds, measured by running the lesson notebooks themselves.

Every run executes a whole notebook of `notebooks/` top to bottom with nbclient (a fresh kernel,
as `jupyter nbconvert --execute` does), with the seed in the environment variable `TUTORLIB_SEED`,
which the notebook reads in its first code cell (default: the seed of the stored outputs). The
recipe is the notebook's own code, so this table cannot drift from the lesson. After the last
cell, one extra cell reads the figures the lesson's claims are about.

    .venv/bin/python benchmarks/targets.py                       # ch00, ch02, ch03 x seeds 0-4
    .venv/bin/python benchmarks/targets.py --chapters ch02 --seeds 0,1

`wall s` is the notebook's execution time, kernel start included; `kernel CPU s` the CPU time
(user + system, all threads) of the kernel process that ran it, which another job on a shared
machine does not inflate; `load` the 1-minute load average after the run (the load before the
first run is printed first). A run whose notebook raises (for instance
one of its `assert` cells) is reported as FAILED with the error.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

# chapter -> (notebook, {column: expression evaluated in the kernel after the last cell}, target)
CHAPTERS = {
    "ch00": ("ch00-quick-start.ipynb",
             {"test acc": "test_acc", "val acc": "val_acc"},
             "test acc >= 99.0% for every seed"),
    "ch02": ("ch02-linear-regression.ipynb",
             {"test MAE": "test_mae", "lstsq MAE": "lstsq_test",
              "ratio": "test_mae / lstsq_test"},
             "test MAE <= 1.02 x least squares for every seed"),
    "ch03": ("ch03-linear-classification.ipynb",
             {"test acc": "test_acc", "val acc": "best_val_acc", "lr": "best_lr",
              "epochs": "best_epochs"},
             "mean test acc over the seeds >= 92.0%"),
}


def run_notebook(path: Path, seed: int, expressions: dict) -> tuple[dict, float]:
    """Execute ``path`` with TUTORLIB_SEED=seed; return the evaluated expressions and the wall time."""
    nb = nbformat.read(path, as_version=4)
    probe = ("import json as _json, resource as _resource\n"
             "_usage = _resource.getrusage(_resource.RUSAGE_SELF)\n"
             "print(_json.dumps({%s, 'cpu s': _usage.ru_utime + _usage.ru_stime}))" % ", ".join(
                 f"{name!r}: float({expr})" for name, expr in expressions.items()))
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    os.environ["TUTORLIB_SEED"] = str(seed)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        os.environ.pop("TUTORLIB_SEED", None)
    seconds = time.perf_counter() - start
    return json.loads(nb.cells[-1].outputs[0]["text"]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", default=",".join(CHAPTERS))
    parser.add_argument("--seeds", default="0,1,2,3,4")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')} | {platform.node()} | {os.cpu_count()} CPUs | "
          f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for chapter in args.chapters.split(","):
        notebook, expressions, target = CHAPTERS[chapter]
        print(f"\n{chapter} ({notebook}): target {target}")
        print(f"| seed | {' | '.join(expressions)} | kernel CPU s | wall s | load |")
        print("|---:|" + "---:|" * (len(expressions) + 3))
        results = []
        for seed in seeds:
            try:
                figures, seconds = run_notebook(NOTEBOOKS / notebook, seed, expressions)
            except CellExecutionError as error:
                last = str(error).strip().splitlines()[-1]
                print(f"| {seed} | FAILED: {last} |", flush=True)
                continue
            results.append(figures)
            cpu = figures.pop("cpu s")
            cells = [f"{v:.4f}" if abs(v) < 10 and v != int(v) else f"{v:g}" for v in figures.values()]
            cells.append(f"{cpu:.0f}")
            print(f"| {seed} | {' | '.join(cells)} | {seconds:.0f} | {os.getloadavg()[0]:.1f} |",
                  flush=True)
        if results:
            first = next(iter(expressions))
            values = [r[first] for r in results]
            print(f"{first}: min {min(values):.4f}  mean {sum(values) / len(values):.4f}  "
                  f"max {max(values):.4f}  ({len(results)} of {len(seeds)} runs completed)")


if __name__ == "__main__":
    main()
