"""The grader's view of a student's kernel: notebook globals as data, functions as proxies.

A check written for the notebook (``check_relu(relu, t)`` calling ``relu(x)``) runs unchanged
in the grader: ``relu`` is a ``Remote`` whose call sends ``x`` to the kernel, which runs the
student's function and sends back plain data (``tutorlib.grading.wire``). Whatever is not plain
data (a model, a generator) stays in the kernel and comes back as another ``Remote``, whose
calls and attributes go to the kernel too. (A ``Remote`` is deliberately not a sequence, so
numpy does not walk it item by item: ``np.asarray(remote)`` is an object, not numbers.) So the check, its
reference and its expected values live only in the grader, and the kernel only ever sees the
inputs of the calls the check makes.
"""

from __future__ import annotations

from typing import Any

from tutorlib.course.sandbox import Kernel, KernelGone
from tutorlib.grading import wire

_MISSING = object()


class CallTimeout(Exception):
    """A call of the student's code ran past the per-cell timeout (and was interrupted)."""


class Remote:
    """A student's object kept in the kernel; using it asks the kernel."""

    __slots__ = ("__wire_ref__", "_repr", "_session")

    def __init__(self, session: Session, ref: int, text: str):
        self.__wire_ref__, self._session, self._repr = ref, session, text

    def __call__(self, *args, **kwargs):
        return self._session.ask("call", self.__wire_ref__, args=args, kwargs=kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._session.ask("getattr", self.__wire_ref__, arg=name)

    def __repr__(self) -> str:
        return self._repr


class Session:
    """Requests to one kernel, each with the per-call ``timeout``, all before ``deadline``.

    ``dead`` (why the kernel is gone) and ``timed_out`` (a call was interrupted) are kept so the
    grader can say what happened to the exercise being checked.
    """

    def __init__(self, kernel: Kernel, timeout: float, deadline: float):
        self.kernel, self.timeout, self.deadline = kernel, timeout, deadline
        self.dead: str | None = None
        self.timed_out = False

    def request(self, message: dict) -> dict:
        """One raw request/reply (``KernelGone`` once the kernel is dead or out of time)."""
        if self.dead:
            raise KernelGone(self.dead)
        try:
            return self.kernel.request(message | {"timeout": self.timeout}, self.deadline,
                                       from_handle=self._remote)
        except KernelGone as gone:
            self.dead = str(gone)
            raise

    def run_cell(self, source: str) -> dict:
        """Run a code cell: ``{}``, ``{"error": [name, value]}`` or ``{"timed_out": True}``."""
        return self.request({"op": "cell", "source": source})

    def get(self, name: str) -> Any:
        """The notebook global ``name`` as data or a ``Remote`` (``_MISSING`` if undefined)."""
        return self._value(self.request({"op": "get", "name": name}), _MISSING)

    def ask(self, op: str, ref: int, **fields) -> Any:
        """``op`` on handle ``ref``; raises what the student's code raised."""
        return self._value(self.request({"op": op, "ref": ref, **fields}), None)

    def _value(self, reply: dict, missing: Any) -> Any:
        if reply.get("missing"):
            return missing
        if reply.get("timed_out"):
            self.timed_out = True
            raise CallTimeout(f"did not return within {self.timeout:g} s")
        if "error" in reply:
            name, message = (list(reply["error"]) + ["", ""])[:2]
            raise wire.exception_from(str(name), str(message))
        return reply.get("value")

    def _remote(self, tree: dict) -> Remote:
        ref = tree.get("$ref")
        if type(ref) is not int:
            raise wire.WireError(f"bad handle {ref!r}")
        text = tree.get("repr") if isinstance(tree.get("repr"), str) else "<object>"
        return Remote(self, ref, text[:200])
