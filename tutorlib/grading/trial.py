"""``Trial``: the ``t`` a check function receives — a seeded RNG plus checking helpers.

Every helper records what it tested (shown when the answer passes) and raises
``CheckFailure`` with *what* was tested, the expected and the received value when the answer is
wrong. The RNG is seeded from the exercise id, so a check sees the same inputs on every run;
the grader adds a secret seed drawn afresh for every run (``Trial(id, seed)``), so its inputs
cannot be known in advance.

>>> t = Trial("doc.square")
>>> t.against_reference(lambda x: x * x, np.square, lambda rng: (rng.normal(size=3),), what="square(x)")
>>> t.tested
['square(x) matches the reference on 5 seeded random inputs']
>>> try:
...     t.close(np.array([1.0, 5.0]), np.array([1.0, 4.0]), "square([1, 2])")
... except CheckFailure as failure:
...     print(failure.detail)
1 of 2 entries differ (rtol=1e-05, atol=1e-08); at [1]: expected 4, got 5
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tutorlib.grading.compare import describe, mismatch
from tutorlib.grading.gradcheck import numerical_grad

MakeArgs = Callable[[np.random.Generator], tuple]


class CheckFailure(AssertionError):
    """The answer is wrong: ``what`` was tested, ``expected`` vs ``got``, and ``detail``."""

    def __init__(self, what: str, expected: str = "", got: str = "", detail: str = ""):
        super().__init__(f"{what}: {detail or f'expected {expected}, got {got}'}")
        self.what, self.expected, self.got, self.detail = what, expected, got, detail


class Trial:
    """State of one check run: ``rng`` (seeded by exercise id, and ``seed`` if given) and the
    list of ``tested`` steps."""

    def __init__(self, exercise_id: str, seed: int | None = None):
        key = zlib.crc32(exercise_id.encode())
        self.rng = np.random.default_rng(key if seed is None else [seed, key])
        self.tested: list[str] = []
        self.context = ""

    def label(self, what: str) -> str:
        """``what``, plus the random input being tried (if any), for failure messages."""
        return f"{what}, {self.context}" if self.context else what

    def passed(self, what: str) -> None:
        """Record that ``what`` was tested and passed (once, however often it is repeated)."""
        if what not in self.tested:
            self.tested.append(what)

    def close(self, got: Any, expected: Any, what: str, *, rtol: float = 1e-5,
              atol: float = 1e-8) -> None:
        """``got`` must equal ``expected`` (same shape; numbers within ``rtol``/``atol``)."""
        problem = mismatch(got, expected, rtol=rtol, atol=atol)
        if problem:
            raise CheckFailure(self.label(what), describe(expected), describe(got), problem)
        self.passed(what)

    @staticmethod
    def in_kernel(obj: Any) -> bool:
        """True when ``obj`` is a student's object living in the sandboxed kernel (a handle of
        ``tutorlib-course grade``): the check can call it and read its outputs, but cannot
        record a graph through it, so gradient sub-checks run only in the notebook's check()."""
        return getattr(obj, "__wire_ref__", None) is not None

    def holds(self, condition: Any, what: str, *, got: Any = None) -> None:
        """A property must hold, e.g. ``t.holds((y >= 0).all(), "relu(x) >= 0", got=y)``."""
        if not bool(np.all(condition)):
            shown = "a value for which it does not" if got is None else describe(got)
            raise CheckFailure(self.label(what), "the property to hold", shown)
        self.passed(what)

    def samples(self, make_args: MakeArgs, n: int = 5) -> Iterator[tuple]:
        """``n`` argument tuples ``make_args(self.rng)``; failures inside name the input."""
        for i in range(n):
            args = make_args(self.rng)
            self.context = f"random input {i + 1} of {n}: {_describe_args(args)}"
            yield args
        self.context = ""

    def against_reference(self, fn: Callable, reference: Callable, make_args: MakeArgs, *,
                          what: str, n: int = 5, rtol: float = 1e-5, atol: float = 1e-8) -> None:
        """``fn(*args)`` must match ``reference(*args)`` on ``n`` seeded random inputs.

        ``fn`` gets copies of the arguments, so an answer that modifies its input in place does
        not change what the reference sees.
        """
        for args in self.samples(make_args, n):
            got = fn(*_copies(args))
            self.close(got, reference(*args), what, rtol=rtol, atol=atol)
        self._summarize(what, f"{what} matches the reference on {n} seeded random inputs")

    def gradient(self, grad_fn: Callable, f: Callable, make_args: MakeArgs, *, what: str,
                 wrt: int = 0, n: int = 3, rtol: float = 1e-4, atol: float = 1e-6) -> None:
        """``grad_fn(*args)`` must match the finite-difference gradient of scalar ``f(*args)``
        with respect to argument ``wrt``, on ``n`` seeded random inputs."""
        for args in self.samples(make_args, n):
            def f_of(x, args=args):
                return f(*args[:wrt], x, *args[wrt + 1:])

            expected = numerical_grad(f_of, args[wrt])
            self.close(grad_fn(*_copies(args)), expected, what, rtol=rtol, atol=atol)
        self._summarize(what, f"{what} matches finite differences on {n} seeded random inputs")

    def _summarize(self, what: str, summary: str) -> None:
        if what in self.tested:
            self.tested.remove(what)
        self.passed(summary)


def _copies(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _describe_args(args: tuple) -> str:
    return ", ".join(f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else describe(a)
                     for a in args)
