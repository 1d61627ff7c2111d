"""grade on a Dask cluster: real `dask scheduler` and `dask worker` processes on 127.0.0.1.

The same submissions graded here (threads) and on the cluster give the same records; a worker
killed mid-task has its submission graded again elsewhere, reported exactly once; Ctrl-C leaves a
valid partial report, and ``--resume`` grades only what it lacks or what changed since.
"""

import concurrent.futures
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from test_course_grade import DEMO, SUBMISSIONS, processes_in

from tutorlib.course.batch import DaskRunner, LocalRunner, run_batch
from tutorlib.course.cli import main
from tutorlib.course.cmd_grade import Report, resumable
from tutorlib.course.execute import Graded, Settings
from tutorlib.grading.registry import CHECKS_PATH_ENV

if os.environ.get("CI") == "true":
    import distributed  # CI installs the grading extra: these tests must run there, not skip
else:
    distributed = pytest.importorskip("distributed")

MIXED = ["correct", "partial", "infinite_loop", "kernel_crash"]
WHERE_AND_HOW_LONG = ("seconds", "host")   # the only fields allowed to differ between runs


def wait_for(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")


class Cluster:
    """A `dask scheduler` and its `dask worker`s (one process, one thread each), all stopped at
    the end whatever happens."""

    def __init__(self, folder: Path):
        self.folder, self.processes, self.workers, self.client = folder, [], [], None
        self.file = folder / "scheduler.json"
        self.env = dict(os.environ, **{CHECKS_PATH_ENV: str(DEMO), "TMPDIR": str(folder / "tmp")})
        (folder / "tmp").mkdir()

    def start(self, workers: int = 2) -> None:
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", "0")
        self.address = wait_for(self._address, 60, "the scheduler")
        for _ in range(workers):
            self.add_worker()
        self.client = distributed.Client(self.address, timeout="30s")
        self.client.wait_for_workers(workers, timeout=60)

    def _start(self, *args) -> subprocess.Popen:
        log = open(self.folder / f"{args[0]}-{len(self.processes)}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "dask", *args, "--no-dashboard",
             "--scheduler-file", str(self.file)],
            stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    def _address(self) -> str | None:
        try:
            return json.loads(self.file.read_text())["address"]
        except (OSError, ValueError, KeyError):
            return None

    def add_worker(self) -> subprocess.Popen:
        worker = self._start("worker", "--nworkers", "1", "--nthreads", "1", "--no-nanny",
                             "--host", "127.0.0.1")
        self.workers.append(worker)
        return worker

    def worker_running(self, key_prefix: str) -> str | None:
        """The address of the worker running the task whose key starts with ``key_prefix``."""
        for address, keys in self.client.processing().items():
            if any(str(key).startswith(key_prefix) for key in keys):
                return address
        return None

    def stop(self) -> None:
        """Workers first (a worker closing while its scheduler goes hangs for a while)."""
        if self.client is not None:
            self.client.close()
        for group in (self.workers, [p for p in self.processes if p not in self.workers]):
            for process in group:
                if process.poll() is None:
                    process.terminate()
            for process in group:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        started.start()
        yield started
    finally:
        started.stop()


def grade_cli(*args, env=None):
    """``tutorlib-course grade --chapter demo ARGS`` started (not waited for)."""
    command = [sys.executable, "-m", "tutorlib.course", "grade", "--chapter", "demo", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env or dict(os.environ, **{CHECKS_PATH_ENV: str(DEMO)}))


def without_timings(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in WHERE_AND_HOW_LONG}


def test_the_cluster_grades_exactly_as_this_machine(cluster, monkeypatch):
    """One Settings (so one secret seed) for both runs: every record must be equal, field by
    field, apart from where and how long it ran."""
    monkeypatch.setenv(CHECKS_PATH_ENV, str(DEMO))
    settings = Settings(timeout=5, time_limit=25, chapter="demo", seed=secrets.randbits(63),
                        batch=secrets.token_hex(8))
    items = [(str(SUBMISSIONS / f"{n}.ipynb"), SUBMISSIONS / f"{n}.ipynb") for n in MIXED]
    local = {r["submission"]: r for r in run_batch(items, settings, LocalRunner(jobs=2))}
    remote = {r["submission"]: r for r in run_batch(items, settings, DaskRunner(cluster.address))}
    assert sorted(local) == sorted(remote) == sorted(name for name, _ in items)
    scores = {Path(name).stem: r["score"] for name, r in remote.items()}
    assert scores == {"correct": 10, "partial": 4, "infinite_loop": 8, "kernel_crash": 0}
    for name in local:
        assert without_timings(remote[name]) == without_timings(local[name]), name
    assert processes_in(cluster.folder / "tmp") == []


def sleeper(folder: Path, seconds: float) -> Path:
    """The correct submission with a cell that sleeps: a task long enough to kill mid-way."""
    nb = nbformat.read(SUBMISSIONS / "correct.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})"))
    path = folder / "sleeper.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_worker_killed_mid_task_costs_a_retry_not_a_submission(cluster, tmp_path):
    sleepy = sleeper(tmp_path, 6)
    paths = [sleepy, SUBMISSIONS / "correct.ipynb", SUBMISSIONS / "partial.ipynb"]
    report = tmp_path / "report.json"
    grader = grade_cli(*map(str, paths), "--timeout", "15", "--time-limit", "60",
                       "--scheduler", cluster.address, "--json", str(report))
    try:
        key = f"grade-{hashlib.sha256(sleepy.read_bytes()).hexdigest()[:16]}"
        victim = wait_for(lambda: cluster.worker_running(key), 60, "the sleeper to start")
        time.sleep(2)                          # the kernel is running the notebook now
        pid = cluster.client.run(os.getpid, workers=[victim])[victim]
        assert pid in [w.pid for w in cluster.workers]
        os.kill(pid, signal.SIGKILL)           # the machine dies, with its task half done
        cluster.add_worker()                   # and another one joins
        out, err = grader.communicate(timeout=120)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode == 0, err
    graded = json.loads(report.read_text())
    assert [r["submission"] for r in graded] == [str(p) for p in paths]   # each exactly once
    assert [r["score"] for r in graded] == [10, 10, 4]
    assert graded[0]["notes"] == []
    assert processes_in(cluster.folder / "tmp") == []


