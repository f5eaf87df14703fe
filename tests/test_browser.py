"""End to end: notebook 03's weight explorer in a real JupyterLab, driven by Debian's Chromium.

Starts JupyterLab on 127.0.0.1 (free port, random token) over a temporary copy of
``notebooks/03_weight_functions.ipynb`` whose ``PROFILE`` is ``$MAILVIZ_BROWSER_PROFILE`` (default
``smoke``: the same cells, trained in seconds; ``quick`` loads the models ``make figures`` cached),
runs every cell through the Run menu, moves the γ slider with the keyboard and checks that the
slider readout, the plot and the share-of-weight text change. Figures the notebook saves go to the
temporary folder, not ``figures/``. A screenshot lands in ``build/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LabServer,
    jupyter_lab,
    run_all_cells,
    wait_all_executed,
    wait_kernel_idle,
)
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from mailviz.paths import build_root, project_root

pytestmark = pytest.mark.browser

NOTEBOOK = "03_weight_functions.ipynb"
RUN_TIMEOUT_S = 240.0


def notebook_copy(folder: Path, profile: str) -> Path:
    """Copy notebook 03 into ``folder`` with ``PROFILE = <profile>`` in its parameters cell."""
    nb = json.loads((project_root() / "notebooks" / NOTEBOOK).read_text())
    params = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "".join(params["source"])
    new, n = re.subn(r'^PROFILE = "[a-z0-9]+"', f'PROFILE = "{profile}"', source, flags=re.M)
    assert n == 1, f"no PROFILE assignment in the parameters cell of {NOTEBOOK}"
    params["source"] = new
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / NOTEBOOK
    target.write_text(json.dumps(nb, indent=1))
    return target


def open_and_run(browser: Browser, lab: LabServer) -> Page:
    """A fresh page with the notebook, every cell run, kernel idle; returns the page."""
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.set_default_timeout(60_000)
    page.goto(lab.page_url(NOTEBOOK))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
    wait_kernel_idle(page, timeout_ms=90_000)
    run_all_cells(page)
    wait_all_executed(page, timeout_s=RUN_TIMEOUT_S)
    return page


def test_weight_explorer_slider_in_jupyterlab(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            "chromium not installed: apt-get install -y chromium (make test does this as root)"
        )
    started = time.monotonic()
    profile = os.environ.get("MAILVIZ_BROWSER_PROFILE", "smoke")
    lab_root = tmp_path / "lab"
    notebook_copy(lab_root, profile)
    env = {"MAILVIZ_FIGURES": str(tmp_path / "figures"), "MAILVIZ_THREADS": "1"}
    shots = build_root() / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)

    with jupyter_lab(lab_root, tmp_path, env_overrides=env) as lab, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            try:
                page = open_and_run(browser, lab)
            except (TimeoutError, PlaywrightError) as err:  # one retry on a flaky start
                print(f"retrying once after: {str(err).splitlines()[0]}")
                for old in browser.contexts:
                    old.close()
                page = open_and_run(browser, lab)
            print(f"notebook ran in the browser after {time.monotonic() - started:.1f} s")

            explorer = page.locator(".mailviz-weight-explorer")
            expect(explorer).to_have_count(1)
            explorer.scroll_into_view_if_needed()
            readout = explorer.locator(".mailviz-gamma .widget-readout")
            plot = explorer.locator("img.mailviz-plot")
            share = explorer.locator(".mailviz-share-text")
            expect(readout).to_have_text("10.0")
            expect(share).to_contain_text("Share of weight mass on misclassified examples")
            src_before, share_before = plot.get_attribute("src"), share.inner_text()
            assert src_before, "the explorer's plot has no image"

            handle = explorer.locator(".mailviz-gamma .noUi-handle")
            handle.focus()
            for _ in range(12):  # γ: 10.0 → 4.0 in steps of 0.5
                handle.press("ArrowLeft")
            expect(readout).to_have_text("4.0")
            expect(plot).not_to_have_attribute("src", src_before)
            expect(share).not_to_have_text(share_before)
            wait_kernel_idle(page, timeout_ms=30_000)
            print(f"share text: {share_before!r} -> {share.inner_text()!r}")

            shot = shots / "03_weight_functions_explorer.png"
            explorer.screenshot(path=str(shot))
            page.screenshot(path=str(shots / "03_weight_functions_page.png"))
            assert shot.stat().st_size > 0
        finally:
            browser.close()
    print(f"browser e2e test took {time.monotonic() - started:.1f} s (profile {profile})")
