"""The student's path in a real JupyterLab and a real browser (Playwright, system Chromium).

Start the lab with the course's settings, open exercises/ch01-basics.ipynb, run it: the first
exercise's check shows the grey "not implemented yet" card. Type the solution's function into
the exercise cell, run it and its check cell again: the green card with the points. Set
TUTORLIB_SCREENSHOT=docs/img/lab-check-passed.png to save the final screen there.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXERCISE = ROOT / "exercises" / "ch01-basics.ipynb"
SOLUTION = ROOT / "solutions" / "ch01-basics.ipynb"
TOKEN = "tutorlib-lab-test"


def first_exercise() -> tuple[str, str]:
    """(name, solution source) of the first function exercise of chapter 1."""
    for cell in json.loads(EXERCISE.read_text())["cells"]:
        source = "".join(cell["source"])
        match = re.match(r"def (\w+)\(", source)
        if cell["cell_type"] == "code" and match and "NotImplementedError" in source:
            name = match.group(1)
            break
    for cell in json.loads(SOLUTION.read_text())["cells"]:
        source = "".join(cell["source"])
        if source.startswith(f"def {name}("):
            lines = [ln for ln in source.splitlines() if "### " not in ln]
            return name, "\n".join(lines)
    raise AssertionError(f"no solution of {name}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free port serving a copy of the exercise; yields its URL."""
    pytest.importorskip("playwright")
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("lab")
    shutil.copy(EXERCISE, folder)
    # Every cell in the page (JupyterLab renders only the visible ones by default).
    tracker = folder / ".user-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
               "--ip=127.0.0.1", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={folder}",
               f"--LabApp.app_settings_dir={ROOT / 'lab' / 'settings'}",
               f"--LabApp.user_settings_dir={folder / '.user-settings'}",
               "--ServerApp.open_browser=False"]
    if os.getuid() == 0:
        command.append("--allow-root")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(folder / ".runtime"))
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start in 120 s")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture()
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        try:
            yield page
        finally:
            browser.close()


def run_all(page) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()


def test_a_student_sees_grey_then_green(lab, page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    name, solution = first_exercise()
    page.goto(f"{lab}/lab/tree/{EXERCISE.name}?token={TOKEN}")
    page.locator(".jp-Notebook").wait_for()
    try:   # a fresh lab may ask which kernel to start (when the session does not say)
        page.get_by_role("button", name="Select", exact=True).click(timeout=10_000)
    except PlaywrightTimeout:
        pass
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
    assert page.get_by_text("official Jupyter news").count() == 0   # no news pop-up
    run_all(page)
    check_cell = page.locator(".jp-CodeCell", has_text=f'check("ch01.{name}"').first
    grey = check_cell.locator(".jp-OutputArea-output", has_text="not implemented")
    grey.wait_for()
    assert "not implemented yet" in grey.inner_text()
    assert "rgb(243, 243, 243)" in grey.locator("div").first.evaluate(
        "e => getComputedStyle(e).backgroundColor")

    exercise_cell = page.locator(".jp-CodeCell", has_text=f"def {name}(").first
    exercise_cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(solution)
    page.keyboard.press("Shift+Enter")      # runs the definition, moves to the check cell
    page.keyboard.press("Shift+Enter")      # runs the check again
    green = check_cell.locator(".jp-OutputArea-output", has_text="passed")
    green.wait_for()
    points = re.search(r"(\d+)/(\d+) points", green.inner_text())
    assert points and points.group(1) == points.group(2) != "0"
    assert "rgb(237, 247, 238)" in green.locator("div").first.evaluate(
        "e => getComputedStyle(e).backgroundColor")
    green.scroll_into_view_if_needed()
    shot = os.environ.get("TUTORLIB_SCREENSHOT")
    if shot:
        page.screenshot(path=str(ROOT / shot))
