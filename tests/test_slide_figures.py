"""Slide-ready figures: every text ≥ 14 pt on a 16:9 slide, editable SVG text, distinct colours.

The slide rule: a W × H in figure dropped onto a 13.33 × 7.5 in slide and scaled to fill it is
scaled by ``min(13.33 / W, 7.5 / H)``; every text element's size times that factor must be at
least 14 pt. SVG files give W × H in pt (72 per inch) and, with ``svg.fonttype = "none"``, each
text as ``<text style="font-size: Npx ...">`` (1 px = 1 pt at the SVG's 72 dpi).

``test_committed_figures_are_slide_ready`` checks the files under ``figures/`` (not the legacy
``figures/mnist/``, single-seed PNGs of an older run): every committed SVG keeps its text as
``<text>`` and passes the slide rule, so a figure regenerated with ``make figures`` or
``mailviz figures --figure NAME`` must stay slide-ready.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import itertools  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mailviz import plots  # noqa: E402
from mailviz.plots._style import SLIDE_MAX_SIZE, SLIDE_MIN_POINTS, slide_points  # noqa: E402
from mailviz.plots.colors import OKABE_ITO, delta_e, series_styles  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: smallest CIE76 ΔE between two series drawn alike (same line style and marker)
MIN_DE, MIN_DE_DEUTERANOPIA = 20.0, 10.0
_SIZE = re.compile(r"font-size:\s*([0-9.]+)px|font:[^;\"]*?([0-9.]+)px")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def slide_violations(svg: str) -> tuple[int, list[str]]:
    """Number of ``<text>`` elements and the texts whose size × slide scale is below 14 pt."""
    head = re.search(r'<svg[^>]*\swidth="([0-9.]+)pt"\s+height="([0-9.]+)pt"', svg)
    assert head, "the SVG names no width/height in pt"
    width, height = float(head.group(1)) / 72.0, float(head.group(2)) / 72.0
    scale = slide_points(1.0, (width, height))
    texts = re.findall(r"<text\b[^>]*>(.*?)</text>", svg, flags=re.S)
    bad = []
    for element in re.finditer(r"<(?:text|tspan)\b[^>]*>", svg):
        for m in _SIZE.finditer(element.group(0)):
            size = float(m.group(1) or m.group(2))
            if size * scale < SLIDE_MIN_POINTS - 1e-6:
                at = svg[element.end():element.end() + 40].split("<")[0]
                bad.append(f"{size:g} pt × {scale:.2f} = {size * scale:.1f} pt ({at!r}) on a "
                           f"{width:.2f} × {height:.2f} in figure")  # fmt: skip
    return len(texts), bad


def _legend_handles(fig) -> list[tuple[str, str, str, tuple[float, ...]]]:
    """(label, linestyle, marker, rgba) of every legend entry of ``fig``."""
    from matplotlib.colors import to_rgba

    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    out = []
    for legend in legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            if hasattr(handle, "get_color") and not hasattr(handle, "get_facecolor"):
                color, ls = handle.get_color(), str(handle.get_linestyle())
                marker = str(handle.get_marker())
            elif hasattr(handle, "get_facecolor"):
                face = np.asarray(handle.get_facecolor()).reshape(-1, 4)
                edge = np.asarray(handle.get_edgecolor()).reshape(-1, 4)
                pick = face if face.size and face[0, 3] > 0 else edge
                color, ls, marker = tuple(pick[0]), "patch", ""
            else:  # an error-bar container's line
                continue
            out.append((text.get_text(), ls, marker, to_rgba(color)))
    return out


def colour_clashes(fig) -> list[str]:
    """Pairs of legend entries with the same line style whose colours are closer than MIN_DE
    (normal vision) or MIN_DE_DEUTERANOPIA (simulated deuteranopia). Markers do not excuse a
    clash: every series gets its own marker, and a marker is too small to tell lines apart."""
    clashes = []
    for a, b in itertools.combinations(_legend_handles(fig), 2):
        if a[1] != b[1]:
            continue
        normal = delta_e(a[3][:3], b[3][:3])
        deut = delta_e(a[3][:3], b[3][:3], deuteranopia=True)
        if normal < MIN_DE or deut < MIN_DE_DEUTERANOPIA:
            clashes.append(f"{a[0]!r} vs {b[0]!r}: ΔE {normal:.1f}, deuteranopia {deut:.1f}")
    return clashes


# --------------------------------------------------------------------------------------------
# Small synthetic inputs, one figure per plotting function
# --------------------------------------------------------------------------------------------


def _weights(rows=("baseline", 0.1, 1.0, 1.5, 2.0), col_values=(0.0, 0.5, 1.0, 2.0, 3.0)):
    rng = np.random.default_rng(0)
    parts = []
    for r in rows:
        margin = rng.uniform(-1, 1, 200)
        for a in col_values:
            s = np.exp(-a * margin)
            parts.append(pd.DataFrame(dict(alpha_train=r, alpha_test=a, eps=0.1,
                                           weight=s / s.sum())))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def _report(hue=("baseline", 0.1, 1.0, 1.5, 2.0)):
    rows = [dict(eps=e, alpha_test=a, A_sa=50 - 10 * a + k, A_tr=48 - 11 * a + k, alpha_train=h,
                 seed=s)
            for e in (0.05, 0.1, 0.2) for k, h in enumerate(hue) for a in (0.5, 1.0, 1.5, 2.0)
            for s in (0, 1)]  # fmt: skip
    return pd.DataFrame(rows)


def _accuracies(methods):
    return pd.DataFrame([dict(model=m, seed=s, attack=a, metric="accuracy", value=50.0 + k + s)
                         for k, m in enumerate(methods) for s in (0, 1, 2)
                         for a in ("nat", "pgd20", "aa-fast")])  # fmt: skip


def _per_method_weights():
    rng = np.random.default_rng(1)
    return pd.concat([pd.DataFrame(dict(method=m, weight=rng.gamma(2.0, 0.5, 300) if k > 2
                                        else np.ones(300)))
                      for k, m in enumerate(("AT", "TRADES", "MART", "GAIRAT", "MAIL-AT"))])


def _lps():
    import torch

    from mailviz.models import build_model

    torch.manual_seed(0)
    model = build_model("mlp", num_classes=2, in_channels=2)
    x = torch.rand(3, 2)
    path = x[None] + 0.05 * torch.randn(6, 3, 2)
    return plots.lps_paths(model, x, path, kappa=torch.tensor([1, 2, 3]), eps=0.1)


def _audit():
    from mailviz import audit_plots

    methods = ["AT", "TRADES", "GAIRAT", "MAIL-AT", "MAIL-TRADES", "PGD+ours", "TRADES+ours"]
    attacks = ["nat", "pgd20", "cw20", "LS-PGD-20", "aa-fast", "aa", "worst case"]
    results = pd.DataFrame([dict(model=m, seed=s, attack=a, value=40.0 + k + j)
                            for k, m in enumerate(methods) for j, a in enumerate(attacks)
                            for s in (0, 1)])  # fmt: skip
    gaps = pd.DataFrame([{"model": m, "seed": s, "PGD-20": 50.0 + k, "worst case": 45.0 + k}
                         for k, m in enumerate(methods) for s in (0, 1)])  # fmt: skip
    rng = np.random.default_rng(0)
    per = pd.DataFrame([dict(model=m, seed=s, attack=a, example=i, correct=bool(rng.random() < .5))
                        for m in methods for s in (0, 1)
                        for a in ("LS-PGD-20 (s=0.1)", "LS-PGD-20 (s=1)", "LS-PGD-20")
                        for i in range(20)])  # fmt: skip
    return [audit_plots.attack_dots(results), audit_plots.gap_dots(gaps),
            audit_plots.scale_curves(per)]  # fmt: skip


def _dataset(name):
    from mailviz.data import load_dataset

    return plots.dataset_samples(load_dataset(name, "test"), per_class=6)


FIGURES = {
    "weights_fig5": lambda: plots.weight_histograms(_weights(), note="3 replicates pooled"),
    "weights_two_models": lambda: plots.weight_histograms(_weights(rows=("TRADES", "MART"))),
    "weights_per_method": lambda: plots.weight_histograms(_per_method_weights(), row=None,
                                                          col="method", bins=30),
    "weight_functions": lambda: plots.weight_functions(),
    "pm_vs_mm": lambda: plots.pm_vs_mm(np.linspace(-1, 1, 50), np.linspace(-3, 3, 50),
                                       np.arange(50) % 3 > 0),
    "lps_paths": _lps,
    "fig3": lambda: plots.nonuniform_curves(_report()),
    "fig3_models": lambda: plots.nonuniform_curves(
        _report(hue=("TRADES", "MART", "GAIRAT")).rename(columns={"alpha_train": "model"}),
        hue="model"),
    "dro": lambda: plots.dro_curves(pd.DataFrame(
        [dict(rho=r, loss=1 + k + r / 100, accuracy=50 - k - r / 10, model=m, seed=s)
         for k, m in enumerate(("TRADES", "TRADES+ours (α_train=2)", "PGD",
                                "PGD+ours (α_train=0.1)"))
         for r in (0.0, 0.1, 1.0, 10.0, 100.0) for s in (0, 1)])),
    "spread": lambda: plots.spread_curves(
        _report().rename(columns={"A_sa": "entropy_deficit"}).assign(
            alpha_train=lambda d: d.alpha_train.replace("baseline", np.nan))),
    "table4": lambda: plots.accuracy_errorbars(_accuracies(
        ["AT", "TRADES", "MART", "FAT", "AWP", "GAIRAT", "MAIL-AT", "MAIL-TRADES"])),
    "table5": lambda: plots.accuracy_errorbars(_accuracies(["PM", "MM"]), title="Table 5"),
    "table6": lambda: plots.accuracy_errorbars(_accuracies(["hinge", "step", "sigmoid"])),
    "training": lambda: plots.training_curves(pd.DataFrame(
        {"epoch": [1, 2, 3], "loss": [2.0, 1.0, 0.5], "nat_acc": [50.0, 80.0, 90.0],
         "pgd_acc": [10.0, 30.0, 40.0]}), title="clean training, digits / digits_cnn"),
    "audit": _audit,
    "adversarial_examples": lambda: plots.adversarial_examples(
        *(np.random.default_rng(0).random((2, 6, 1, 8, 8))), np.arange(6), np.arange(6),
        (np.arange(6) + 1) % 10, eps=0.2, n=6),
    "robustness_curve": lambda: plots.robustness_curve(pd.DataFrame(
        [("clean training", "nat", 0.0, 95.0), ("clean training", "pgd20", 0.1, 50.0),
         ("adversarial training (AT)", "nat", 0.0, 90.0),
         ("adversarial training (AT)", "pgd20", 0.1, 70.0)],
        columns=["model", "attack", "eps", "value"]), eps_train=0.1),
    "samples_digits": lambda: _dataset("digits"),
    "samples_moons": lambda: _dataset("moons"),
}  # fmt: skip


def _figures(name):
    made = FIGURES[name]()
    return made if isinstance(made, list) else [made]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_is_slide_ready(name, tmp_path) -> None:
    for k, fig in enumerate(_figures(name)):
        _, svg = plots.save(fig, f"{name}{k}", notebook="slide", root=tmp_path)
        text = svg.read_text()
        count, bad = slide_violations(text)
        assert count > 0, f"{name}: no <text> in the SVG (svg.fonttype must be 'none')"
        assert "DejaVuSans-" not in text, f"{name}: glyphs drawn as paths"
        assert not bad, f"{name}: text below {SLIDE_MIN_POINTS} pt on a slide: {bad[:5]}"
        w, h = fig.get_size_inches()
        fits = w <= SLIDE_MAX_SIZE[0] + 1e-6 and h <= SLIDE_MAX_SIZE[1] + 1e-6
        assert fits, f"{name}: {w:.2f} × {h:.2f} in"
        assert not colour_clashes(fig), f"{name}: {colour_clashes(fig)}"


def test_a_saved_slide_figure_is_byte_identical_on_rerun(tmp_path) -> None:
    first = [p.read_bytes() for p in plots.save(FIGURES["dro"](), "a", root=tmp_path)]
    second = [p.read_bytes() for p in plots.save(FIGURES["dro"](), "a", root=tmp_path)]
    assert first == second


def test_palette_and_fixed_colours_are_distinct() -> None:
    for a, b in itertools.combinations(OKABE_ITO.values(), 2):
        assert delta_e(a, b) >= MIN_DE and delta_e(a, b, deuteranopia=True) >= MIN_DE_DEUTERANOPIA
    # the same method has the same colour in every figure
    assert series_styles(["AT"])[0].color == series_styles(["TRADES", "AT"])[1].color
    ours = series_styles(["PGD+ours (α_train=0.1)", "TRADES+ours (α_train=2)"])
    assert ours[0].color != ours[1].color
    weights = series_styles(["sigmoid", "hinge", "step", "exp", "gairat_tanh", "hinge_mirrored"])
    assert len({s.color for s in weights}) == 6
    many = series_styles([f"series {k}" for k in range(12)])  # more series than colours
    assert len({(s.color, s.linestyle) for s in many}) == 12


def test_the_checkers_catch_small_text_and_close_colours() -> None:
    svg = ('<svg width="720pt" height="720pt"><text style="font-size: 12px; fill: #000">a'
           "</text></svg>")  # 10 in tall: scale 0.75
    assert slide_violations(svg)[0] == 1 and slide_violations(svg)[1]
    fig, ax = plt.subplots()
    ax.plot([0, 1], color="#E69F00", label="one")
    ax.plot([0, 1], color="#E8A010", label="two")
    ax.legend()
    assert colour_clashes(fig)


def _committed_svgs() -> list[Path]:
    return sorted(p for p in (ROOT / "figures").glob("*/*.svg") if p.parent.name != "mnist")


def test_committed_figures_are_slide_ready() -> None:
    """Every committed SVG has editable text and every text passes the slide rule."""
    svgs = _committed_svgs()
    if not svgs:
        pytest.skip("no committed figures")
    stale, bad = [], []
    for svg in svgs:
        count, problems = slide_violations(svg.read_text())
        if count == 0:
            stale.append(svg.relative_to(ROOT).as_posix())
        else:
            bad += [f"{svg.relative_to(ROOT)}: {p}" for p in problems[:3]]
    assert not stale, f"SVGs with text drawn as paths (not editable): {stale}"
    assert not bad, "\n".join(bad)
