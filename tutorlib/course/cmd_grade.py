"""``tutorlib-course grade NB...``: run submissions in a sandbox, judge them here, report scores."""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
import threading
import time
from pathlib import Path

from tqdm import tqdm

from tutorlib.course.batch import DaskRunner, LocalRunner, run_batch
from tutorlib.course.execute import Graded, Settings
from tutorlib.course.notebooks import chapter_from_name, find_notebooks
from tutorlib.course.report import summary, table, write_csv, write_json
from tutorlib.course.sandbox import MODES, Limits, choose_mode


def add_execution_options(parser: argparse.ArgumentParser, time_limit: float) -> None:
    """``--timeout``, ``--time-limit`` and ``--jobs`` (shared with ``validate``)."""
    parser.add_argument("notebooks", nargs="+", metavar="NB", help="notebooks or directories")
    parser.add_argument("--timeout", type=float, default=120, metavar="S",
                        help="per-cell timeout in seconds (default: %(default)s)")
    parser.add_argument("--time-limit", type=float, default=time_limit, metavar="S",
                        help="hard wall-clock limit per notebook (default: %(default)s)")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                        help="notebooks run in parallel, each in its own kernel")
    parser.add_argument("--sandbox", choices=MODES, default=None,
                        help="bwrap (default when it works here), process (resource limits "
                        "only: unsandboxed) or none")
    parser.add_argument("--memory-limit", type=float, default=4, metavar="GIB",
                        help="address space of each kernel in GiB (default: %(default)s)")


def limits(args: argparse.Namespace) -> Limits:
    """The kernel's resource limits from the command line."""
    return Limits(memory=int(args.memory_limit * 2**30), cpu=int(args.time_limit) + 60)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``grade`` options."""
    add_execution_options(parser, time_limit=1200)
    parser.add_argument("--chapter", help="chapter id for every notebook (default: from the "
                        "chNN- file name; a different chapter in the metadata is an error)")
    parser.add_argument("--json", type=Path, metavar="F", help="write all results as JSON")
    parser.add_argument("--csv", type=Path, metavar="F",
                        help="write one row per submission and exercise, plus totals")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on a Dask cluster, one task per submission "
                        "(tcp://HOST:8786; needs tutorlib[grading]); --jobs is then unused")
    parser.add_argument("--resume", type=Path, metavar="REPORT",
                        help="keep the submissions of this JSON report whose notebook is "
                        "unchanged (same sha256) and grade the rest (default --json: REPORT)")


def run(args: argparse.Namespace) -> int:
    """Grade; 0 if every notebook could be graded (whatever its score), 1 otherwise (unknown
    chapter, or the grader itself failed, e.g. ``--sandbox bwrap`` where bwrap cannot run),
    130 when interrupted (Ctrl-C: the reports hold what was graded until then)."""
    try:
        paths = list(dict.fromkeys(find_notebooks(args.notebooks)))
        kept = resumable(args.resume, paths, args.chapter) if args.resume else {}
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.resume and not args.json:
        args.json = args.resume
    # On a cluster each worker picks its sandbox (bwrap where it works there); the report says.
    sandbox = args.sandbox if args.scheduler else choose_mode(args.sandbox)
    settings = Settings(timeout=args.timeout, time_limit=args.time_limit, chapter=args.chapter,
                        sandbox=sandbox, limits=limits(args), seed=secrets.randbits(63),
                        batch=secrets.token_hex(8))
    report = Report([str(p) for p in paths], kept, args.json, args.csv)
    todo = [(str(p), p) for p in paths if str(p) not in kept]
    if kept:
        print(f"resuming {args.resume}: kept {len(kept)}, grading {len(todo)} (new or changed)",
              file=sys.stderr)
    interrupted = False
    try:
        runner = DaskRunner(args.scheduler) if args.scheduler else LocalRunner(args.jobs)
    except (ImportError, OSError, ValueError) as error:   # no Dask; no scheduler there
        print(f"error: {error}", file=sys.stderr)
        return 2
    records = run_batch(todo, settings, runner)
    try:
        with tqdm(total=len(todo), unit="submission", file=sys.stderr) as bar:
            for record in records:
                report.add(record)
                bar.update()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        records.close()   # cancels what is left and kills this batch's kernels
        report.close()
    graded = report.graded()
    # Every kernel of every graded submission is gone: nothing of theirs can change the reports.
    for g in graded:
        print(table(g), end="\n\n")
    if len(graded) > 1:
        print(summary(graded))
    unsandboxed = sorted({g.sandbox for g in graded if g.sandbox != "bwrap"})
    if unsandboxed:
        print(f"WARNING: graded UNSANDBOXED (--sandbox {'/'.join(unsandboxed)}); the report "
              "says so.", file=sys.stderr)
    if interrupted:
        left = len(paths) - len(graded)
        print(f"interrupted: {len(graded)} of {len(paths)} submissions graded, {left} not"
              + (f"; grade them with --resume {args.json}" if args.json else ""),
              file=sys.stderr)
        return 130
    broken = any(note.startswith("grading error") for g in graded for note in g.notes)
    return 0 if all(g.results for g in graded) and graded and not broken else 1


def resumable(report: Path, paths: list[Path], chapter: str | None) -> dict[str, dict]:
    """The records of ``report`` (a ``--json`` report) to keep: same submission, same chapter,
    same notebook bytes (sha256), graded without a grading error. A missing report keeps none
    (the first run of a batch started with ``--resume``)."""
    if not report.exists():
        return {}
    try:
        records = json.loads(report.read_text(encoding="utf-8"))
        by_name = {r["submission"]: r for r in records}
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"--resume {report}: not a JSON report of tutorlib-course grade "
                         f"({error})") from None
    kept = {}
    for path in paths:
        record = by_name.get(str(path))
        if (record is None or record.get("chapter") != (chapter or chapter_from_name(path))
                or any(n.startswith("grading error") for n in record.get("notes", []))):
            continue
        if record.get("sha256") == hashlib.sha256(path.read_bytes()).hexdigest():
            kept[str(path)] = record
    return kept


class Report:
    """The reports of a batch, rewritten (atomically) as records arrive: at most every
    ``every`` seconds while grading (a record that comes sooner is written by a timer when the
    time is up), and once more at the end or on Ctrl-C (``close``). So a report is always a
    valid file holding the submissions graded so far, in the order of the command line."""

    def __init__(self, order: list[str], kept: dict[str, dict], json_path: Path | None,
                 csv_path: Path | None, every: float = 2.0):
        self.order, self.records = order, dict(kept)
        self.json_path, self.csv_path, self.every = json_path, csv_path, every
        self.written = time.monotonic()
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None
        self.closed = False

    def add(self, record: dict) -> None:
        with self.lock:
            self.records[record["submission"]] = record
            due = self.written + self.every - time.monotonic()
            if due <= 0:
                self._write()
            elif self.timer is None:
                self.timer = threading.Timer(due, self._on_time)
                self.timer.daemon = True
                self.timer.start()

    def graded(self) -> list[Graded]:
        return [Graded.from_record(self.records[n]) for n in self.order if n in self.records]

    def close(self) -> None:
        """The last write; no timer writes after it."""
        with self.lock:
            self.closed = True
            if self.timer is not None:
                self.timer.cancel()
            self._write()

    def _on_time(self) -> None:
        with self.lock:
            self.timer = None
            if not self.closed:
                self._write()

    def _write(self) -> None:
        graded = self.graded()
        if self.json_path:
            write_json(self.json_path, graded)
        if self.csv_path:
            write_csv(self.csv_path, graded)
        self.written = time.monotonic()
