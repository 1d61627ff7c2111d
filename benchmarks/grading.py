"""Grading: the sandbox's overhead, and a class's throughput here against a Dask cluster.

    python benchmarks/grading.py [overhead] [--submissions 4] [--jobs 1] [--repeat 3]
    python benchmarks/grading.py throughput [--submissions 40]

``overhead`` grades copies of ``solutions/ch01-basics.ipynb`` (a correct submission: every cell runs, every
check passes) with ``tutorlib-course grade``'s own code, once per sandbox mode:

- ``bwrap``: bubblewrap (namespaces, read-only mounts, rlimits, pids cgroup where available);
- ``process``: a process group with the same limits (the fallback when bwrap is missing);
- ``none``: no limits at all, the baseline.

Each mode grades the batch ``--repeat`` times, the modes taking turns (so a change of load hits
them alike); the best run is kept (the machine is shared) and divided by the number of
submissions. Also reports the load average, so a slow run on a
busy machine can be told apart. Prints a table and writes benchmarks/results/grading.json.

``throughput`` grades ``--submissions`` chapter-1 submissions (the solution with 0 to 4 of its
exercises left unsolved, in turn: a class of varied notebooks, outputs included) twice with the
same settings and secret seed: with ``--jobs 2`` threads here, then as one task per submission
on a 2-worker ``distributed.LocalCluster`` (2 worker processes, 1 thread each), taking turns
``--repeat`` times (the cluster's start-up is timed apart). It prints the best
submissions per minute of each, checks that both gave the same records, and measures what
scaling depends on: the scheduler's per-task overhead (2,000 no-op tasks through it, and the
round trip of one task), and the bytes a submission moves (its task's arguments and its
record, pickled as Dask sends them). Writes benchmarks/results/grading_throughput.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from tutorlib.course.batch import DaskRunner, LocalRunner, grade_many, run_batch
from tutorlib.course.execute import Settings
from tutorlib.course.markers import is_solution_only, strip_code
from tutorlib.course.sandbox import bwrap_available

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "ch01-basics.ipynb"
RESULTS = ROOT / "benchmarks" / "results" / "grading.json"
THROUGHPUT = ROOT / "benchmarks" / "results" / "grading_throughput.json"


def time_mode(mode: str, paths: list[Path], jobs: int) -> float:
    """Wall-clock seconds to grade ``paths`` in ``mode`` (every submission must pass)."""
    start = time.perf_counter()
    graded = grade_many(paths, timeout=120, time_limit=600, jobs=jobs, sandbox=mode)
    seconds = time.perf_counter() - start
    wrong = [g.path for g in graded if g.score != g.points or g.notes]
    if wrong:
        sys.exit(f"{mode}: the correct submission did not get full marks: {wrong}")
    return seconds


def overhead(args: argparse.Namespace) -> None:
    """Seconds per submission in each sandbox mode."""
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


def submissions(folder: Path, count: int) -> list[tuple[str, Path]]:
    """``count`` chapter-1 notebooks: student ``i`` leaves the exercises in bit pattern
    ``i % 2**n`` unsolved (their solution regions replaced by the stubs students get)."""
    solution = nbformat.read(SOLUTION, as_version=4)
    solution.cells = [c for c in solution.cells if not is_solution_only(c.source)]
    exercise_cells = [i for i, c in enumerate(solution.cells)
                      if c.cell_type == "code" and "### BEGIN SOLUTION" in c.source]
    items = []
    for student in range(count):
        nb = nbformat.from_dict(json.loads(json.dumps(solution)))
        for bit, index in enumerate(exercise_cells):
            if student >> bit & 1:
                nb.cells[index].source = strip_code(nb.cells[index].source)
        path = folder / f"student{student:03d}" / "ch01-basics.ipynb"
        path.parent.mkdir()
        nbformat.write(nb, path)
        items.append((str(path), path))
    return items


def timed_batch(items, settings: Settings, runner) -> tuple[float, dict[str, dict]]:
    """Seconds to grade ``items`` with ``runner``, and the records."""
    settings = dataclasses.replace(settings, batch=secrets.token_hex(8))   # a batch of its own
    start = time.perf_counter()
    records = {r["submission"]: r for r in run_batch(items, settings, runner)}
    seconds = time.perf_counter() - start
    broken = [n for r in records.values() for n in r["notes"]
              if any(w in n for w in ("kernel died", "grading error", "time limit"))]
    if broken or len(records) != len(items):
        sys.exit(f"a run did not grade every submission cleanly: {broken[:3]}")
    return seconds, records


def noop(x):
    return x


def scheduler_overhead(client, tasks: int = 2000, trips: int = 50) -> dict:
    """Seconds per no-op task when many are in flight, and for one task's round trip."""
    client.gather(client.map(noop, range(100), pure=False))   # warm up
    start = time.perf_counter()
    client.gather(client.map(noop, range(tasks), pure=False))
    per_task = (time.perf_counter() - start) / tasks
    single = []
    for i in range(trips):
        start = time.perf_counter()
        client.submit(noop, i, pure=False).result()
        single.append(time.perf_counter() - start)
    return {"seconds_per_task_batched": per_task, "tasks_per_second": 1 / per_task,
            "round_trip_median_s": statistics.median(single), "tasks": tasks, "trips": trips}


