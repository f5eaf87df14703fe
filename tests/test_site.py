"""The course site (``make site``, :mod:`mailviz.site`).

Unit tests run the lesson transforms on small synthetic notebooks (nbformat, ``tmp_path``); one
test builds a two-lesson site with Sphinx. The browser test opens the real site in
``build/site`` in Debian's Chromium, served from 127.0.0.1, and checks every page: HTTP 200, no
console errors, every image decoded, MathJax output without errors, internal links and anchors,
no request to another host, solutions folded until clicked. Screenshots go to
``build/screenshots/site/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, Route, sync_playwright

from mailviz.cli import main
from mailviz.figures import list_notebooks
from mailviz.paths import build_root, project_root
from mailviz.site import (
    WIDGET_SNAPSHOTS,
    SiteError,
    build_site,
    check_executed,
    earlier_lessons,
    landing_page,
    lesson_title,
    stage_sources,
    transform_lesson,
)

WIDGET = "application/vnd.jupyter.widget-view+json"
PNG = bytes.fromhex(  # a valid 1x1 PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f80f0000010100005a4d6e0e0000000049454e44ae426082"
)


# ------------------------------------------------------------------------------------------------
# synthetic lessons
# ------------------------------------------------------------------------------------------------


def _widget_output(text: str) -> dict:
    return nbformat.v4.new_output(
        "display_data", data={WIDGET: {"model_id": "abc", "version_major": 2,
                                       "version_minor": 0}, "text/plain": text})  # fmt: skip


def lesson(stem: str, *, widgets: bool = False, solutions: bool = False,
           executed: bool = True) -> nbformat.NotebookNode:
    """A small executed lesson: heading, parameters + injected-parameters cells, optionally a
    widget cell with a saved snapshot, a progress-bar widget and solution cells."""
    v4 = nbformat.v4
    nb = v4.new_notebook()
    number = stem[:2]
    cells = [
        v4.new_markdown_cell(f"# {number} — Lesson {number} title with $x^2$\n\nAs in notebook "
                             "00 and lessons 01–02; notebook 09 comes later."),
        v4.new_code_cell('PROFILE = "quick"', metadata={"tags": ["parameters"]}),
        v4.new_code_cell('PROFILE = "smoke"', metadata={"tags": ["injected-parameters"]}),
        v4.new_code_cell("x = 1\nx", outputs=[v4.new_output(
            "execute_result", data={"text/plain": "1"}, execution_count=3)]),  # fmt: skip
    ]
    if widgets:
        explorer = v4.new_code_cell("explorer = widgets.weight_explorer(**margins)\nexplorer",
                                    outputs=[_widget_output("WeightExplorer(children=...)")])
        progress = v4.new_code_cell("table = slow()", outputs=[
            _widget_output("runs: 0%| | 0/12"),
            v4.new_output("stream", name="stdout", text="12 runs\n")])  # fmt: skip
        cells += [explorer, progress]
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    if solutions:
        cells += [
            v4.new_markdown_cell("**Exercise 1.** Compute $y$."),
            v4.new_code_cell("y = 2 * x\nprint(y)", metadata={"tags": ["solution"]},
                             outputs=[v4.new_output("stream", name="stdout", text="2\n")]),
            v4.new_markdown_cell("Because $y = 2x$.\n\n:::{note}\ninside\n:::",
                                 metadata={"tags": ["solution"]}),
        ]
    nb.cells = cells
    if executed:
        nb.metadata["papermill"] = {"exception": None, "parameters": {"PROFILE": "smoke"}}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def write_lessons(folder: Path, notebooks: dict[str, nbformat.NotebookNode]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, nb in notebooks.items():
        nbformat.write(nb, str(folder / f"{stem}.ipynb"))


@pytest.fixture()
def snapshot_figures(tmp_path: Path) -> Path:
    figures = tmp_path / "figures"
    (figures / "03_weight_functions").mkdir(parents=True)
    (figures / "03_weight_functions" / "explorer_sigmoid.png").write_bytes(PNG)
    return figures


# ------------------------------------------------------------------------------------------------
# transforms
# ------------------------------------------------------------------------------------------------


def test_widgets_are_removed_and_the_saved_snapshot_takes_their_place(
        snapshot_figures: Path) -> None:  # fmt: skip
    nb = lesson("03_weight_functions", widgets=True)
    out, files = transform_lesson(nb, "03_weight_functions", snapshot_figures)

    assert "widgets" not in out.metadata
    assert not any(WIDGET in o.get("data", {}) for c in out.cells for o in c.get("outputs", []))
    sources = [c.source for c in out.cells]
    at = next(i for i, s in enumerate(sources) if "weight_explorer(" in s)
    snapshot = out.cells[at + 1]
    assert snapshot.cell_type == "markdown"
    assert "{figure} _figures/03_weight_functions/explorer_sigmoid.png" in snapshot.source
    assert "saved snapshot of the interactive weight-function explorer" in snapshot.source.lower()
    assert files == [snapshot_figures / "03_weight_functions" / "explorer_sigmoid.png"]
    # the progress bar is dropped, its other output kept, and no figure follows it
    progress = next(c for c in out.cells if c.source == "table = slow()")
    assert [o.output_type for o in progress.outputs] == ["stream"]
    assert sum("{figure}" in s for s in (c.source for c in out.cells)) == 1
    # the input notebook is untouched
    assert "widgets" in nb.metadata and WIDGET in nb.cells[4].outputs[0]["data"]


def test_the_snapshot_table_matches_the_lessons() -> None:
    """Each widget of WIDGET_SNAPSHOTS is displayed by exactly one code cell of its lesson, and
    its figures are committed (a renamed cell or figure would silently lose the snapshot)."""
    for stem, snaps in WIDGET_SNAPSHOTS.items():
        nb = nbformat.read(str(project_root() / "notebooks" / f"{stem}.ipynb"), as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        for snap in snaps:
            hits = [c for c in code if re.search(snap.cell_pattern, c, flags=re.M)]
            assert len(hits) == 1, f"{stem}: {snap.cell_pattern!r} matches {len(hits)} cells"
            for name in snap.figures:
                assert (project_root() / "figures" / stem / name).is_file(), name


def test_a_widget_of_another_lesson_gets_no_snapshot(snapshot_figures: Path) -> None:
    out, files = transform_lesson(lesson("05_other", widgets=True), "05_other", snapshot_figures)
    assert files == [] and not any("{figure}" in c.source for c in out.cells)
    assert not any(WIDGET in o.get("data", {}) for c in out.cells for o in c.get("outputs", []))


def test_a_missing_snapshot_figure_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match=r"explorer_sigmoid\.png .* run `make figures` first"):
        transform_lesson(lesson("03_weight_functions", widgets=True), "03_weight_functions",
                         tmp_path / "no-figures")


def test_injected_parameters_are_dropped_and_the_defaults_kept(tmp_path: Path) -> None:
    out, _ = transform_lesson(lesson("01_a"), "01_a", tmp_path)
    tags = [c.metadata.get("tags", []) for c in out.cells]
    assert ["injected-parameters"] not in tags and ["parameters"] in tags
    assert not any('PROFILE = "smoke"' in c.source for c in out.cells)
    at = tags.index(["parameters"])
    assert out.cells[at + 1].source == (
        "*This page shows the lesson as executed with* `PROFILE = 'smoke'`.")


def test_solutions_are_collapsed(tmp_path: Path) -> None:
    nb = lesson("09_b", solutions=True)
    out, _ = transform_lesson(nb, "09_b", tmp_path)
    code = next(c for c in out.cells if c.source.startswith("y = 2 * x"))
    assert "hide-cell" in code.metadata["tags"] and "solution" in code.metadata["tags"]
    assert code.metadata["mystnb"]["code_prompt_show"] == "Show the solution"
    assert code.outputs[0]["text"] == "2\n"  # the output stays, folded with the code
    text = next(c for c in out.cells if "Because" in c.source)
    # the note inside uses ::: so the dropdown needs a longer fence
    assert text.source.startswith("::::{admonition} Solution\n:class: dropdown\n\n")
    assert text.source.endswith("\n::::")
    assert "**Exercise 1.** Compute $y$." in [c.source for c in out.cells]  # not a solution
    assert "mystnb" not in nb.cells[5].metadata  # input untouched


def test_titles_and_earlier_lessons(tmp_path: Path) -> None:
    nb = lesson("05_c")
    assert lesson_title(nb, "05_c") == "Lesson 05 title with $x^2$"
    assert earlier_lessons(nb, "05_c") == ["00", "01", "02"]  # 09 is later; 01–02 is a range
    nb.cells = [c for c in nb.cells if c.cell_type == "code"]
    with pytest.raises(SiteError, match="no markdown heading"):
        lesson_title(nb, "05_c")


def test_landing_page_lists_the_path_and_the_toctree() -> None:
    page = landing_page("# T\n<!-- learning-path -->\n<!-- toctree -->\n",
                        [("00_a", "Tour", []), ("01_b", "Paths", ["00"])])
    assert "- **00** [Tour](00_a.ipynb)\n- **01** [Paths](01_b.ipynb) *(builds on 00)*" in page
    assert "```{toctree}" in page and "\n00_a\n01_b\n" in page and "\nauthors_code\n" in page
    with pytest.raises(SiteError, match="marker"):
        landing_page("# no markers", [])


# ------------------------------------------------------------------------------------------------
# refusing to build from missing or failed lessons
# ------------------------------------------------------------------------------------------------


def test_missing_notebooks_folder(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match=r"does not exist — run `make figures` first$"):
        check_executed(tmp_path / "nope", ["00_a"])


def test_incomplete_notebooks_folder(tmp_path: Path) -> None:
    write_lessons(tmp_path, {"00_a": lesson("00_a")})
    with pytest.raises(SiteError, match=r"lacks 1 of 2 executed lessons \(01_b\)"):
        check_executed(tmp_path, ["00_a", "01_b"])


def test_unexecuted_or_failed_lessons(tmp_path: Path) -> None:
    failed = lesson("01_b")
    failed.metadata["papermill"]["exception"] = True
    write_lessons(tmp_path, {"00_a": lesson("00_a", executed=False), "01_b": failed})
    with pytest.raises(SiteError, match="00_a.ipynb was not executed by papermill or nbval"):
        check_executed(tmp_path, ["00_a"])
    with pytest.raises(SiteError, match="01_b.ipynb stopped on an error"):
        check_executed(tmp_path, ["01_b"])
    # nbval's run as mailviz.nbval_capture records it: accepted, unless a cell failed
    by_nbval = lesson("03_d", executed=False)
    by_nbval.metadata["mailviz"] = {"runner": "nbval", "failed": False}
    write_lessons(tmp_path, {"03_d": by_nbval})
    assert check_executed(tmp_path, ["03_d"]) == [tmp_path / "03_d.ipynb"]
    by_nbval.metadata["mailviz"]["failed"] = True
    write_lessons(tmp_path, {"03_d": by_nbval})
    with pytest.raises(SiteError, match="03_d.ipynb stopped on an error"):
        check_executed(tmp_path, ["03_d"])
    (tmp_path / "02_c.ipynb").write_text("{not json")
    with pytest.raises(SiteError, match="02_c.ipynb is not a readable notebook"):
        check_executed(tmp_path, ["02_c"])


def test_cli_refuses_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["site", "--notebooks", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("mailviz: error: ") and "run `make figures` first" in err


# ------------------------------------------------------------------------------------------------
# staging and a small real build
# ------------------------------------------------------------------------------------------------


def _site(tmp_path: Path, figures: Path) -> tuple[Path, Path, Path]:
    executed = tmp_path / "executed"
    write_lessons(executed, {"00_a": lesson("00_a"),
                             "03_weight_functions": lesson("03_weight_functions", widgets=True,
                                                           solutions=True)})  # fmt: skip
    return executed, tmp_path / "src", tmp_path / "site"


def test_staging_writes_the_sources_and_removes_stale_ones(
        tmp_path: Path, snapshot_figures: Path) -> None:  # fmt: skip
    executed, src, _ = _site(tmp_path, snapshot_figures)
    (src / "old_lesson.ipynb").parent.mkdir(parents=True)
    (src / "old_lesson.ipynb").write_text("{}")
    paths = check_executed(executed, ["00_a", "03_weight_functions"])
    stage_sources(paths, src, snapshot_figures, project_root() / "docs")
    assert not (src / "old_lesson.ipynb").exists()
    assert (src / "_figures/03_weight_functions/explorer_sigmoid.png").read_bytes() == PNG
    index = (src / "index.md").read_text()
    assert "<!--" not in index and "**03** [Lesson 03 title with $x^2$](03_weight_functions.ipynb)"\
        in index  # fmt: skip
    assert (src / "conf.py").is_file() and (src / "authors_code.md").is_file()
    staged = [src / "00_a.ipynb", src / "03_weight_functions.ipynb", src / "index.md"]
    before = [f.stat().st_mtime_ns for f in staged]
    stage_sources(paths, src, snapshot_figures, project_root() / "docs")
    # unchanged sources are not rewritten (Sphinx then skips them): no random cell ids
    assert [f.stat().st_mtime_ns for f in staged] == before


def test_authors_code_page_stays_inside_the_repository() -> None:
    text = (project_root() / "docs" / "authors_code.md").read_text()
    assert text.startswith("# What the authors' code does")
    assert "REFERENCE" not in text and "/work/" not in text and "shared/" not in text


def test_a_small_site_builds_offline_with_folded_solutions(
    tmp_path: Path, snapshot_figures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    executed, src, out = _site(tmp_path, snapshot_figures)
    index = build_site(executed, out, snapshot_figures, lessons=["00_a", "03_weight_functions"],
                       src_dir=src)
    assert index == out / "index.html" and index.is_file()
    assert re.search(r"site: 4 pages \(2 lessons\) in .*, [\d.]+ s", capsys.readouterr().out)
    page = (out / "03_weight_functions.html").read_text()
    assert re.search(r'<div class="cell tag_solution tag_hide-cell[^"]*">\s*<details', page)
    assert "Show the solution" in page
    assert re.search(r'<div class="dropdown admonition">\s*<p class="admonition-title">Solution',
                     page)
    assert 'src="_images/explorer_sigmoid.png"' in page and (out / "_images").is_dir()
    assert "WeightExplorer(" not in page and "0/12" not in page
    assert (out / "_static/mathjax/tex-chtml.js").is_file()
    for html in out.glob("*.html"):
        remote = re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="(?:https?:)?//[^"]*"',
                            html.read_text())
        assert not remote, f"{html.name} loads {remote}"


# ------------------------------------------------------------------------------------------------
# the real site in a real browser
# ------------------------------------------------------------------------------------------------

SITE_HINT = "run `make site` first"


@pytest.fixture()
def built_site() -> Path:
    site = build_root() / "site"
    if not (site / "index.html").is_file():
        if os.environ.get("MAILVIZ_REQUIRE_SITE") == "1":
            pytest.fail(f"no site in {site}: {SITE_HINT}")
        pytest.skip(f"no site in {site}: {SITE_HINT}")
    return site


@pytest.fixture()
def local_server(built_site: Path) -> Iterator[str]:
    """``built_site`` served by ``http.server`` on 127.0.0.1 (free port) in a thread."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep the test output readable
            pass

    handler = functools.partial(Quiet, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


#: every id on the page (and old-style ``<a name>``) and every link, resolved to absolute URLs
PAGE_JS = """() => ({
  ids: [...document.querySelectorAll('[id]')].map(e => e.id)
        .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
})"""
#: each image loaded eagerly and decoded: [src, naturalWidth]
IMAGES_JS = """async () => Promise.all([...document.images].map(async img => {
  img.loading = 'eager';
  try { await img.decode(); } catch (e) { /* naturalWidth stays 0 */ }
  return [img.currentSrc || img.src, img.naturalWidth];
}))"""
#: after MathJax's first typeset: how many formulas it rendered and how many errors it produced
MATH_JS = """async () => {
  await window.MathJax.startup.promise;
  return {rendered: document.querySelectorAll('mjx-container').length,
          errors: [...document.querySelectorAll('mjx-merror, merror')].map(e => e.textContent),
          raw: [...document.querySelectorAll('span.math, div.math')]
               .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent)};
}"""


@dataclass
class Crawl:
    """What the browser saw: per page its ids and links; problems found on the way."""

    base: str
    ids: dict[str, set[str]] = field(default_factory=dict)
    links: dict[str, list[str]] = field(default_factory=dict)
    math: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def local_path(self, url: str) -> str | None:
        """``/page.html`` for a URL of this site (``/`` is ``/index.html``), else ``None``."""
        parts = urllib.parse.urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.base:
            return None
        path = urllib.parse.unquote(parts.path)
        return path + "index.html" if path.endswith("/") else path


def _visit(page: Page, crawl: Crawl, path: str) -> None:
    """Open ``path``, record its ids and links, check status, images and math."""
    response = page.goto(crawl.base + path, wait_until="load")
    if response is None or response.status != 200:
        crawl.problems.append(f"{path}: HTTP {response.status if response else 'no response'}")
        return
    seen = page.evaluate(PAGE_JS)
    crawl.ids[path] = set(seen["ids"])
    crawl.links[path] = seen["links"]
    for src, width in page.evaluate(IMAGES_JS):
        if width <= 0:
            crawl.problems.append(f"{path}: image {src} did not load (naturalWidth 0)")
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax && window.MathJax.startup"
                               " && window.MathJax.startup.promise", timeout=30_000)
        math = page.evaluate(MATH_JS)
        crawl.math[path] = math["rendered"]
        if math["errors"] or math["raw"] or not math["rendered"]:
            crawl.problems.append(f"{path}: MathJax rendered {math['rendered']} formulas, "
                                  f"errors {math['errors'][:3]}, left as TeX {math['raw'][:3]}")


