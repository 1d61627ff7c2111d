"""grade under attack: every hostile submission in tests/fixtures/hostile/ scores 0 and harms
nothing, in one batch with a correct submission that keeps full marks.

One command grades the batch in the bubblewrap sandbox (this module is skipped where bwrap
cannot run), then the tests look at what it reported and what it left behind: classmates'
files, the package, the datasets, the reports 10 s after the grader exited, processes, the
grader's environment and a server on 127.0.0.1.
"""

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import tutorlib
from tutorlib.course.sandbox import bwrap_available, data_home, processes_capped

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
SOLUTION = Path(__file__).parents[1] / "solutions" / "ch01-basics.ipynb"
ATTACKS = sorted(p.stem for p in HOSTILE.glob("ch01-*.ipynb"))
CANARY = "TUTORLIB_TEST_CANARY"
PORT = 47613   # the network attack asks a server here for the answers

pytestmark = pytest.mark.skipif(not bwrap_available(), reason="needs bubblewrap (bwrap)")


def fingerprint(*folders: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folders`` (the sandbox must change none of them)."""
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012  (shared by the handler's instances on purpose)

    def do_GET(self):
        Recorder.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"the answers")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade the hostile submissions and a correct one in one batch; wait until 10 s after the
    grader has exited. Returns what the tests look at."""
    root = tmp_path_factory.mktemp("attacks")
    submissions, out, scratch = root / "submissions", root / "out", root / "tmp"
    for folder in (submissions, out, scratch):
        folder.mkdir()
    for name in ATTACKS:
        shutil.copy(HOSTILE / f"{name}.ipynb", submissions)
    shutil.copy(SOLUTION, submissions / "ch01-correct.ipynb")
    package = Path(tutorlib.__file__).parent
    before = fingerprint(submissions, package, data_home())
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Recorder)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    except OSError:  # the port is taken: the network test skips
        server = None
    env = dict(os.environ, **{CANARY: "grader-secret-4b1d", "TMPDIR": str(scratch)})
    command = [sys.executable, "-m", "tutorlib.course", "grade", str(submissions), "--jobs", "2",
               "--timeout", "15", "--time-limit", "120", "--memory-limit", "2", "--sandbox",
               "bwrap", "--json", str(out / "report.json"), "--csv", str(out / "report.csv")]
    process = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    exited = time.monotonic()
    reports = {p.name: p.read_bytes() for p in out.iterdir()}
    time.sleep(max(0.0, exited + 10 - time.monotonic()))
    if server is not None:
        server.shutdown()
        server.server_close()
    data = json.loads(reports["report.json"])
    return {"process": process, "by_name": {Path(s["submission"]).stem: s for s in data},
            "reports": reports, "out": out, "scratch": scratch, "before": before,
            "after": fingerprint(submissions, package, data_home()),
            "network": None if server is None else list(Recorder.requests)}


def test_the_grader_survives_and_reports_every_submission(batch):
    assert batch["process"].returncode == 0, batch["process"].stderr
    assert set(batch["by_name"]) == {*ATTACKS, "ch01-correct"}
    assert len(ATTACKS) >= 12


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_scores_zero(batch, attack):
    submission = batch["by_name"][attack]
    assert submission["score"] == 0, submission["results"]
    assert submission["points"] == batch["by_name"]["ch01-correct"]["points"]
    assert all(r["points"] <= 3 for r in submission["results"])   # points come from the checks
    assert submission["sandbox"] == "bwrap" and submission["unsandboxed"] is False


def test_correct_submission_keeps_full_marks(batch):
    correct = batch["by_name"]["ch01-correct"]
    assert correct["score"] == correct["points"] > 0
    assert correct["notes"] == [] and correct["errors"] == []


def test_no_file_of_the_batch_the_package_or_the_datasets_changed(batch):
    changed = {p for p in batch["before"].keys() | batch["after"].keys()
               if batch["before"].get(p) != batch["after"].get(p)}
    assert changed == set()


def test_reports_are_unchanged_10_s_after_the_grader_exited(batch):
    assert {p.name: p.read_bytes() for p in batch["out"].iterdir()} == batch["reports"]


def test_no_process_or_scratch_folder_is_left(batch):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        assert not cwd.startswith(str(batch["scratch"])), pid
    assert list(batch["scratch"].iterdir()) == []


def test_the_grader_environment_is_not_visible(batch):
    text = batch["reports"]["report.json"].decode() + batch["process"].stdout
    assert "grader-secret-4b1d" not in text and CANARY not in text
    assert "ENVIRONMENT" in batch["by_name"]["ch01-environment"]["output"]   # it did look


def test_the_network_is_unreachable(batch):
    if batch["network"] is None:
        pytest.skip(f"port {PORT} was taken")
    assert batch["network"] == []
    assert "unreachable" in batch["by_name"]["ch01-network"]["output"]


def test_a_chapter_claimed_in_the_metadata_is_an_error(batch):
    submission = batch["by_name"]["ch01-claim-chapter"]
    assert submission["chapter"] == "ch01"
    assert "claims chapter 'ch00'" in submission["errors"][0]


def test_memory_and_processes_are_capped(batch):
    hog = batch["by_name"]["ch01-memory-hog"]
    assert "MemoryError after" in hog["output"]
    assert "MemoryError" in hog["results"][0]["message"]
    if processes_capped():   # root without a pids cgroup: only the time limits stop it
        assert "fork refused after" in batch["by_name"]["ch01-fork-bomb"]["output"]


def test_output_is_capped_at_1_mib(batch):
    flood = batch["by_name"]["ch01-output-flood"]["output"]
    assert 2**20 <= len(flood.encode()) < 2**20 + 200
    assert flood.rstrip().endswith("bytes of output dropped]")


def test_objects_stay_in_the_kernel_and_large_answers_are_refused(batch):
    results = {r["exercise"]: r for r in batch["by_name"]["ch01-lying-objects"]["results"]}
    assert "too large to send" in results["ch01.square_loss_grad"]["message"]
    assert "nested more than" in results["ch01.pairwise_sq_dists"]["message"]
