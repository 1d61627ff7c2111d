"""Build the course book (``make book``): stage its sources, then run Jupyter Book 1.

Jupyter Book 1 reads every source from one folder, so this script lays out
``book/_build/src`` afresh on each run:

* the committed book files next to this script (``_config.yml``, ``intro.md``, ``logo.svg``);
* ``notebooks/``, ``exercises/``: their ``chNN-*.ipynb`` files and ``images/`` folders; the
  book shows the stored outputs (nothing is executed), with each widget replaced by what it
  showed when the notebook was saved (``static_widgets``): live widgets need ipywidgets'
  JavaScript from a CDN, which an offline book cannot load;
* ``api/<module>.rst``: one autodoc page per module of ``API_MODULES`` that exists (the
  ``tutorlib`` of this checkout, which is put first on ``PYTHONPATH``);
* ``_toc.yml``, written from the files found, chapters in ``chNN`` order, so a new chapter is
  in the book as soon as its notebook is.

and then runs ``jupyter-book build --all -W -n --keep-going``, whose HTML lands in
``book/_build/html``. The exit status is Jupyter Book's: non-zero on any warning or broken
notebook.

    python book/build.py [--root REPO] [--out DIR]   # DIR/_build instead of book/_build
"""

from __future__ import annotations

import argparse
import html
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

BOOK = Path(__file__).resolve().parent
sys.path.insert(0, str(BOOK.parent))  # document this checkout's tutorlib
BOOK_FILES = ["_config.yml", "intro.md", "logo.svg"]
PARTS = {"notebooks": "Lessons", "exercises": "Exercises"}  # folder: caption, in book order
CHAPTER_GLOB = "ch[0-9][0-9]-*.ipynb"
API_MODULES = [  # the public modules, in the order of the API reference
    "tutorlib", "tutorlib.functional", "tutorlib.functional.nn", "tutorlib.functional.loss",
    "tutorlib.functional.metric", "tutorlib.module", "tutorlib.optimizer", "tutorlib.autodiff",
    "tutorlib.data", "tutorlib.data.transform", "tutorlib.random", "tutorlib.viz",
    "tutorlib.grading", "tutorlib.quantization", "tutorlib.quantization.fixed_point",
    "tutorlib.mlu", "tutorlib.mlu.mlu_model", "tutorlib.mlu.mlu_quantize", "tutorlib.mlu.adaptive",
    "tutorlib.mlu.device", "tutorlib.mlu.graph", "tutorlib.mlu.cost",
]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def widget_parts(model_id: str, models: dict) -> list:
    """What widget ``model_id`` showed: text lines (str) and the outputs (dicts) it held.

    An ``Output`` widget (the plot of ``interact``) gives its stored outputs, a box its
    children's parts (an ``HBox`` of texts as one line: a tqdm bar), a control its
    description and value, a progress bar a drawn bar.
    """
    model = models.get(model_id, {"model_name": "", "state": {}})
    name, state = model["model_name"], model["state"]
    if name == "OutputModel":
        return list(state.get("outputs", []))
    if "children" in state:
        parts = [part for child in state["children"]
                 for part in widget_parts(child.removeprefix("IPY_MODEL_"), models)]
        if name == "HBoxModel" and all(isinstance(part, str) for part in parts):
            return [" ".join(part for part in parts if part)]
        return parts
    if state.get("_view_name") == "ProgressView":
        share = (state["value"] - state["min"]) / ((state["max"] - state["min"]) or 1)
        return ["|" + ("█" * round(10 * share)).ljust(10) + "|"]
    value = state.get("value", "")
    if state.get("_options_labels") and state.get("index") is not None:
        value = state["_options_labels"][state["index"]]
    text = html.unescape(re.sub(r"<[^>]*>", "", str(value)))
    return [f"{state['description']}: {text}" if state.get("description") else text]


