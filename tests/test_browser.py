"""End to end: notebook 03's widgets in a real JupyterLab, driven by Debian's Chromium.

Two parts. **Widgets**: starts JupyterLab on 127.0.0.1 (free port, random token) over a
temporary copy of ``notebooks/03_weight_functions.ipynb`` whose ``PROFILE`` is
``$MAILVIZ_BROWSER_PROFILE`` (default ``smoke``: the same cells, trained in seconds; ``quick``
loads the models ``make figures`` cached),
runs every cell through the Run menu, moves the γ slider with the keyboard and checks that the
slider readout, the plot and the share-of-weight text change, then checks the layout a lecturer
saw broken: the PGD playground's LM-PGD checkbox label is whole (not truncated), its table's header
cells stand apart, the explorer's image lies inside its output area. Figures the notebook saves go
to the temporary folder, not ``figures/``. Screenshots land in ``build/screenshots/``.

**Saving leaves git clean**: opens untouched copies of lessons (``$MAILVIZ_BROWSER_SAVE_LESSONS``,
comma-separated names or ``all``; default 00 and 03) without running anything, waits for the
kernel, saves (Ctrl+S) and compares the bytes with the committed file, and with a copy normalised by
:func:`mailviz.lesson_files.normalise_metadata`. JupyterLab fills ``metadata.language_info`` from
the kernel, whose ``version`` is the kernel Python's patch release (``3.11.7``): the committed
files match only a kernel of the patch release they were normalised with.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LabServer,
    jupyter_lab,
    run_all_cells,
    save_notebook,
    shutdown_kernels,
    wait_all_executed,
    wait_kernel_idle,
)
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from mailviz.lesson_files import normalise_metadata, same_minor
from mailviz.paths import build_root, project_root
from mailviz.widgets.playground import LM_LABEL

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


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            "chromium not installed: apt-get install -y chromium (make test does this as root)"
        )


def test_weight_explorer_slider_in_jupyterlab(tmp_path: Path) -> None:
    _need_chromium()
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
            check_explorer_image_inside_output(explorer)
            check_playground_layout(page, shots)
        finally:
            browser.close()
    print(f"browser e2e test took {time.monotonic() - started:.1f} s (profile {profile})")


# --------------------------------------------------------------------------------------------
# Layout checks in the rendered page
# --------------------------------------------------------------------------------------------

#: The label element of a checkbox: text, and whether the text fits (no clipped overflow).
LABEL_JS = """(box) => {
    const label = box.querySelector('.widget-label-basic') || box;
    const range = document.createRange();
    range.selectNodeContents(label);
    const t = range.getBoundingClientRect(), l = label.getBoundingClientRect(),
          b = box.getBoundingClientRect();
    return {text: label.textContent.trim(), label: [label.scrollWidth, label.clientWidth],
            box: [box.scrollWidth, box.clientWidth], text_right: t.right,
            label_right: l.right, box_right: b.right};
}"""
#: Each header cell's box and the box of its text (a Range over its contents), in page pixels.
HEADERS_JS = """(table) => Array.from(table.querySelectorAll('th')).map((th) => {
    const range = document.createRange();
    range.selectNodeContents(th);
    const t = range.getBoundingClientRect(), c = th.getBoundingClientRect();
    return {text: th.textContent, cell: [c.left, c.right], text_box: [t.left, t.right]};
})"""
#: The image's box and that of the output area holding it.
IMAGE_JS = """(img) => {
    const area = img.closest('.jp-OutputArea-output') || img.closest('.jp-OutputArea');
    const i = img.getBoundingClientRect(), a = area.getBoundingClientRect();
    return {img: [i.left, i.top, i.right, i.bottom], area: [a.left, a.top, a.right, a.bottom],
            natural: [img.naturalWidth, img.naturalHeight], scroll: [area.scrollWidth,
            area.clientWidth], complete: img.complete};
}"""


def check_explorer_image_inside_output(explorer: Locator) -> None:
    """The explorer's PNG is loaded, unscaled and lies wholly inside its output area."""
    geometry = explorer.locator("img.mailviz-plot").evaluate(IMAGE_JS)
    print(f"explorer image geometry: {geometry}")
    (il, it, ir, ib), (al, at, ar, ab) = geometry["img"], geometry["area"]
    assert geometry["complete"] and geometry["natural"][0] > 0, "the plot image did not load"
    assert al - 0.5 <= il and ir <= ar + 0.5 and at - 0.5 <= it and ib <= ab + 0.5, (
        f"the plot image {geometry['img']} leaves its output area {geometry['area']}"
    )
    assert ir - il >= geometry["natural"][0] - 1, "the plot is squeezed below its natural width"
    scroll_width, client_width = geometry["scroll"]
    assert scroll_width <= client_width, "the output area scrolls sideways: the plot is cut"


