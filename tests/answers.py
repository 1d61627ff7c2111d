"""Answers for testing the exercises' checks: wrong ones (mutants) that a check must fail, and
correct alternatives that it must pass, registered per exercise by decorators.

    from answers import Answers
    answers = Answers()

    @answers.mutant("ch07.position_scale", "rounds instead of ceil", feedback="position")
    def wrong(absmax, bitwidth): ...

``answers.mutants[exercise_id][name]`` is ``(function, feedback)``: ``feedback``, if given, must
appear in the failure text. ``answers.alternatives[exercise_id][name]`` is the function.
"""
from __future__ import annotations


class Answers:
    def __init__(self) -> None:
        self.mutants: dict[str, dict[str, tuple]] = {}
        self.alternatives: dict[str, dict[str, object]] = {}

    def mutant(self, exercise_id: str, name: str, feedback: str | None = None):
        """Register a wrong answer that the check of ``exercise_id`` must fail."""
        def register(fn):
            self.mutants.setdefault(exercise_id, {})[name] = (fn, feedback)
            return fn
        return register

    def alternative(self, exercise_id: str, name: str):
        """Register a correct answer, written another way, that the check must pass."""
        def register(fn):
            self.alternatives.setdefault(exercise_id, {})[name] = fn
            return fn
        return register
