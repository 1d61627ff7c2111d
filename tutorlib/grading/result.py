"""``Result``: the outcome of one check — truthy when passed, rendered as a card in Jupyter.

>>> r = Result("doc.double", "Double it", points=2, status=PASSED, tested=["double(2.0)"])
>>> bool(r), r.score
(True, 2)
>>> r
[PASS] doc.double - Double it: passed, 2/2 points
  tested: double(2.0)
>>> Result.from_dict(r.to_dict()) == r
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tutorlib.grading import render

PASSED, FAILED, NOT_IMPLEMENTED = "passed", "failed", "not implemented"
STATUSES = (PASSED, FAILED, NOT_IMPLEMENTED)
CHECK_MIME = "application/vnd.tutorlib.check+json"


@dataclass
class Result:
    """What a check found. ``what``/``expected``/``got``/``detail`` describe the failing test;
    ``message`` explains a failure that is not a wrong value (an exception, a missing name)."""

    exercise: str
    title: str
    points: int
    status: str
    tested: list[str] = field(default_factory=list)
    what: str = ""
    expected: str = ""
    got: str = ""
    detail: str = ""
    message: str = ""
    hint: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def __bool__(self) -> bool:
        return self.status == PASSED

    @property
    def score(self) -> int:
        """``points`` if passed, else 0 (exercises are all-or-nothing)."""
        return self.points if self else 0

    @property
    def feedback(self) -> str:
        """One line for score tables: empty when passed, else the reason."""
        if self:
            return ""
        if self.message:
            return self.message
        if self.status == NOT_IMPLEMENTED:
            return "not implemented yet"
        problem = self.detail or f"expected {self.expected}, got {self.got}"
        return f"{self.what}: {problem}"

    def to_dict(self) -> dict:
        """A JSON-ready dict (``from_dict`` reverses it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Result:
        """Rebuild a ``Result`` from ``to_dict()`` output."""
        return cls(**data)

    def __repr__(self) -> str:
        return render.text(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(render.text(self))

    def _repr_html_(self) -> str:
        return render.html(self)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        # Stored next to text/html in the notebook, so `tutorlib-course progress` can read it.
        return {CHECK_MIME: {"exercise": self.exercise, "status": self.status,
                             "points": self.points}}