def check_playground_layout(page: Page, shots: Path) -> None:
    """The LM-PGD label is whole; the κ/PM table's header cells and their texts stand apart."""
    playground = page.locator(".mailviz-pgd-playground")
    expect(playground).to_have_count(1)
    playground.scroll_into_view_if_needed()
    label = playground.locator(".mailviz-lm").evaluate(LABEL_JS)
    print(f"LM-PGD checkbox label: {label}")
    assert label["text"] == LM_LABEL, f"checkbox label reads {label['text']!r}"
    for part in ("label", "box"):  # an ellipsis-cut label scrolls: scrollWidth > clientWidth
        scroll_width, client_width = label[part]
        assert scroll_width <= client_width, f"checkbox {part} truncated: {label[part]}"
    assert label["text_right"] <= min(label["label_right"], label["box_right"]) + 0.5, label
    table = playground.locator("table.mailviz-table")
    expect(table).to_have_count(1)
    headers = table.evaluate(HEADERS_JS)
    texts = [h["text"] for h in headers]
    assert texts == ["point", "label", "κ", "PM clean", "PM adv", "correct after attack"], texts
    for left, right in zip(headers, headers[1:], strict=False):
        assert left["cell"][1] <= right["cell"][0] + 0.5, f"header cells overlap: {left} {right}"
        gap = right["text_box"][0] - left["text_box"][1]
        assert gap >= 8.0, f"headers {left['text']!r} and {right['text']!r} {gap:.1f} px apart"
    inside = table.evaluate(
        "(t) => { const a = t.closest('.jp-OutputArea-output').getBoundingClientRect(),"
        " b = t.getBoundingClientRect(); return [b.left, b.right, a.left, a.right]; }"
    )
    assert inside[2] - 0.5 <= inside[0] and inside[1] <= inside[3] + 0.5, f"table cut: {inside}"
    playground.screenshot(path=str(shots / "03_weight_functions_playground.png"))


# --------------------------------------------------------------------------------------------
# Opening and saving a lesson changes no byte
# --------------------------------------------------------------------------------------------


def lessons_to_save() -> list[str]:
    """``$MAILVIZ_BROWSER_SAVE_LESSONS``: names, ``all``, or the default 00 and 03."""
    default = "00_tour.ipynb,03_weight_functions.ipynb"
    chosen = os.environ.get("MAILVIZ_BROWSER_SAVE_LESSONS", default)
    every = sorted(p.name for p in (project_root() / "notebooks").glob("*.ipynb"))
    names = every if chosen == "all" else [n.strip() for n in chosen.split(",") if n.strip()]
    unknown = sorted(set(names) - set(every))
    if unknown:
        raise ValueError(f"MAILVIZ_BROWSER_SAVE_LESSONS names no notebook {unknown}; use {every}")
    return names


SaveLab = tuple[LabServer, Browser, Path]


