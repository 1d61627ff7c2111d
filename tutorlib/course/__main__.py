"""``python -m tutorlib.course``: the same as the ``tutorlib-course`` command."""

from tutorlib.course.cli import main

raise SystemExit(main())