def _check_links(crawl: Crawl, site: Path) -> None:
    """Every link to this site names an existing file, and its #anchor exists on that page."""
    for source, links in crawl.links.items():
        for url in links:
            path = crawl.local_path(url)
            if path is None:
                continue
            if not (site / path.lstrip("/")).is_file():
                crawl.problems.append(f"{source}: broken link {url}")
                continue
            anchor = urllib.parse.unquote(urllib.parse.urlsplit(url).fragment)
            if anchor and path.endswith(".html") and anchor not in crawl.ids.get(path, set()):
                crawl.problems.append(f"{source}: link {url}: no #{anchor} on {path}")


def _crawl(page: Page, crawl: Crawl, site: Path) -> None:
    """Every top-level page, then every local HTML page they link to (breadth first)."""
    queue = [f"/{p.name}" for p in sorted(site.glob("*.html"))]
    while queue:
        path = queue.pop(0)
        if path in crawl.ids or any(path.startswith(f"/{p}") for p in ("_static/", "_images/")):
            continue
        _visit(page, crawl, path)
        for url in crawl.links.get(path, []):
            target = crawl.local_path(url)
            if target and target.endswith(".html") and (site / target.lstrip("/")).is_file():
                queue.append(target)


def _check_solution(page: Page, crawl: Crawl, site: Path, shots: Path) -> str:
    """Find a folded solution: hidden before the click, visible after; returns its page."""
    for path in sorted(crawl.ids):
        html = (site / path.lstrip("/")).read_text()
        if "tag_solution" in html or 'dropdown admonition' in html:
            break
    else:
        raise AssertionError("no page of the site has a solution (cell tagged `solution`)")
    page.goto(crawl.base + path, wait_until="load")
    code = page.locator("div.cell.tag_solution").first
    if code.count():
        body = code.locator(".cell_input")
        assert body.is_hidden(), f"{path}: a solution's code is visible before a click"
        code.locator("summary").click()
        body.wait_for(state="visible", timeout=5_000)
        code.screenshot(path=str(shots / "solution_open.png"))
    text = page.locator("div.dropdown.admonition").first
    if text.count():
        body = text.locator("p:not(.admonition-title)").first
        assert body.is_hidden(), f"{path}: a solution's text is visible before a click"
        text.locator(".admonition-title").click()
        body.wait_for(state="visible", timeout=5_000)
        if not code.count():
            text.screenshot(path=str(shots / "solution_open.png"))
    return path