@pytest.fixture(scope="module")
def save_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaveLab]:
    """One JupyterLab (over an empty folder the tests fill) and one Chromium for the save tests."""
    _need_chromium()
    work = tmp_path_factory.mktemp("save_lab")
    (work / "lab").mkdir()
    env = {"MAILVIZ_FIGURES": str(work / "figures"), "MAILVIZ_THREADS": "1"}
    with jupyter_lab(work / "lab", work, env_overrides=env) as lab, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield lab, browser, work / "lab"
        finally:
            browser.close()


def open_and_save(lab: LabServer, browser: Browser, root: Path, relative: str) -> str:
    """Open ``root/relative`` (``root``: the lab's folder), wait for its kernel, save it.

    Returns the text JupyterLab saved. Nothing runs: the kernel only starts and reports its
    ``language_info``, which JupyterLab copies into the notebook's metadata.
    """
    path = root / relative
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    try:
        page.set_default_timeout(60_000)
        # reset: no notebook of an earlier test restored from the server-side workspace
        page.goto(lab.page_url(relative) + "&reset")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
        wait_kernel_idle(page, timeout_ms=90_000)
        save_notebook(page, path)
    finally:
        page.close()
        shutdown_kernels(lab)  # one kernel at a time on a small machine
    return path.read_text(encoding="utf-8")


def _diff(before: str, after: str, name: str) -> str:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), f"committed/{name}",
                                 f"saved by JupyterLab/{name}", lineterm="", n=1)  # fmt: skip
    return "\n".join(list(lines)[:60])


def _save_round_trip(save_lab: SaveLab, folder: str, normalise: bool) -> None:
    """Copy each lesson into ``folder`` (normalised or as committed), open + save, compare."""
    lab, browser, lab_root = save_lab
    root = lab_root / folder
    root.mkdir(parents=True, exist_ok=True)
    changed = {}
    for name in lessons_to_save():
        copy = root / name
        shutil.copyfile(project_root() / "notebooks" / name, copy)
        if normalise:
            normalise_metadata(copy)
        before = copy.read_text(encoding="utf-8")
        started = time.monotonic()
        after = open_and_save(lab, browser, lab_root, f"{folder}/{name}")
        print(f"{folder}/{name}: opened and saved in {time.monotonic() - started:.1f} s, "
              f"{'unchanged' if after == before else 'CHANGED'}")  # fmt: skip
        if after != before and not normalise:
            after = _committed_patch_release(before, after)
        if after != before:
            changed[name] = _diff(before, after, name)
    assert not changed, (
        "JupyterLab rewrote "
        + ", ".join(changed)
        + " on open + save (run `.venv/bin/python -m mailviz.lesson_files notebooks/*.ipynb`):\n"
        + "\n".join(changed.values())
    )


def _committed_patch_release(before: str, after: str) -> str:
    """``after`` with the committed ``language_info.version`` put back when only the kernel's
    patch release differs (a 3.11.9 kernel writes 3.11.9 over the committed 3.11.7): that line
    is the running interpreter's, every other byte must survive open + save."""
    old = json.loads(before)["metadata"].get("language_info", {}).get("version", "")
    new = json.loads(after)["metadata"].get("language_info", {}).get("version", "")
    if old != new and same_minor(old, new):
        return after.replace(f'"version": "{new}"', f'"version": "{old}"', 1)
    return after


def test_jupyterlab_saves_a_normalised_lesson_byte_for_byte(save_lab: SaveLab) -> None:
    """The normaliser writes what JupyterLab writes: a normalised copy survives open + save."""
    _save_round_trip(save_lab, "normalised", normalise=True)


def test_opening_a_committed_lesson_leaves_git_clean(save_lab: SaveLab) -> None:
    """Open + save an untouched copy of the committed file: the bytes must not change.

    Fails when a lesson is not normalised (``python -m mailviz.lesson_files notebooks/*.ipynb``).
    A kernel of another Python 3.11 patch release rewrites ``language_info.version`` on save:
    that one line is compared modulo the patch release, every other byte exactly.
    """
    _save_round_trip(save_lab, "committed", normalise=False)