def test_ctrl_c_on_the_cluster_stops_the_batch_on_the_workers(cluster, tmp_path):
    """Dask cannot stop a running task; the grader kills the task's kernel on its worker, so
    the task returns at once and the worker is free for the next batch."""
    slow = sleeper(tmp_path, 90)
    report = tmp_path / "report.json"
    grader = grade_cli(str(SUBMISSIONS / "correct.ipynb"), str(slow), "--timeout", "120",
                       "--time-limit", "150", "--scheduler", cluster.address,
                       "--json", str(report))
    try:
        key = f"grade-{hashlib.sha256(slow.read_bytes()).hexdigest()[:16]}"
        wait_for(lambda: cluster.worker_running(key), 60, "the sleeper to start")
        wait_for(lambda: report.exists(), 60, "the first record in the report")
        grader.send_signal(signal.SIGINT)
        out, err = grader.communicate(timeout=30)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode == 130, err
    assert [r["submission"] for r in json.loads(report.read_text())] == [
        str(SUBMISSIONS / "correct.ipynb")]
    wait_for(lambda: processes_in(cluster.folder / "tmp") == [], 20, "the sleeper's kernel to die")
    wait_for(lambda: not any(cluster.client.processing().values()), 20, "the workers to be free")


def copies(folder: Path, names: dict[str, str]) -> list[Path]:
    """Submissions ``{new name: fixture}`` copied into ``folder``."""
    paths = []
    for new, fixture in names.items():
        paths.append(folder / f"{new}.ipynb")
        shutil.copy(SUBMISSIONS / f"{fixture}.ipynb", paths[-1])
    return paths


