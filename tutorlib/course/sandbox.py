"""Start a student's kernel (``tutorlib.course.worker``) in a sandbox, talk to it, and kill it.

Three modes (``tutorlib-course grade --sandbox``):

* ``bwrap`` (bubblewrap, unprivileged user namespaces): a read-only view of the system, the Python
  installation and the tutorlib package; the submission's scratch folder as its home and working
  directory; no network, its own PID namespace (every process it starts dies with it), nothing
  else of the course (no ``solutions/``, no other submission, no checks, no report).
* ``process``: a new process group with the same resource limits, but the whole file system and
  the network reachable. Used when bubblewrap is missing; the report says ``unsandboxed``.
* ``none``: the same as ``process`` without resource limits (debugging only).

In every mode the environment is scrubbed (only ``PATH``, ``HOME``, locale, thread counts and
``TUTORLIB_DATA`` pass), the limits are rlimits (address space, CPU seconds, processes, file
size), and the kernel's output is read continuously but only ``Limits.output`` bytes are kept.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tutorlib.grading import wire

MODES = ("bwrap", "process", "none")
HOME = "/home/student"
_PASSED_ENV = ("LANG", "LC_ALL", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMBA_NUM_THREADS", "TUTORLIB_NUM_THREADS", "TUTORLIB_DATA")
RUN_MARK = "TUTORLIB_SANDBOX_RUN"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's kernel."""

    memory: int = 4 * 2**30      # bytes of address space
    cpu: int = 1800              # CPU seconds
    processes: int = 256         # processes beyond those the user already runs
    file_size: int = 256 * 2**20  # bytes per file written
    output: int = 2**20          # bytes of stdout + stderr kept


class KernelGone(RuntimeError):
    """The kernel died, stopped answering in time, or broke the protocol."""


