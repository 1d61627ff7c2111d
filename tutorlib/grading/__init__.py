"""Exercise checks with immediate feedback in the notebook, and the same checks for grading.

Students call ``check``::

    from tutorlib.grading import check
    check("ch01.square_loss", square_loss)     # shows a green / red / grey card

Chapter authors register checks in ``tutorlib/grading/chNN.py`` (see docs/grading.md)::

    import numpy as np
    from tutorlib.grading import exercise

    @exercise("ch01.square_loss", points=2, name="square_loss", title="Squared loss",
              hint="Average (pred - target) ** 2 over all entries.")
    def _(square_loss, t):
        t.against_reference(square_loss, lambda p, y: ((p - y) ** 2).mean(),
                            lambda rng: (rng.normal(size=(4, 3)), rng.normal(size=(4, 3))),
                            what="square_loss(pred, target)")

``t`` is a ``Trial``: a seeded ``t.rng`` and helpers ``close``, ``holds``, ``samples``,
``against_reference`` and ``gradient``.

>>> from tutorlib.grading import Result, check, exercise
>>> callable(check) and callable(exercise)
True
"""

from tutorlib.grading.compare import describe, mismatch
from tutorlib.grading.gradcheck import numerical_grad
from tutorlib.grading.registry import Exercise, chapter_exercises, exercise, get
from tutorlib.grading.result import Result
from tutorlib.grading.run import check, run_check
from tutorlib.grading.trial import CheckFailure, Trial

__all__ = [
    "CheckFailure", "Exercise", "Result", "Trial", "chapter_exercises", "check", "describe",
    "exercise", "get", "mismatch", "numerical_grad", "run_check",
]
