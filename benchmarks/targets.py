"""The chapters' targets for several seeds, measured by running the lesson notebooks themselves.

Every run executes a whole notebook of `notebooks/` top to bottom with nbclient (a fresh kernel,
as `jupyter nbconvert --execute` does), with the seed in the environment variable `TUTORLIB_SEED`,
which the notebook reads in its first code cell (default: the seed of the stored outputs). The
recipe is the notebook's own code, so this table cannot drift from the lesson. After the last
cell, one extra cell reads the figures the lesson's claims are about.

    .venv/bin/python benchmarks/targets.py                     # ch00-ch03 x 5 seeds, ch04-ch07 x 3
    .venv/bin/python benchmarks/targets.py --chapters ch05 --seeds 1,2

`wall s` is the notebook's execution time, kernel start included; `kernel CPU s` the CPU time
(user + system, all threads) of the kernel process that ran it, which another job on a shared
machine does not inflate; `load` the 1-minute load average after the run (the load before the
first run is printed first). A run whose notebook raises (for instance
one of its `assert` cells) is reported as FAILED with the error; the exit status is 1 when a
chapter misses its target.
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

# chapter -> (notebook, {column: expression evaluated in the kernel after the last cell},
#             target, met(values of the first column over the seeds), default number of seeds)
CHAPTERS = {
    "ch00": ("ch00-quick-start.ipynb",
             {"test acc": "test_acc", "val acc": "val_acc"},
             "test acc >= 99.0% for every seed", lambda v: min(v) >= 0.990, 5),
    "ch02": ("ch02-linear-regression.ipynb",
             {"ratio": "test_mae / lstsq_test", "test MAE": "test_mae", "lstsq MAE": "lstsq_test"},
             "test MAE <= 1.02 x least squares for every seed", lambda v: max(v) <= 1.02, 5),
    "ch03": ("ch03-linear-classification.ipynb",
             {"test acc": "test_acc", "val acc": "best_val_acc", "lr": "best_lr",
              "epochs": "best_epochs"},
             "mean test acc over the seeds >= 92.0%", lambda v: sum(v) / len(v) >= 0.920, 5),
    "ch04": ("ch04-neural-networks.ipynb", {"test acc": "test_acc"},
             "mean test acc >= 88.0%, every seed >= 87.5%",
             lambda v: sum(v) / len(v) >= 0.880 and min(v) >= 0.875, 3),
    "ch05": ("ch05-convolutional-networks.ipynb", {"test acc": "test_acc"},
             "mean test acc >= 62.0%", lambda v: sum(v) / len(v) >= 0.620, 3),
    "ch07": ("ch07-deploying-to-an-accelerator.ipynb",
             {"test acc": "adaptive_test", "val acc": "adaptive_val",
              "int8-float": "acc['int8'] - acc['float32']",
              "int16-float": "acc['int16'] - acc['float32']",
              "resnet int8-float": "resnet_int8_acc - resnet_float_acc"},
             "adaptive-training test acc >= 97.5% for every seed", lambda v: min(v) >= 0.975, 3),
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", default=",".join(CHAPTERS))
    parser.add_argument("--seeds", help="comma-separated (default: 0..n-1, n per chapter: 5, or 3 "
                        "for chapters 4-7)")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')} | {platform.node()} | {os.cpu_count()} CPUs | "
          f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    all_met = True
    for chapter in args.chapters.split(","):
        notebook, expressions, target, met, n_seeds = CHAPTERS[chapter]
        seeds = ([int(s) for s in args.seeds.split(",")] if args.seeds else range(n_seeds))
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
        first = next(iter(expressions))
        values = [r[first] for r in results]
        ok = len(results) == len(seeds) and met(values)
        all_met &= ok
        if values:
            print(f"{first}: min {min(values):.4f}  mean {sum(values) / len(values):.4f}  "
                  f"max {max(values):.4f}  ({len(results)} of {len(seeds)} runs completed)")
        print(f"{chapter}: target {'met' if ok else 'MISSED'}")
    return 0 if all_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
