"""Wiring of the widgets in plain pytest: sliders → the numbers of mailviz.weights / attacks."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import ipywidgets
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

from mailviz import attacks, weights, widgets
from mailviz.margins import probabilistic_margin
from mailviz.models import build_model
from mailviz.widgets._common import SLIDE_MIN_POINTS, _layout_fits, slide_points


@pytest.fixture(scope="module")
def pm() -> torch.Tensor:
    """540 PMs shaped like an adversarial test set (as many as the digits test split)."""
    gen = torch.Generator().manual_seed(0)
    return (torch.rand(540, generator=gen, dtype=torch.float64) * 2 - 1).clamp(-0.999, 0.999)


@pytest.fixture(scope="module")
def mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model("mlp", num_classes=2, in_channels=2)
    return model.eval()


def expected_omega(raw: torch.Tensor) -> np.ndarray:
    return weights.normalize(raw, "batch").numpy()


# --------------------------------------------------------------------------------------------
# weight explorer
# --------------------------------------------------------------------------------------------


def test_moving_gamma_and_beta_sliders_recomputes_sigmoid_weights(pm: torch.Tensor) -> None:
    ex = widgets.weight_explorer(pm)
    png_before, renders_before = ex.image.value, ex.renders
    ex.controls["gamma"].value = 4.0
    assert ex.renders == renders_before + 1
    assert ex.image.value != png_before
    np.testing.assert_array_equal(
        ex.state["weights"], expected_omega(weights.sigmoid(pm, 4.0, -0.5))
    )
    ex.controls["beta"].value = 0.25
    np.testing.assert_array_equal(
        ex.state["weights"], expected_omega(weights.sigmoid(pm, 4.0, 0.25))
    )
    grid = torch.linspace(-1.0, 1.0, len(ex.state["curve_x"]), dtype=torch.float64)
    np.testing.assert_array_equal(ex.state["curve_y"], weights.sigmoid(grid, 4.0, 0.25).numpy())
    assert ex.state["weights"].mean() == pytest.approx(1.0)


def test_dropdown_switches_function_and_visible_sliders(pm: torch.Tensor) -> None:
    kappa = torch.randint(0, 21, pm.shape, generator=torch.Generator().manual_seed(1))
    ex = widgets.weight_explorer(pm, kappa=kappa, steps=20, gamma=6.0, beta=0.0)

    def shown() -> set[str]:
        names = ("gamma", "beta", "alpha", "lam")
        return {n for n in names if ex.controls[n].layout.display != "none"}

    ex.controls["fn"].value = "hinge"
    assert ex.state["fn"] == "hinge" and shown() == {"gamma", "beta"}
    np.testing.assert_array_equal(ex.state["weights"], expected_omega(weights.hinge(pm, 6.0, 0.0)))
    assert "max(0, γ·(PM − β))" in ex.equation.value

    ex.controls["fn"].value = "step"
    assert shown() == {"beta", "alpha"} and ex.controls["alpha"].max == 1.0
    np.testing.assert_array_equal(ex.state["weights"], expected_omega(weights.step(pm, 0.0, 0.2)))

    ex.controls["fn"].value = "gairat_tanh"
    assert shown() == {"lam"}
    ex.controls["lam"].value = 0.5
    np.testing.assert_array_equal(
        ex.state["weights"], expected_omega(weights.gairat_tanh(kappa.double(), 20, 0.5))
    )

    ex.controls["fn"].value = "exp_kernel"
    assert shown() == {"alpha"} and ex.controls["alpha"].max == 3.0
    ex.controls["alpha"].value = 2.5
    np.testing.assert_array_equal(ex.state["weights"], expected_omega(weights.exp_kernel(pm, 2.5)))

    # back to step: alpha=2.5 is clamped into step's [0, 1]
    ex.controls["fn"].value = "step"
    assert ex.controls["alpha"].value == 1.0
    np.testing.assert_array_equal(ex.state["weights"], expected_omega(weights.step(pm, 0.0, 1.0)))


def test_gairat_curve_maps_pm_linearly_onto_kappa() -> None:
    s = widgets.explorer_state("gairat_tanh", lam=-1.0, steps=10, n_curve=11)
    kappa = torch.arange(11, dtype=torch.float64)
    np.testing.assert_allclose(s["curve_kappa"], kappa.numpy())
    np.testing.assert_allclose(s["curve_y"], weights.gairat_tanh(kappa, 10, -1.0).numpy())
    # without kappa the weights of real margins use the same map
    pm = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)
    s = widgets.explorer_state("gairat_tanh", lam=-1.0, margins=pm, steps=10)
    raw = weights.gairat_tanh(torch.tensor([0.0, 5.0, 10.0], dtype=torch.float64), 10, -1.0)
    np.testing.assert_allclose(s["raw_weights"], raw.numpy())


def test_share_of_mass_by_hand() -> None:
    pm = [-0.5, 0.5, 0.25, -0.25]
    # step(beta=0, alpha=0.2): raw [0.8, 0.2, 0.2, 0.8], sum 2 -> omega [1.6, 0.4, 0.4, 1.6]
    s = widgets.explorer_state("step", beta=0.0, alpha=0.2, margins=pm)
    np.testing.assert_allclose(s["weights"], [1.6, 0.4, 0.4, 1.6])
    assert s["correct"].tolist() == [False, True, True, False]  # default: PM > 0
    assert s["share_misclassified"] == pytest.approx(3.2 / 4.0)
    assert s["fraction_misclassified"] == 0.5
    # an explicit correctness vector overrides PM > 0
    s = widgets.explorer_state(
        "step", beta=0.0, alpha=0.2, margins=pm, correct=[False, True, False, True]
    )
    assert s["share_misclassified"] == pytest.approx((1.6 + 0.4) / 4.0)
    # hinge(beta=0) zeroes every misclassified example: share 0; all-zero weights: undefined
    assert widgets.explorer_state("hinge", 2.0, 0.0, margins=pm)["share_misclassified"] == 0.0
    s = widgets.explorer_state("hinge", 2.0, 0.9, margins=pm)
    assert s["weights"].tolist() == [0.0] * 4 and math.isnan(s["share_misclassified"])
    # the widget prints the share where a browser can read it
    ex = widgets.weight_explorer(pm, fn="step", beta=0.0, alpha=0.2)
    assert "80.0 %" in ex.summary.value and "50.0 % of 4 examples" in ex.summary.value


def test_interactive_wiring_of_explorer_state(pm: torch.Tensor) -> None:
    box = ipywidgets.interactive(
        widgets.explorer_state,
        clear_output=False,  # outside a kernel, clearing the Output prints terminal escapes
        fn=list(widgets.WEIGHT_CHOICES),
        gamma=(0.0, 20.0, 0.5),
        beta=(-1.0, 1.0, 0.05),
        alpha=ipywidgets.fixed(0.2),
        lam=ipywidgets.fixed(-1.0),
        margins=ipywidgets.fixed(pm),
        correct=ipywidgets.fixed(None),
        kappa=ipywidgets.fixed(None),
        steps=ipywidgets.fixed(10),
        n_curve=ipywidgets.fixed(201),
    )
    sliders = {child.description: child for child in box.children if hasattr(child, "value")}
    sliders["gamma"].value = 12.0
    sliders["beta"].value = -0.2
    np.testing.assert_array_equal(
        box.result["weights"], expected_omega(weights.sigmoid(pm, 12.0, -0.2))
    )
    sliders["fn"].value = "hinge_mirrored"
    np.testing.assert_array_equal(
        box.result["weights"], expected_omega(weights.hinge_mirrored(pm, 12.0, -0.2))
    )


def test_weight_function_table_matches_explorer_state(pm: torch.Tensor) -> None:
    table = widgets.weight_function_table(pm)
    assert table["function"].tolist() == list(widgets.WEIGHT_CHOICES)
    sig = widgets.explorer_state("sigmoid", 10.0, -0.5, margins=pm)
    row = table.set_index("function").loc["sigmoid"]
    assert row["share_misclassified"] == sig["share_misclassified"]
    hinge_row = table.set_index("function").loc["hinge"]
    assert hinge_row["zero_weight"] == pytest.approx(float((pm < -0.5).double().mean()))
    with pytest.raises(ValueError, match="sigmoid takes gamma, beta"):
        widgets.weight_function_table(pm, settings={"sigmoid": dict(lam=1.0)})


def test_explorer_rejects_bad_arguments_with_one_line() -> None:
    with pytest.raises(ValueError, match="unknown weight function 'tanh'"):
        widgets.explorer_state("tanh")
    with pytest.raises(ValueError, match=r"margins must be finite probabilistic margins"):
        widgets.weight_explorer([0.5, 1.5])
    with pytest.raises(ValueError, match="one entry per margin"):
        widgets.explorer_state(margins=[0.1, 0.2], correct=[True])
    with pytest.raises(ValueError, match="need margins"):
        widgets.explorer_state(correct=[True])
    with pytest.raises(ValueError, match="gamma must be finite"):
        widgets.explorer_state("sigmoid", gamma=-1.0)
    with pytest.raises(ValueError, match=r"alpha must lie in the slider range \[0, 1\]"):
        widgets.weight_explorer(fn="step", alpha=2.0)


def test_explorer_without_margins_draws_the_curve_only() -> None:
    ex = widgets.weight_explorer()
    assert ex.state["weights"] is None and ex.state["share_misclassified"] is None
    assert "no margins given" in ex.summary.value
    ex.controls["gamma"].value = 3.0
    assert bytes(ex.image.value).startswith(b"\x89PNG")


def test_weight_explorer_latency_under_100_ms(pm: torch.Tensor) -> None:
    ex = widgets.weight_explorer(pm)
    gamma = ex.controls["gamma"].value
    ms = widgets.latency(ex, n=20)
    print(f"weight_explorer slider->output median {ms:.1f} ms")
    assert ex.controls["gamma"].value == gamma  # restored
    assert ms < 100.0


# --------------------------------------------------------------------------------------------
# PGD playground
# --------------------------------------------------------------------------------------------


def test_playground_state_matches_attacks_pgd(mlp: torch.nn.Module) -> None:
    x, y = widgets.playground_points("moons", n_points=5, seed=3)
    assert x.shape == (5, 2) and sorted(y.tolist()) == [0, 0, 0, 1, 1]
    s = widgets.playground_state(mlp, x, y, eps=0.1, step_size=0.03, steps=7, seed=11)
    ref = attacks.pgd(
        mlp, x, y, 0.1, 0.03, 7, record=True, return_result=True,
        generator=torch.Generator().manual_seed(11),
    )  # fmt: skip
    assert s["path"].shape == (8, 5, 2)
    torch.testing.assert_close(s["path"], ref.path, rtol=0, atol=0)
    assert s["kappa"].tolist() == ref.kappa.tolist()
    torch.testing.assert_close(s["pm_adv"], probabilistic_margin(mlp(ref.x_adv), y))
    torch.testing.assert_close(s["pm_clean"], probabilistic_margin(mlp(x), y))
    assert s["correct"].tolist() == (mlp(ref.x_adv).argmax(1) == y).tolist()


def test_playground_state_lm_pgd_counts_kappa_along_its_path(mlp: torch.nn.Module) -> None:
    x, y = widgets.playground_points("moons", n_points=4, seed=0)
    s = widgets.playground_state(mlp, x, y, eps=0.1, steps=6, lm=True, start="none")
    ref = attacks.lm_pgd(mlp, x, y, 0.1, steps=6, start="none", record=True, return_result=True)
    torch.testing.assert_close(s["path"], ref.path, rtol=0, atol=0)
    expected = (ref.path_pred[:-1] == y).sum(0)
    assert s["kappa"].tolist() == expected.tolist()


def test_pgd_playground_controls_rerun_the_attack(mlp: torch.nn.Module) -> None:
    pg = widgets.pgd_playground(mlp, "moons", n_points=4, seed=0, steps=5)
    assert pg.state["path"].shape == (6, 4, 2)
    png = pg.image.value
    pg.controls["steps"].value = 3
    assert pg.state["path"].shape == (4, 4, 2) and pg.image.value != png
    pg.controls["eps"].value = 0.2
    assert float((pg.state["path"] - pg.state["x"]).abs().max()) <= 0.2 + 1e-6
    pg.controls["start"].value = "none"
    torch.testing.assert_close(pg.state["path"][0], pg.state["x"])
    pg.controls["lm"].value = True
    assert pg.controls["step_size"].disabled and pg.state["lm"]
    assert "LM-PGD-3" in pg.table.value
    for k in pg.state["kappa"].tolist():
        assert re.search(rf"<td[^>]*>{k}</td>", pg.table.value)
    ms = widgets.latency(pg, n=3)
    print(f"pgd_playground slider->output median {ms:.1f} ms")


def test_playground_rejects_bad_arguments(mlp: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="draws 2-D inputs"):
        widgets.playground_points("digits")
    with pytest.raises(ValueError, match="n_points must be"):
        widgets.playground_points("moons", n_points=0)
    x, y = widgets.playground_points("moons", n_points=2)
    with pytest.raises(ValueError, match="unknown start"):
        widgets.playground_state(mlp, x, y, start="gaussian")
    with pytest.raises(ValueError, match="model must be a torch nn.Module"):
        widgets.PGDPlayground("mlp", x, y)  # type: ignore[arg-type]


def test_latency_rejects_non_slider() -> None:
    ex = widgets.weight_explorer()
    with pytest.raises(ValueError, match="not a slider"):
        widgets.latency(ex, control="fn")
    with pytest.raises(ValueError, match="no slider 'zeta'"):
        widgets.latency(ex, control="zeta")


# --------------------------------------------------------------------------------------------
# layout: whole labels, separated table headers, tick labels inside, slide-ready text
# --------------------------------------------------------------------------------------------


def test_lm_checkbox_shows_its_whole_label(mlp: torch.nn.Module) -> None:
    pg = widgets.pgd_playground(mlp, "moons", n_points=2, steps=2)
    box = pg.controls["lm"]
    assert box.description == "LM-PGD (momentum + line search)"
    # the default (indent=True inside a 300 px box) cut the label: no indent, width from content
    assert box.indent is False
    assert box.style.description_width == "initial"
    assert box.layout.width == "auto"


class _Headers(HTMLParser):
    """Collects each ``<th>``'s text and inline style."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "th":
            self._open = True
            self.cells.append({"style": dict(attrs).get("style") or "", "text": ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._open = False

    def handle_data(self, data: str) -> None:
        if self._open:
            self.cells[-1]["text"] += data


def test_playground_table_headers_are_separate_padded_cells(mlp: torch.nn.Module) -> None:
    pg = widgets.pgd_playground(mlp, "moons", n_points=2, steps=2)
    parser = _Headers()
    parser.feed(pg.table.value)
    texts = [c["text"] for c in parser.cells]
    assert texts == ["point", "label", "κ", "PM clean", "PM adv", "correct after attack"]
    for cell in parser.cells:
        padding = re.search(r"padding:\s*\d+px\s+(\d+)px", cell["style"])
        assert padding and int(padding.group(1)) >= 8, f"header {cell['text']!r}: {cell['style']}"
        assert "border-bottom" in cell["style"]
    # every data cell is padded too (the columns of numbers stay apart)
    assert all("padding" in td for td in re.findall(r"<td[^>]*>", pg.table.value))


def _drawn_tick_labels(fig: Figure) -> list[Text]:
    """Tick labels the last draw showed: every axes and child axes, ticks inside the view."""
    out = []
    axes = [*fig.axes, *(child for ax in fig.axes for child in ax.child_axes)]
    for ax in axes:
        if not ax.get_visible() or not ax.axison:
            continue
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            tol = 1e-9 * max(1.0, abs(high - low))
            for loc, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels(),
                                  strict=False):  # fmt: skip
                if low - tol <= loc <= high + tol and label.get_visible() and label.get_text():
                    out.append(label)
    return out


def _outside(fig: Figure) -> list[str]:
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    bad = []
    for label in _drawn_tick_labels(fig):
        e = label.get_window_extent(renderer)
        if e.x0 < box.x0 - 0.5 or e.x1 > box.x1 + 0.5 or e.y0 < box.y0 - 0.5 or e.y1 > box.y1 + 0.5:
            bad.append(f"{label.get_text()!r} at x {e.x0:.0f}–{e.x1:.0f} of {box.x1:.0f}")
    return bad


def test_explorer_tick_labels_stay_inside_the_figure_for_every_setting(pm: torch.Tensor) -> None:
    ex = widgets.weight_explorer(pm)
    checked, problems = 0, []
    for fn in widgets.WEIGHT_CHOICES:
        ex.controls["fn"].value = fn
        for gamma in (0.0, 20.0):
            ex.controls["gamma"].value = gamma
            for beta in (-1.0, 0.5, 0.9):
                ex.controls["beta"].value = beta
                ex.figure.canvas.draw()
                labels = _drawn_tick_labels(ex.figure)
                assert len(labels) >= 8, "the check found too few tick labels to mean anything"
                checked += 1
                problems += [f"{fn} γ={gamma} β={beta}: {b}" for b in _outside(ex.figure)]
                assert _layout_fits(ex.figure, ex.figure.canvas.get_renderer(), ex._panels), (
                    f"{fn} γ={gamma} β={beta}: a text pokes out or the panels overlap"
                )
    assert checked == 36 and not problems, problems[:5]


def test_layout_check_fails_on_a_clipped_label() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(3.0, 2.0), layout="none")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.2, 0.2, 0.8, 0.7))  # right edge at the figure's edge
    ax.set_xlim(0.0, 1000.0)
    fig.canvas.draw()
    assert _outside(fig), "the right-hand tick label '1000' is half outside the figure"
    assert not _layout_fits(fig, fig.canvas.get_renderer(), [[ax]])


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("with_margins", [True, False], ids=["margins", "curve-only"])
def test_explorer_figure_text_is_slide_ready(pm: torch.Tensor, with_margins: bool) -> None:
    ex = widgets.weight_explorer(pm if with_margins else None, fn="gairat_tanh")
    fig = ex.figure
    texts = _texts(fig)
    assert len(texts) >= 10
    size = tuple(fig.get_size_inches())
    small = {
        t.get_text(): round(slide_points(t.get_fontsize(), size), 1)
        for t in texts
        if slide_points(t.get_fontsize(), size) < SLIDE_MIN_POINTS
    }
    assert not small, f"texts under {SLIDE_MIN_POINTS} pt on a 16:9 slide: {small}"


def test_slide_points_rule() -> None:
    assert slide_points(14.0, (13.33, 7.5)) == pytest.approx(14.0)
    assert slide_points(8.0, (9.0, 3.3)) < SLIDE_MIN_POINTS  # the old 8 pt labels failed
    assert slide_points(10.0, (4.0, 7.5)) == pytest.approx(10.0)  # a tall figure fits by height
    with pytest.raises(ValueError, match="figsize must be two positive inch sizes"):
        slide_points(10.0, (0.0, 3.0))