@pytest.mark.browser
def test_site_in_chromium(built_site: Path, local_server: str) -> None:
    from browser_support import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(
            "chromium not installed: apt-get install -y chromium (make test does this as root)"
        )
    started = time.monotonic()
    shots = build_root() / "screenshots" / "site"
    shots.mkdir(parents=True, exist_ok=True)
    crawl = Crawl(local_server)
    console: list[str] = []

    def route(request_route: Route) -> None:
        url = request_route.request.url
        if url.startswith(("data:", "blob:")) or url.startswith(local_server + "/"):
            request_route.continue_()
        else:
            crawl.outside.append(url)
            request_route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", route)
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.on("console", lambda m: console.append(f"{page.url}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(f"{page.url}: {e}"))
            _crawl(page, crawl, built_site)
            _check_links(crawl, built_site)
            page.goto(f"{local_server}/index.html", wait_until="load")
            page.screenshot(path=str(shots / "landing.png"), full_page=True)
            lesson = next(p for p in sorted(crawl.ids) if p.startswith("/01_"))
            page.goto(local_server + lesson, wait_until="load")
            page.screenshot(path=str(shots / "lesson_01.png"))
            solution_page = _check_solution(page, crawl, built_site, shots)
        finally:
            browser.close()

    assert not crawl.outside, f"requests left 127.0.0.1: {sorted(set(crawl.outside))[:10]}"
    assert not console, f"console errors: {console[:10]}"
    assert not crawl.problems, "\n".join(crawl.problems[:30])
    assert crawl.math.get(lesson, 0) > 0, f"no equation rendered on {lesson}"
    pages = {"/index.html", "/authors_code.html",
             *(f"/{p.stem}.html" for p in list_notebooks(project_root() / "notebooks"))}
    assert pages <= set(crawl.ids), f"pages not reached: {sorted(pages - set(crawl.ids))}"
    for name in ("landing.png", "lesson_01.png", "solution_open.png"):
        assert (shots / name).stat().st_size > 0
    print(f"site browser test: {len(crawl.ids)} pages, {sum(crawl.math.values())} formulas, "
          f"solution opened on {solution_page}, {time.monotonic() - started:.1f} s; "
          f"screenshots in {shots}")
