"""The solution-marker grammar: turn a solution cell's source into the student's version.

* ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` (nbgrader's markers) delimit a solution.
  Indented (inside a function body): replaced by ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` at the marker's indentation; the signature and docstring,
  written above the markers, stay. At top level: replaced by ``name = ...  # YOUR CODE HERE``
  for every name the solution assigns, so the cell still runs.
  In markdown cells: replaced by ``YOUR ANSWER HERE``.
* A cell whose first line is ``### SOLUTION ONLY`` is left out of the student's notebook.

>>> print(strip_code('''def double(x):
...     "Twice x."
...     ### BEGIN SOLUTION
...     return 2 * x
...     ### END SOLUTION'''))
def double(x):
    "Twice x."
    # YOUR CODE HERE
    raise NotImplementedError()
>>> print(strip_code('''### BEGIN SOLUTION
... lr, steps = 0.1, 100
... ### END SOLUTION'''))
lr = ...  # YOUR CODE HERE
steps = ...  # YOUR CODE HERE
"""

from __future__ import annotations

import ast
import re

BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
SOLUTION_ONLY = "### SOLUTION ONLY"


class MarkerError(ValueError):
    """Markers that cannot be turned into a student version (unbalanced, a ``def`` inside)."""


def is_solution_only(source: str) -> bool:
    """True if the cell starts with ``### SOLUTION ONLY``.

    >>> is_solution_only("### SOLUTION ONLY\\nplot(answer)")
    True
    """
    lines = source.lstrip().splitlines()
    return bool(lines) and lines[0].strip() == SOLUTION_ONLY


def strip_code(source: str) -> str:
    """Replace every solution region of a code cell (see the module docstring)."""
    return _strip(source, _code_placeholder)


def strip_markdown(source: str) -> str:
    """Replace every solution region of a markdown cell by ``YOUR ANSWER HERE``.

    >>> strip_markdown("Why?\\n### BEGIN SOLUTION\\nBecause.\\n### END SOLUTION")
    'Why?\\nYOUR ANSWER HERE'
    """
    return _strip(source, lambda indent, body: [indent + "YOUR ANSWER HERE"])


def _strip(source: str, placeholder) -> str:
    out: list[str] = []
    region: list[str] | None = None
    indent = ""
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if region is not None:
                raise MarkerError(f"line {number}: BEGIN SOLUTION inside another solution")
            region, indent = [], begin.group(1)
        elif END.match(line):
            if region is None:
                raise MarkerError(f"line {number}: END SOLUTION without BEGIN SOLUTION")
            out += placeholder(indent, region)
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise MarkerError("BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out) + ("\n" if source.endswith("\n") else "")


def _code_placeholder(indent: str, body: list[str]) -> list[str]:
    if indent:
        return [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
    try:
        tree = ast.parse("\n".join(body))
    except SyntaxError as error:
        raise MarkerError(f"the solution does not parse: {error.msg} (line {error.lineno})")
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            raise MarkerError(
                f"`{node.name}` is defined inside top-level solution markers: put the markers"
                " inside the body, so the signature and docstring stay"
            )
    names = _assigned_names(tree)
    return [f"{name} = ...  # YOUR CODE HERE" for name in names] or ["# YOUR CODE HERE"]


def _assigned_names(tree: ast.Module) -> list[str]:
    """Names bound at module level by assignments (not imports, not inside functions)."""
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                             ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        stored = isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
        if stored and node.id not in names:
            names.append(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names
