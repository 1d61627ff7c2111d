"""Grading overhead: seconds per chapter-1 submission with and without the sandbox.

    python benchmarks/grading.py [--submissions 4] [--jobs 1] [--repeat 3]

Grades copies of ``solutions/ch01-basics.ipynb`` (a correct submission: every cell runs, every
check passes) with ``tutorlib-course grade``'s own code, once per sandbox mode:

- ``bwrap``: bubblewrap (namespaces, read-only mounts, rlimits, pids cgroup where available);
- ``process``: a process group with the same limits (the fallback when bwrap is missing);
- ``none``: no limits at all, the baseline.

Each mode grades the batch ``--repeat`` times, the modes taking turns (so a change of load hits
them alike); the best run is kept (the machine is shared) and divided by the number of
submissions. Also reports the load average, so a slow run on a
busy machine can be told apart. Prints a table and writes benchmarks/results/grading.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tutorlib.course.batch import grade_many
from tutorlib.course.sandbox import bwrap_available

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "ch01-basics.ipynb"
RESULTS = ROOT / "benchmarks" / "results" / "grading.json"


def time_mode(mode: str, paths: list[Path], jobs: int) -> float:
    """Wall-clock seconds to grade ``paths`` in ``mode`` (every submission must pass)."""
    start = time.perf_counter()
    graded = grade_many(paths, timeout=120, time_limit=600, jobs=jobs, sandbox=mode)
    seconds = time.perf_counter() - start
    wrong = [g.path for g in graded if g.score != g.points or g.notes]
    if wrong:
        sys.exit(f"{mode}: the correct submission did not get full marks: {wrong}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    modes = ["bwrap", "process", "none"] if bwrap_available() else ["process", "none"]
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(args.submissions):
            path = Path(folder) / f"student{i}" / "ch01-basics.ipynb"
            path.parent.mkdir()
            shutil.copy(SOLUTION, path)
            paths.append(path)
        load = os.getloadavg()[0]
        best = dict.fromkeys(modes, float("inf"))
        for _ in range(args.repeat):
            for mode in modes:
                best[mode] = min(best[mode], time_mode(mode, paths, args.jobs))
        seconds = {mode: value / len(paths) for mode, value in best.items()}
    print(f"ch01 submissions: {args.submissions}, jobs {args.jobs}, best of {args.repeat}, "
          f"load {load:.1f}")
    print(f"{'sandbox':<10}{'s/submission':>14}{'vs none':>10}")
    for mode, value in seconds.items():
        print(f"{mode:<10}{value:>14.2f}{value / seconds['none']:>9.2f}x")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "seconds_per_submission": seconds, "submissions": args.submissions, "jobs": args.jobs,
        "repeat": args.repeat, "load_before": load, "machine": platform.processor() or
        platform.machine(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M")},
        indent=1) + "\n")


if __name__ == "__main__":
    main()
