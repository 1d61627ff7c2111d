"""Make ``tests/`` importable so test files can share helpers: ``from helpers import gradcheck``.

Hypothesis runs derandomized (a fixed seed per test), so every run checks the same examples:
"seed everything" holds for property tests too, and CI cannot fail on a new random draw.
"""
import os
import sys

from hypothesis import settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

settings.register_profile("tutorlib", derandomize=True, print_blob=True)
settings.load_profile("tutorlib")