def stamp() -> dict:
    """The time and the load average (1, 5, 15 min): the machine is shared."""
    return {"time": time.strftime("%H:%M:%S"), "loadavg": os.getloadavg()}


def throughput(args: argparse.Namespace) -> None:
    """Submissions per minute: threads here against a 2-worker local Dask cluster."""
    from distributed import Client, LocalCluster

    settings = Settings(timeout=120, time_limit=600, seed=secrets.randbits(63),
                        batch=secrets.token_hex(8))
    runs = {"local --jobs 2": float("inf"), "dask, 2 workers": float("inf")}
    with tempfile.TemporaryDirectory() as folder:
        items = submissions(Path(folder), args.submissions)
        loads = [stamp()]
        start = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            startup = time.perf_counter() - start
            for _ in range(args.repeat):   # taking turns, so a change of load hits both
                seconds, local = timed_batch(items, settings, LocalRunner(jobs=2))
                runs["local --jobs 2"] = min(runs["local --jobs 2"], seconds)
                loads.append(stamp())
                seconds, remote = timed_batch(items, settings,
                                              DaskRunner(cluster.scheduler_address))
                runs["dask, 2 workers"] = min(runs["dask, 2 workers"], seconds)
                loads.append(stamp())
            with Client(cluster.scheduler_address) as client:
                overhead = scheduler_overhead(client)
        same = all({k: v for k, v in local[n].items() if k not in ("seconds", "host")}
                   == {k: v for k, v in remote[n].items() if k not in ("seconds", "host")}
                   for n in local)
        task_bytes = [len(pickle.dumps((name, path.read_bytes(), settings))) for name, path in items]
        notebook_bytes = [path.stat().st_size for _, path in items]
    record_bytes = [len(pickle.dumps(r)) for r in remote.values()]
    json_bytes = [len(json.dumps(r)) for r in remote.values()]
    scores = sorted(r["score"] for r in remote.values())
    per_minute = {name: 60 * args.submissions / s for name, s in runs.items()}
    print(f"{args.submissions} ch01 submissions (scores {scores[0]}..{scores[-1]} of "
          f"{next(iter(remote.values()))['points']}), same records here and on Dask: {same}")
    for name, s in runs.items():
        print(f"{name:<16} {s:7.1f} s  {per_minute[name]:6.1f} submissions/min")
    print(f"cluster start-up {startup:.1f} s (not in the figure above)")
    print(f"scheduler: {overhead['tasks_per_second']:.0f} no-op tasks/s in a batch, "
          f"one task's round trip {1000 * overhead['round_trip_median_s']:.1f} ms (median)")
    print(f"bytes per submission (mean): notebook {statistics.mean(notebook_bytes):.0f}, task "
          f"{statistics.mean(task_bytes):.0f}, record {statistics.mean(record_bytes):.0f} "
          f"pickled ({statistics.mean(json_bytes):.0f} as JSON)")
    print("load:", loads)
    THROUGHPUT.parent.mkdir(exist_ok=True)
    THROUGHPUT.write_text(json.dumps({
        "submissions": args.submissions, "repeat": args.repeat, "seconds": runs, "submissions_per_minute": per_minute,
        "same_records": same, "cluster_startup_s": startup, "scheduler": overhead,
        "bytes_per_submission": {"notebook": statistics.mean(notebook_bytes),
                                 "task_pickled": statistics.mean(task_bytes),
                                 "record_pickled": statistics.mean(record_bytes),
                                 "record_json": statistics.mean(json_bytes)},
        "load": loads, "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M")},
        indent=1) + "\n")
    if not same:
        sys.exit("the cluster's records differ from this machine's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="?", choices=["overhead", "throughput"],
                        default="overhead")
    parser.add_argument("--submissions", type=int)
    parser.add_argument("--jobs", type=int, default=1, help="overhead: notebooks at once")
    parser.add_argument("--repeat", type=int, help="runs per mode, the best kept "
                        "(default: 3 for overhead, 2 for throughput)")
    args = parser.parse_args()
    if args.what == "throughput":
        args.submissions, args.repeat = args.submissions or 40, args.repeat or 2
        throughput(args)
    else:
        args.submissions, args.repeat = args.submissions or 4, args.repeat or 3
        overhead(args)


if __name__ == "__main__":
    main()
