"""Imports go one way: each part of tutorlib imports only from its own layer and the layers below
(the table is in docs/architecture.md). Imports are read with ``ast``, including those inside
functions, so a lazy import against the direction is caught too."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# bottom to top; a module may import from its own layer and any layer before it
LAYERS = [
    ["kernels", "_validate"],  # _validate: checks of Python scalars, imports nothing of tutorlib
    ["dtype", "device"],
    ["tensor", "random", "serialization"],
    ["autodiff"],
    ["ops"],
    ["functional"],
    ["module", "optimizer", "data"],
    ["__init__"],  # tutorlib/__init__.py: the package's public names (tl.Tensor, tl.save, ...)
    ["viz", "examples", "warmup", "models", "quantization"],
    ["hub", "mlu"],  # pretrained models; the emulated accelerator (built on quantization)
    ["course", "grading"],
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}

# the one import against the direction, on purpose: Tensor's operators and methods (x + y,
# x.sum()) are the functional API's functions, imported at the bottom of tensor.py
ALLOWED = {("tensor", "functional")}


def part_of(module: str) -> str:
    """'tutorlib.ops.nn' -> 'ops'; 'tutorlib' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_modules(path: pathlib.Path, package: str):
    """(line, module) of every tutorlib module that ``path`` (in ``package``) imports."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing file's package
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "tutorlib":  # `from tutorlib import functional` names a subpackage
                for alias in node.names:
                    name = alias.name
                    yield node.lineno, f"tutorlib.{name}" if name in RANK else "tutorlib"
            else:
                yield node.lineno, module


def violations(root: pathlib.Path) -> list:
    """'file:line: a -> b' for every import of a higher layer from a lower one."""
    found = []
    for path in sorted((root / "tutorlib").rglob("*.py")):
        rel = path.relative_to(root)
        module = ".".join(rel.with_suffix("").parts)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        if path.name == "__init__.py":
            module = package
        source = part_of(module)
        for line, target in imported_modules(path, package):
            if target != "tutorlib" and not target.startswith("tutorlib."):
                continue
            dest = part_of(target)
            if dest not in RANK or source not in RANK:
                found.append(f"{rel}:{line}: {source} -> {dest} (not in the layer table)")
            elif RANK[dest] > RANK[source] and (source, dest) not in ALLOWED:
                found.append(f"{rel}:{line}: {source} -> {dest}")
    return found


def test_every_import_goes_down_the_layers():
    assert violations(ROOT) == []


def test_every_part_of_the_package_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in (ROOT / "tutorlib").iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert parts <= set(RANK), f"add {parts - set(RANK)} to LAYERS and docs/architecture.md"


@pytest.mark.parametrize("file, line, expected", [
    ("kernels/conv.py", "from ..tensor import Tensor", "kernels -> tensor"),
    ("autodiff/graph.py", "from ..ops.core import Op", "autodiff -> ops"),
    ("kernels/pool.py", "def f():\n    import tutorlib.functional as F", "kernels -> functional"),
    ("ops/nn.py", "from tutorlib import module", "ops -> module"),
])
def test_an_import_against_the_direction_is_reported(tmp_path, file, line, expected):
    path = tmp_path / "tutorlib" / file
    path.parent.mkdir(parents=True)
    path.write_text("import numpy as np\nfrom . import sibling\n" + line + "\n")
    found = violations(tmp_path)
    assert len(found) == 1 and found[0].endswith(expected), found


def test_imports_down_and_sideways_are_fine(tmp_path):
    path = tmp_path / "tutorlib" / "ops" / "nn.py"
    path.parent.mkdir(parents=True)
    path.write_text("from ..kernels import conv\nfrom .core import Op\nfrom ..autodiff import graph\n")
    assert violations(tmp_path) == []
