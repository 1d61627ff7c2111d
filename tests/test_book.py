"""The course book (``make book``, book/build.py): it builds from the stored outputs with warnings
as errors, loads nothing from the network, and in headless Chromium with the network cut off its
pages show typeset maths, their images and every chapter in the sidebar."""

import collections
import doctest
import html.parser
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import nbformat
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--proxy-server=127.0.0.1:9",  # a closed port: every http(s) request fails, as offline
    "--virtual-time-budget=30000",  # let MathJax finish before the DOM is dumped
]


def chapters(folder: str) -> list[str]:
    return [path.stem for path in sorted((ROOT / folder).glob(build.CHAPTER_GLOB))]


def notebook_json(*markdown: str) -> str:
    return nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(text) for text in markdown]))


def test_build_script_doctests():
    assert doctest.testmod(build).failed == 0


def test_widgets_become_what_they_showed():
    image = {"output_type": "display_data", "metadata": {},
             "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}
    models = {  # interact(f, k=(1, 5)) and a tqdm bar, as a notebook stores them
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_k", "IPY_MODEL_out"]}},
        "k": {"model_name": "IntSliderModel", "state": {"description": "k", "value": 2}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [image]}},
        "bar": {"model_name": "HBoxModel", "state": {"children": [
            "IPY_MODEL_label", "IPY_MODEL_progress", "IPY_MODEL_rate"]}},
        "label": {"model_name": "HTMLModel", "state": {"value": "epochs: 100%"}},
        "progress": {"model_name": "FloatProgressModel", "state": {
            "_view_name": "ProgressView", "value": 5.0, "min": 0.0, "max": 5.0}},
        "rate": {"model_name": "HTMLModel", "state": {"value": "5/5 [00:01&lt;00:00]"}},
    }

    def view(model_id):
        return {"output_type": "display_data", "metadata": {}, "data": {
            build.WIDGET_VIEW: {"model_id": model_id}, "text/plain": "fallback"}}

    notebook = {"metadata": {"widgets": {build.WIDGET_STATE: {"state": models}}}, "cells": [
        {"cell_type": "code", "outputs": [view("box"), view("bar"), view("unsaved")]}]}
    outputs = build.static_widgets(notebook)["cells"][0]["outputs"]
    assert [output["data"] for output in outputs] == [
        {"text/plain": "k: 2"}, image["data"],
        {"text/plain": "epochs: 100% |██████████| 5/5 [00:01<00:00]"},
        {"text/plain": "fallback"}]
    assert "widgets" not in notebook["metadata"]


@pytest.mark.parametrize("lesson, builds", [
    (notebook_json("# Chapter 0\n\nMaths $x^2$ and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |"),
     True),
    (notebook_json("# Chapter 0", "See [chapter 1](ch01-missing.ipynb)."), False),  # a warning
    ('{"cells": [', False),  # a broken notebook
], ids=["good", "warning", "invalid-json"])
def test_tiny_book_fails_on_a_warning_or_a_broken_notebook(tmp_path, monkeypatch, lesson, builds):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "ch00-tiny.ipynb").write_text(lesson)
    monkeypatch.setattr(build, "API_MODULES", [])  # fast; the course book has the API pages
    status = build.main(["--root", str(tmp_path), "--out", str(tmp_path)])
    assert (status == 0) is builds
    assert (tmp_path / "_build" / "src" / "_toc.yml").read_text().count("file:") == 1


@pytest.fixture(scope="module")
def course_book(tmp_path_factory) -> Path:
    """The course's book, built by book/build.py into a temporary folder; its html/ folder."""
    out = tmp_path_factory.mktemp("book")
    assert build.main(["--out", str(out)]) == 0, "the book does not build: see the warnings"
    return out / "_build" / "html"


