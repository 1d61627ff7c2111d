"""Instructor and student tooling: ``tutorlib-course build | validate | grade | progress``.

See docs/grading.md. The command line is ``tutorlib.course.cli``.
"""