def test_ctrl_c_leaves_a_valid_report_and_resume_grades_the_rest(tmp_path):
    """Local grading shares the batch code with the cluster (run_batch and the report writer):
    interrupt after the first results, then resume with one graded notebook changed."""
    (tmp_path / "tmp").mkdir()
    paths = copies(tmp_path, {"alice": "correct", "bob": "correct", "carol": "infinite_loop",
                              "dave": "partial"})
    report = tmp_path / "report.json"
    env = dict(os.environ, **{CHECKS_PATH_ENV: str(DEMO), "TMPDIR": str(tmp_path / "tmp")})
    args = [*map(str, paths), "--jobs", "2"]
    # carol's endless loop would run 60 s before its cell is interrupted
    grader = grade_cli(*args, "--timeout", "60", "--time-limit", "90", "--json", str(report),
                       env=env)
    try:
        def graded_so_far():
            try:
                return len(json.loads(report.read_text())) >= 2
            except (OSError, ValueError):
                return False
        wait_for(graded_so_far, 90, "two submissions in the report")
        grader.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        out, err = grader.communicate(timeout=60)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode == 130, err
    assert time.monotonic() - interrupted < 15   # carol's kernel was killed, not waited for
    assert "interrupted:" in err and f"--resume {report}" in err
    partial = json.loads(report.read_text())            # a complete, valid JSON file
    names = [r["submission"] for r in partial]
    assert names[:2] == [str(paths[0]), str(paths[1])] and str(paths[2]) not in names
    assert processes_in(tmp_path / "tmp") == [] and list((tmp_path / "tmp").iterdir()) == []

    shutil.copy(SUBMISSIONS / "partial.ipynb", paths[1])   # bob hands in again: graded again
    resumed = grade_cli(*args, "--timeout", "5", "--time-limit", "25", "--resume", str(report),
                        env=env)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    kept = [name for name in names if name != str(paths[1])]   # dave may have made it too
    assert f"resuming {report}: kept {len(kept)}, grading {len(paths) - len(kept)}" in err
    final = json.loads(report.read_text())
    assert [r["submission"] for r in final] == [str(p) for p in paths]
    assert final[0] == partial[0]                           # alice kept as she was
    assert [r["score"] for r in final] == [10, 4, 8, 4]


class LostEverywhere(LocalRunner):
    """A runner whose every task fails, as one that killed every worker it was tried on."""

    def submit(self, name, notebook, settings):
        future = concurrent.futures.Future()
        future.set_exception(RuntimeError("Attempted to run task on 3 workers, all died"))
        return future


def test_a_task_lost_everywhere_is_reported_once_and_graded_again_on_resume(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv(CHECKS_PATH_ENV, str(DEMO))
    (path,) = copies(tmp_path, {"erin": "correct"})
    settings = Settings(chapter="demo", batch=secrets.token_hex(8))
    (record,) = run_batch([(str(path), path)], settings, LostEverywhere())
    note = "grading error: RuntimeError: Attempted to run task on 3 workers, all died"
    assert record["notes"] == [note] and record["score"] == 0
    assert {r["message"] for r in record["results"]} == {note}
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    report = tmp_path / "report.json"
    report.write_text(json.dumps([record]))
    assert resumable(report, [path], "demo") == {}     # not kept: graded again


def test_scheduler_without_dask_installed_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)   # as where the extra is missing
    (path,) = copies(tmp_path, {"frank": "correct"})
    assert main(["grade", str(path), "--chapter", "demo", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "pip install 'tutorlib[grading]'" in capsys.readouterr().err


def test_a_record_reaches_the_report_soon_even_when_no_other_follows(tmp_path):
    """Writes are at most every `every` s; one that comes sooner is written when time is up,
    and ``close`` writes at once and leaves no timer behind."""
    path = tmp_path / "report.json"
    report = Report(["a.ipynb", "b.ipynb"], {}, path, None, every=2.0)
    report.add(Graded("a.ipynb", "demo").to_record())   # too soon after the start: waits
    assert not path.exists()
    wait_for(lambda: path.exists(), 10, "the timer's write")
    assert [r["submission"] for r in json.loads(path.read_text())] == ["a.ipynb"]
    report.add(Graded("b.ipynb", "demo").to_record())   # too soon again: a timer is set
    report.close()
    assert [r["submission"] for r in json.loads(path.read_text())] == ["a.ipynb", "b.ipynb"]
    written = path.stat().st_mtime_ns
    time.sleep(2.5)
    assert path.stat().st_mtime_ns == written   # the timer was cancelled