def bwrap_available() -> bool:
    """True if ``bwrap`` exists and can create the namespaces it needs here."""
    if shutil.which("bwrap") is None:
        return False
    probe = subprocess.run(["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                            "true"], capture_output=True)
    return probe.returncode == 0


def choose_mode(requested: str | None) -> str:
    """``requested``, or ``bwrap`` when it works here, else ``process`` (with a loud warning)."""
    if requested:
        return requested
    if bwrap_available():
        return "bwrap"
    print("WARNING: bubblewrap (bwrap) is missing or cannot create namespaces here, so "
          "submissions run UNSANDBOXED: in a process group with resource limits, but able to read "
          "solutions/, other submissions and the network. Install the `bubblewrap` package "
          "(Debian/Ubuntu) and grade again for a result you can trust.", file=sys.stderr)
    return "process"


_RUNNING: set[Kernel] = set()   # the kernels of this process, for cancel_batch()
_CANCELLED: set[str] = set()     # tags of cancelled batches
_RUNNING_LOCK = threading.Lock()


def cancel_batch(tag: str) -> int:
    """Kill every running kernel of this process started with ``tag`` (an interrupted batch:
    the threads grading them then see a dead kernel), and every one started with it from now
    on; returns how many were running."""
    with _RUNNING_LOCK:
        _CANCELLED.add(tag)
        found = [k for k in _RUNNING if k.tag == tag]
    for kernel in found:
        kernel.kill()
    return len(found)


@functools.cache
def default_mode() -> str:
    """``choose_mode(None)`` once per process (a Dask worker warns once, not per submission)."""
    return choose_mode(None)


class Kernel:
    """One running worker: ``request(dict, deadline)`` -> reply dict; ``kill()`` ends it all.
    ``tag`` names the batch it belongs to (``cancel_batch``)."""

    def __init__(self, mode: str, scratch: Path, limits: Limits, hidden: list[Path] = (),
                 tag: str = ""):
        self.mode, self.limits, self.scratch, self.tag = mode, limits, scratch, tag
        self.mark = secrets.token_hex(8)
        self.output = bytearray()
        self.dropped = 0
        self._replies: queue.Queue = queue.Queue()
        self._init_pid = None
        command = [sys.executable, "-m", "tutorlib.course.worker"]
        env = self._environment()
        info_read = None
        pass_fds = ()
        if mode == "bwrap":
            info_read, info_write = os.pipe()
            command = _bwrap_command(scratch, hidden, info_write) + command
            pass_fds = (info_write,)
        self.cgroup = None if mode == "none" else _pids_cgroup(self.mark, limits.processes)
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=scratch, env=env, pass_fds=pass_fds, start_new_session=True,
            preexec_fn=None if mode == "none" else _limiter(limits, self.cgroup))
        if info_read is not None:
            os.close(pass_fds[0])
            with os.fdopen(info_read, "rb") as info:
                try:
                    self._init_pid = json.loads(info.read() or b"{}").get("child-pid")
                except ValueError:
                    self._init_pid = None
        threading.Thread(target=self._read_replies, daemon=True).start()
        threading.Thread(target=self._read_output, daemon=True).start()
        with _RUNNING_LOCK:
            cancelled = tag in _CANCELLED
            if not cancelled:
                _RUNNING.add(self)
        if cancelled:
            self.kill()

    def _environment(self) -> dict[str, str]:
        home = HOME if self.mode == "bwrap" else str(self.scratch)
        env = {k: os.environ[k] for k in _PASSED_ENV if os.environ.get(k)}
        env["TUTORLIB_DATA"] = str(data_home())
        env.update(PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", HOME=home,
                   MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", TUTORLIB_GRADING="1",
                   **{RUN_MARK: self.mark})
        return env

    def _read_replies(self) -> None:
        try:
            while True:
                frame = wire.read_frame(self.process.stdout)
                self._replies.put(frame)
                if frame is None:
                    return
        except (wire.WireError, OSError, ValueError) as error:
            self._replies.put(error)

    def _read_output(self) -> None:
        while chunk := self.process.stderr.read1(65536):
            keep = max(0, self.limits.output - len(self.output))
            self.output += chunk[:keep]
            self.dropped += len(chunk) - min(keep, len(chunk))

    def request(self, message: dict, deadline: float, from_handle=None) -> dict:
        """Send ``message``; the reply, or ``KernelGone`` if the kernel died or ``deadline``
        (a ``time.monotonic()`` value) passed first. ``from_handle`` turns the kernel's handles
        into grader-side objects."""
        data = wire.dumps(message)
        try:
            wire.write_frame(self.process.stdin, data)
        except (OSError, ValueError):
            raise KernelGone("the kernel died") from None
        return self.reply(deadline, from_handle)

    def reply(self, deadline: float, from_handle=None) -> dict:
        """The next reply from the kernel (see ``request``)."""
        try:
            frame = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise KernelGone("deadline") from None
        if frame is None:
            raise KernelGone("the kernel died")
        if isinstance(frame, Exception):
            raise KernelGone(f"the kernel broke the protocol: {frame}")
        try:
            reply = wire.loads(frame, from_handle=from_handle or (lambda tree: tree))
        except wire.WireError as error:
            raise KernelGone(f"the kernel broke the protocol: {error}") from None
        if not isinstance(reply, dict):
            raise KernelGone("the kernel broke the protocol: a reply must be a dict")
        return reply

    def kill(self) -> None:
        """Kill the kernel and every process it started; return once they are all gone."""
        with _RUNNING_LOCK:
            _RUNNING.discard(self)
        if self.mode == "bwrap":
            if self._init_pid:
                _signal(self._init_pid, signal.SIGKILL)   # the namespace's init: all die with it
                try:   # bwrap reaps it and exits (killing bwrap first leaves it to be reaped late)
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            _signal(self.process.pid, signal.SIGKILL)
        else:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
            _kill_marked(self.mark)
        if self.cgroup is not None:
            _empty_cgroup(self.cgroup, rounds=1)
        self.process.wait()
        if self.mode == "bwrap" and self._init_pid:
            _wait_gone(self._init_pid)
        if self.cgroup is not None:
            _empty_cgroup(self.cgroup)
            try:
                self.cgroup.rmdir()
            except OSError:
                pass
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def output_text(self) -> str:
        """What the notebook printed (the first ``Limits.output`` bytes)."""
        text = self.output.decode("utf-8", "replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output dropped]"
        return text


def _bwrap_command(scratch: Path, hidden: list[Path], info_fd: int) -> list[str]:
    """bubblewrap arguments: system and Python read-only, scratch as home, nothing else."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "sandbox", "--info-fd", str(info_fd),
            "--proc", "/proc", "--dev", "/dev"]
    for top in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for path in _python_paths():
        args += ["--ro-bind", str(path), str(path)]
    if data_home().is_dir():
        args += ["--ro-bind", str(data_home()), str(data_home())]
    for index, cache in enumerate(_numba_caches()):
        # numba only uses a cache folder it can write to (else it compiles everything again,
        # seconds per submission): each kernel gets its own writable copy of tutorlib's.
        copy = scratch / ".numba-cache" / str(index)
        shutil.copytree(cache, copy)
        args += ["--bind", str(copy), str(cache)]
    for path in hidden:     # files inside a mounted folder that the kernel must not read
        args += ["--ro-bind", "/dev/null", str(path)]
    # /tmp on disk inside the scratch folder: a tmpfs would let the kernel fill the host's RAM.
    (scratch / ".tmp").mkdir(exist_ok=True)
    return args + ["--bind", str(scratch), HOME, "--bind", str(scratch / ".tmp"), "/tmp",
                   "--chdir", HOME]


def _numba_caches() -> list[Path]:
    """The folders of the tutorlib package that hold numba's compiled kernels."""
    import tutorlib

    return sorted({p.parent for p in Path(tutorlib.__file__).parent.rglob("__pycache__/*.nbi")})


def data_home() -> Path:
    """The grader's dataset folder (as ``tutorlib.data``): the kernel reads it, read-only."""
    return Path(os.environ.get("TUTORLIB_DATA") or "~/.cache/tutorlib").expanduser().resolve()


def _python_paths() -> list[Path]:
    """The interpreter, the environment's packages and the tutorlib package (editable installs
    live outside site-packages) — mounted read-only, each one once."""
    import tutorlib

    candidates = {Path(sys.base_prefix), Path(sys.prefix), Path(tutorlib.__file__).parent}
    candidates |= {Path(p) for p in sys.path if p and Path(p).is_dir()
                   and any(Path(p).is_relative_to(b) for b in (sys.prefix, sys.base_prefix))}
    found = sorted(p.resolve() for p in candidates if not str(p).startswith(("/usr/", "/etc/")))
    return [p for p in found if not any(p != q and p.is_relative_to(q) for q in found)]


def _limiter(limits: Limits, cgroup: Path | None):
    """A ``preexec_fn`` setting the rlimits (inherited by bwrap's children and their children)
    and entering the ``pids`` cgroup, if there is one."""
    running = _processes_of_user()
    procs = str(cgroup / "cgroup.procs").encode() if cgroup is not None else None

    def apply() -> None:
        if procs is not None:
            fd = os.open(procs, os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
        for name, value in (("RLIMIT_AS", limits.memory), ("RLIMIT_CPU", limits.cpu),
                            ("RLIMIT_NPROC", running + limits.processes),
                            ("RLIMIT_FSIZE", limits.file_size), ("RLIMIT_CORE", 0)):
            kind = getattr(resource, name)
            hard = resource.getrlimit(kind)[1]
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value))
    return apply


def _pids_cgroup(mark: str, processes: int) -> Path | None:
    """A new ``pids`` cgroup allowing ``processes`` processes, where the system lets us make
    one (cgroup v1 or v2, writable): it caps a fork bomb even for root, whom the kernel exempts
    from RLIMIT_NPROC, and lists every process to kill. None where there is none."""
    for root in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if not (root / "cgroup.procs").exists():
            continue
        if root.name != "pids" and "pids" not in _read(root / "cgroup.controllers").split():
            continue
        group = root / f"tutorlib-grade-{mark}"
        try:
            group.mkdir()
            (group / "pids.max").write_text(str(processes))
            return group
        except OSError:
            try:
                group.rmdir()
            except OSError:
                pass
    return None


def processes_capped() -> bool:
    """True if the process limit holds here: not root (RLIMIT_NPROC), or a pids cgroup."""
    if os.getuid() != 0:
        return True
    group = _pids_cgroup(secrets.token_hex(8), 1)
    if group is None:
        return False
    group.rmdir()
    return True


def _empty_cgroup(group: Path, rounds: int = 200) -> None:
    """Kill every process in ``group`` until it is empty (a fork bomb races with us)."""
    for _ in range(rounds):
        pids = _read(group / "cgroup.procs").split()
        if not pids:
            return
        for pid in pids:
            _signal(int(pid), signal.SIGKILL)
        time.sleep(0.02)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _processes_of_user() -> int:
    """Processes (threads count too, for RLIMIT_NPROC) of the current user, from /proc."""
    uid, count = os.getuid(), 0
    for pid in filter(str.isdigit, os.listdir("/proc")) if os.path.isdir("/proc") else ():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return count


def _kill_marked(mark: str) -> None:
    """Kill processes (of this user) whose environment carries this kernel's mark, until none is
    left: children that left the process group are found this way (unless they cleared it)."""
    needle = f"{RUN_MARK}={mark}".encode()
    for _ in range(50):
        found = False
        for pid in filter(str.isdigit, os.listdir("/proc")) if os.path.isdir("/proc") else ():
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found = True
                _signal(int(pid), signal.SIGKILL)
        if not found:
            return
        time.sleep(0.05)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < end:
        time.sleep(0.02)