class PageParser(html.parser.HTMLParser):
    """Collects a page's tags, resource URLs, sidebar links, its text outside code (``text``),
    its text outside code and maths (``prose``) and its number of maths elements (``maths``)."""

    CODE = frozenset({"script", "style", "pre", "code"})
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                      "source", "track", "wbr"})

    def __init__(self, page: str):
        super().__init__()
        self.tags = collections.Counter()
        self.resources, self.images, self.nav_links, self.text, self.prose = [], [], [], [], []
        self.open, self.nav_depth, self.maths = [], 0, 0  # open: (tag, "code" | "math" | "")
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        self.tags[tag] += 1
        self.maths += "math" in classes
        if tag not in self.VOID:
            self.open.append((tag, "code" if tag in self.CODE else "math" if "math" in classes
                              else ""))
        if tag == "nav" and "bd-docs-nav" in classes:
            self.nav_depth = len(self.open)
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag in {"img", "script"} and attrs.get("src"):
            self.resources.append(attrs["src"])
        if tag == "link" and attrs.get("rel") in {"stylesheet", "preload"}:
            self.resources.append(attrs["href"])
        if tag == "a" and self.nav_depth and attrs.get("href"):
            self.nav_links.append(attrs["href"].split("#")[0])

    def handle_endtag(self, tag):
        if tag in (open_tag for open_tag, _ in self.open):
            while self.open.pop()[0] != tag:
                pass
        if len(self.open) < self.nav_depth:
            self.nav_depth = 0

    def handle_data(self, data):
        kinds = {kind for _, kind in self.open}
        if "code" not in kinds:
            self.text.append(data)
            if "math" not in kinds:
                self.prose.append(data)


def test_pages_load_nothing_from_the_network(course_book):
    pages = sorted(course_book.rglob("*.html"))
    assert len(pages) > 5
    for page in pages:
        remote = [url for url in PageParser(page.read_text()).resources
                  if re.match(r"(https?:)?//", url)]
        assert not remote, f"{page.relative_to(course_book)} loads {remote}"
    assert (course_book / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_no_latex_left_in_the_prose_of_chapter_pages(course_book):
    """``\\frac`` or ``$$`` outside maths means MyST paired the dollars unlike Jupyter."""
    pages = [f"{folder}/{stem}.html" for folder in build.PARTS for stem in chapters(folder)]
    for page in pages:
        prose = "".join(PageParser((course_book / page).read_text()).prose)
        latex = re.search(r"\\[a-zA-Z]+|\$\$", prose)
        assert latex is None, f"{page}: {prose[latex.start() - 60:latex.end() + 60]!r}"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """``dump(page)``: the DOM of a built page after its scripts ran, from headless Chromium."""
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")
    profile = tmp_path_factory.mktemp("chromium")

    def dump(page: Path) -> PageParser:
        result = subprocess.run(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
             page.as_uri()], check=False, capture_output=True, text=True, timeout=180)
        assert result.returncode == 0 and "</html>" in result.stdout, result.stderr[-3000:]
        return PageParser(result.stdout)

    return dump


def assert_images_load(page: PageParser, folder: Path) -> None:
    """Every image of ``page`` (relative to ``folder``) is a valid SVG or a non-empty bitmap."""
    for src in page.images:
        if src.endswith(".svg"):
            assert ElementTree.parse(folder / src).getroot().tag.endswith("svg"), src
            continue
        with Image.open(folder / src) as image:
            assert image.width > 0 and image.height > 0, src
            image.verify()


def test_index_page_lists_every_chapter(chromium, course_book):
    page = chromium(course_book / "index.html")  # redirects to intro.html
    text = " ".join(page.text)
    assert all(heading in text for heading in ("Install and run", "Exercises", "Grading"))
    expected = ([f"notebooks/{stem}.html" for stem in chapters("notebooks")]
                + [f"exercises/{stem}.html" for stem in chapters("exercises")])
    assert [link for link in page.nav_links if link in expected] == expected  # chapter order
    assert "api/tutorlib.functional.html" in page.nav_links
    assert_images_load(page, course_book)


def lesson_with_plot_and_maths(course_book: Path) -> str:
    """The first lesson whose built page has maths and a plot (an image from an output)."""
    for stem in chapters("notebooks"):
        page = PageParser((course_book / "notebooks" / f"{stem}.html").read_text())
        if page.maths and any(src.startswith("../_images/") for src in page.images):
            return stem
    pytest.skip("no lesson in notebooks/ has both a plot and maths yet")


def test_chapter_shows_typeset_maths_and_plots(chromium, course_book):
    stem = lesson_with_plot_and_maths(course_book)
    page = chromium(course_book / "notebooks" / f"{stem}.html")
    text = "".join(page.text)
    raw_maths = [m for m in (r"\(", r"\[", "$$") if m in text]
    assert not raw_maths, f"{stem}: maths left untypeset ({raw_maths})"
    assert page.tags["mjx-container"] > 0, f"{stem}: MathJax did not run"
    plots = [src for src in page.images if src.startswith("../_images/")]
    assert plots, f"{stem}: no plot on the page"
    assert_images_load(page, course_book / "notebooks")
