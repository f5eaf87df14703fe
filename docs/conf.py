"""Sphinx configuration of the mailviz course site (``make site`` / ``mailviz site``).

``mailviz.site.build_site`` copies this file, ``index.md`` (with the learning path filled in),
``authors_code.md`` and the executed lessons into ``build/site-src/`` and builds
``build/site/`` from there. The lessons were executed by ``make figures`` (papermill) or
``make test`` (nbval); nothing runs here.

The site must work offline and make no request beyond its own folder: MathJax 3 comes from
``sphinx-mathjax-offline`` (copied into ``_static/mathjax``), myst-nb's ipywidgets JavaScript
(require.js and the widget manager from CDNs) is switched off (the site build replaces widget
outputs with saved snapshots), and the theme shows no repository, launch or download buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx

project = "mailviz: instance-reweighted adversarial training"
author = "the mailviz authors"
copyright = "the mailviz authors, MIT licence"

extensions = [
    "myst_nb",
    "sphinx_togglebutton",
    "sphinx-mathjax-offline",
]
exclude_patterns = ["_build", "_doctrees", "**.ipynb_checkpoints", "sphinx.log"]
root_doc = "index"

# --- MyST / myst-nb -----------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3  # "## Checking the claims" -> #checking-the-claims
nb_execution_mode = "off"  # executed by `make figures` (papermill) or `make test` (nbval)
nb_ipywidgets_js: dict[str, dict[str, str]] = {}  # no require.js / widget manager from a CDN
nb_output_stderr = "remove"  # library warnings and progress bars are noise on a reading page
nb_merge_streams = True

# --- HTML ---------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "mailviz course"
html_static_path: list[str] = []
html_favicon = "_static/favicon.svg"  # else the browser asks for /favicon.ico (a 404)
html_copy_source = False  # no _sources/ copies of the lessons (the download button is off too)
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "use_issues_button": False,
    "use_edit_page_button": False,
    "use_source_button": False,
    "launch_buttons": {},
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
html_context = {"default_mode": "light"}


def setup(app: Sphinx) -> None:
    """Load MathJax on every page: the sidebar shows lesson titles with math (05's $A_{rob}$)
    on pages that have no equation of their own (search, index of terms)."""
    app.set_html_assets_policy("always")