def static_widgets(notebook: dict) -> dict:
    """``notebook`` with each widget output replaced by its ``widget_parts`` (texts as one
    plain-text output) and the widget state dropped; a widget without stored state keeps
    its plain-text fallback."""
    models = notebook.get("metadata", {}).pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in notebook["cells"]:
        outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(output)
            elif view["model_id"] not in models:
                outputs.append({**output, "data": {
                    mime: data for mime, data in output["data"].items() if mime != WIDGET_VIEW}})
            else:
                for part in widget_parts(view["model_id"], models):
                    if isinstance(part, str):
                        part = {"output_type": "display_data", "metadata": {},
                                "data": {"text/plain": part}}
                    outputs.append(part)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return notebook


def copy_notebook(source: Path, target: Path) -> None:
    """Copy a notebook with ``static_widgets``; one that is not JSON as it is (Jupyter Book
    then reports it)."""
    try:
        notebook = json.loads(source.read_text(encoding="utf-8"))
    except ValueError:
        shutil.copy2(source, target)
        return
    target.write_text(json.dumps(static_widgets(notebook), ensure_ascii=False), encoding="utf-8")


def public_names(module: types.ModuleType) -> list[str]:
    """``__all__`` without submodules, or else the public names the module's package defines.

    >>> public_names(importlib.import_module("tutorlib.random"))[:2]
    ['generator', 'normal']
    """
    names = getattr(module, "__all__", None) or sorted(
        name for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith(module.__name__))
    return [name for name in names if not name.startswith("_")
            and not isinstance(getattr(module, name), types.ModuleType)]


def api_page(name: str) -> str:
    """The reStructuredText source of the API page of module ``name`` (imports it).

    >>> print(*api_page("tutorlib.viz").splitlines()[:4], sep="\\n")
    tutorlib.viz
    ============
    <BLANKLINE>
    .. automodule:: tutorlib.viz
    """
    members = ", ".join(public_names(importlib.import_module(name)))
    return f"{name}\n{'=' * len(name)}\n\n.. automodule:: {name}\n   :members: {members}\n"


def stage(root: Path, src: Path) -> dict[str, list[str]]:
    """Lay out the book's sources from repository ``root`` in ``src``; return the TOC parts."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in BOOK_FILES:
        shutil.copy2(BOOK / name, src / name)
    parts = {}
    for folder, caption in PARTS.items():
        chapters = sorted((root / folder).glob(CHAPTER_GLOB))
        if not chapters:
            continue
        (src / folder).mkdir()
        for notebook in chapters:
            copy_notebook(notebook, src / folder / notebook.name)
        if (root / folder / "images").is_dir():
            shutil.copytree(root / folder / "images", src / folder / "images")
        parts[caption] = [f"{folder}/{notebook.stem}" for notebook in chapters]
    (src / "api").mkdir()
    for name in API_MODULES:
        if importlib.util.find_spec(name) is None:
            print(f"book: {name} does not exist yet; no API page for it")
            continue
        (src / "api" / f"{name}.rst").write_text(api_page(name))
        parts.setdefault("API reference", []).append(f"api/{name}")
    return parts


def toc_yaml(parts: dict[str, list[str]]) -> str:
    """``_toc.yml`` for an intro page followed by one part per caption.

    >>> print(toc_yaml({"Lessons": ["notebooks/ch00-a", "notebooks/ch01-b"]}), end="")
    # Generated by book/build.py from the files found; do not edit.
    format: jb-book
    root: intro
    parts:
      - caption: Lessons
        chapters:
          - file: notebooks/ch00-a
          - file: notebooks/ch01-b
    """
    lines = ["# Generated by book/build.py from the files found; do not edit.",
             "format: jb-book", "root: intro", "parts:"]
    for caption, files in parts.items():
        lines += [f"  - caption: {caption}", "    chapters:"]
        lines += [f"      - file: {file}" for file in files]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=BOOK.parent,
                        help="repository with notebooks/ and exercises/ (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=BOOK,
                        help="sources go to OUT/_build/src, HTML to OUT/_build/html "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    src = args.out / "_build" / "src"
    (src / "_toc.yml").write_text(toc_yaml(stage(args.root, src)))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(BOOK.parent), os.environ.get("PYTHONPATH")]))}
    return subprocess.call([str(jupyter_book), "build", str(src), "--path-output", str(args.out),
                            "--all", "-W", "-n", "--keep-going"], env=env)


if __name__ == "__main__":
    sys.exit(main())
