"""Accuracy targets of chapters 4-5, met by the recipe for every seed: runs each lesson notebook.

Each notebook reads its seed from the environment variable ``TUTORLIB_SEED`` (default: its own
seed). This script executes the notebook top to bottom once per seed with nbclient (so every assert
in it runs too), reads ``test_acc`` from the kernel and prints a table of chapter x seed with the
test accuracy and the notebook's wall time, then the mean per chapter against its target:

    TUTORLIB_DATA=$PWD/data .venv/bin/python benchmarks/targets_part2.py              # ch04, ch05
    TUTORLIB_DATA=$PWD/data .venv/bin/python benchmarks/targets_part2.py --chapters ch05 --seeds 0

Exit status 1 if a notebook fails (an assert in it) or a target is missed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]

# chapter: (lesson notebook, mean test accuracy over the seeds, floor for every seed)
TARGETS = {
    "ch04": ("notebooks/ch04-neural-networks.ipynb", 0.88, 0.875),
    "ch05": ("notebooks/ch05-convolutional-networks.ipynb", 0.62, 0.60),
}
MARKER = "TARGETS_PART2_JSON "


def run_notebook(path: Path, seed: int, timeout: int) -> tuple[float, float]:
    """Execute ``path`` with TUTORLIB_SEED=seed; return (test_acc, wall seconds)."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import json as _json\nprint({MARKER!r} + _json.dumps({{'test_acc': float(test_acc)}}))"))
    os.environ["TUTORLIB_SEED"] = str(seed)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        os.environ.pop("TUTORLIB_SEED", None)
    seconds = time.perf_counter() - start
    for output in nb.cells[-1].outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER):])["test_acc"], seconds
    raise RuntimeError(f"{path.name} did not print its test accuracy")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f}, {os.cpu_count()} CPUs")
    print(f"{'chapter':8s} {'seed':>4s} {'test acc':>9s} {'wall s':>7s}")
    ok = True
    for chapter in args.chapters:
        notebook, mean_target, floor = TARGETS[chapter]
        accs = []
        for seed in args.seeds:
            try:
                acc, seconds = run_notebook(ROOT / notebook, seed, args.timeout)
            except Exception as exc:  # noqa: BLE001 (an assert in the notebook, a timeout: report, go on)
                lines = [ln for ln in str(exc).splitlines() if ln.startswith("assert")]
                print(f"{chapter:8s} {seed:4d}   FAILED: {type(exc).__name__} in the cell with "
                      f"{lines[:3] if lines else str(exc).strip().splitlines()[-1][:200]}")
                ok = False
                continue
            accs.append(acc)
            print(f"{chapter:8s} {seed:4d} {acc:9.2%} {seconds:7.0f}", flush=True)
        if accs:
            mean = sum(accs) / len(accs)
            met = mean >= mean_target and min(accs) >= floor and len(accs) == len(args.seeds)
            ok &= met
            print(f"{chapter:8s} mean {mean:9.2%}   min {min(accs):.2%}   target: mean >= "
                  f"{mean_target:.1%}, every seed >= {floor:.1%}: {'met' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
