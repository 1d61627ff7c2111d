"""The student's side of grading: runs inside the sandbox, executes cells, answers calls.

Started by ``tutorlib.course.sandbox`` as ``python -m tutorlib.course.worker``. Requests come on
stdin and replies go to stdout, one ``tutorlib.grading.wire`` frame each; the notebook's own
output (prints, tracebacks) goes to stderr, which the grader caps. The worker never sees a check,
a reference or a point: it runs the cells, then answers "what is the global ``relu``?" and "call
handle 3 with these arguments" with plain data. Whatever the student's code does to this module
changes only what its functions appear to return, which is exactly what is being graded.

Requests (each a dict): ``{"op": "cell", "source", "timeout"}``, ``{"op": "get", "name"}``,
``{"op": "call", "ref", "args", "kwargs", "timeout"}`` and ``{"op": "getattr", "ref", "arg"}``.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import types
from typing import Any

from tutorlib.grading import wire

MAX_GENERATED = 10_000  # items of a generator a call returns (model.parameters()) sent as a list


class Timeout(BaseException):
    """Raised in the student's code when a cell or call runs past its timeout (a BaseException,
    so ``except Exception`` in the student's code does not swallow it)."""


class Worker:
    """The namespace of the notebook and the table of handles the grader holds."""

    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance(colors="NoColor")
        self.handles: list[Any] = []

    def handle(self, obj: Any) -> dict:
        """Keep ``obj`` here and give the grader a reference to it."""
        self.handles.append(obj)
        try:
            text = repr(obj)
        except Exception:
            text = f"<{type(obj).__name__} object>"
        return {"$ref": len(self.handles) - 1, "type": type(obj).__name__[:80],
                "repr": text[:200], "callable": callable(obj)}

    def resolve(self, tree: dict) -> Any:
        ref = tree.get("$ref")
        if not isinstance(ref, int) or not 0 <= ref < len(self.handles):
            raise wire.WireError(f"no handle {ref!r}")
        return self.handles[ref]

    def serve(self, request: dict) -> dict:
        op = request.get("op")
        try:
            if op == "cell":
                return self.cell(request["source"])
            if op == "get":
                if request["name"] not in self.shell.user_ns:
                    return {"missing": True}
                return {"value": self.shell.user_ns[request["name"]]}
            target = self.resolve({"$ref": request.get("ref")})
            if op == "call":
                value = target(*request.get("args", ()), **request.get("kwargs", {}))
                if isinstance(value, types.GeneratorType):  # model.parameters(): send the items
                    value = list(itertools.islice(value, MAX_GENERATED))
            elif op == "getattr":
                value = getattr(target, str(request["arg"]))
            else:
                raise wire.WireError(f"unknown request {op!r}")
            return {"value": value}
        except Timeout:
            return {"timed_out": True}
        except Exception as error:
            return {"error": [type(error).__name__, str(error)[:2000]]}

    def cell(self, source: str) -> dict:
        result = self.shell.run_cell(source, store_history=True)
        error = result.error_before_exec or result.error_in_exec
        if isinstance(error, Timeout):
            return {"timed_out": True}
        if error is not None:
            return {"error": [type(error).__name__, str(error)[:2000]]}
        return {}


def _on_alarm(signum, frame):
    raise Timeout()


def _alarm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(0.0, float(seconds)))


def main() -> None:
    """Serve requests until the grader closes stdin (or kills the sandbox)."""
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)          # the notebook reads nothing from the grader,
    os.dup2(2, 1)             # and everything it prints goes to the capped output
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    signal.signal(signal.SIGALRM, _on_alarm)
    worker = Worker()
    wire.write_frame(replies, wire.dumps({"ready": True}))
    while True:
        frame = wire.read_frame(requests)
        if frame is None:
            return
        try:
            request = wire.loads(frame, from_handle=worker.resolve, objects=True)
            _alarm(request.get("timeout") or 0)   # the reply's repr() is student code too
            data = wire.dumps(worker.serve(request), to_handle=worker.handle)
        except Timeout:
            data = wire.dumps({"timed_out": True})
        except Exception as error:  # a reply that cannot be sent: too large, too deep...
            data = wire.dumps({"error": [type(error).__name__, str(error)[:2000]]})
        finally:
            _alarm(0)
        sys.stdout.flush()
        sys.stderr.flush()
        wire.write_frame(replies, data)


if __name__ == "__main__":
    main()
