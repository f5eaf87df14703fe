"""mailviz.plots: every figure renders headless from a tiny frame; save() is byte-deterministic."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from mailviz import plots  # noqa: E402
from mailviz.attacks import pgd  # noqa: E402
from mailviz.models import build_model  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _render(fig) -> None:
    fig.canvas.draw()  # a full draw catches errors that only show at render time


def _weight_frame(eps=(0.1,)) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for e in eps:
        for alpha_train in ("baseline", 1.0):
            margin = rng.uniform(-1, 1, 50)
            for alpha_test in (0.0, 1.0, 2.0):
                s = np.exp(-alpha_test * margin)
                parts.append(
                    pd.DataFrame(
                        dict(example=np.arange(50), alpha_test=alpha_test, eps=e,
                             weight=s / s.sum(), margin=margin, correct=margin > 0,
                             alpha_train=alpha_train)
                    )  # fmt: skip
                )
    return pd.concat(parts, ignore_index=True)


def test_style_is_a_scoped_context() -> None:
    before = matplotlib.rcParams["svg.hashsalt"]
    with plots.style():
        assert matplotlib.rcParams["svg.hashsalt"] == "mailviz"
    assert matplotlib.rcParams["svg.hashsalt"] == before
    assert len(plots.palette(3)) == 3


def test_weight_histograms_grid() -> None:
    fig = plots.weight_histograms(_weight_frame())
    _render(fig)
    # one panel per α_test (3, one grid row), each overlaying the two models; legend below
    panels = fig.axes
    assert len(panels) == 3
    assert [a.get_title() for a in panels] == ["α_test = 0", "α_test = 1", "α_test = 2"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["baseline", "α_train = 1"]
    # with a spare grid slot (4 panels in 2 × 3) the legend fills it
    extra = _weight_frame()[lambda d: d.alpha_test == 2.0].assign(alpha_test=3.0)
    four = plots.weight_histograms(pd.concat([_weight_frame(), extra]))
    assert len(four.axes) == 5 and not four.axes[4].axison and four.axes[4].get_legend()
    assert fig.get_supxlabel().startswith("importance s̃")  # one x and one y label per figure
    assert fig.get_supylabel() == "test examples (count)"
    assert panels[1].get_yscale() == "log"
    # every model's step histogram holds all 50 examples of the panel
    for ax in panels:
        assert len(ax.patches) == 2  # one step outline per model
    colors = {tuple(p.get_edgecolor()) for p in panels[1].patches}
    assert len(colors) == 2


def test_weight_histograms_single_row_and_eps_guard() -> None:
    frame = _weight_frame()
    one = frame[frame.alpha_train == 1.0].drop(columns="alpha_train")
    assert len(plots.weight_histograms(one).axes) == 3
    # drop_uniform: the α_test = 0 panel (every s̃ = 1/N) is named below instead of drawn
    fig = plots.weight_histograms(one, drop_uniform=True)
    assert [a.get_title() for a in fig.axes] == ["α_test = 1", "α_test = 2"]
    assert "not drawn, every weight equal: 0" in fig.get_supxlabel()
    with pytest.raises(ValueError, match="several eps"):
        plots.weight_histograms(_weight_frame(eps=(0.1, 0.2)))
    with pytest.raises(ValueError, match="missing"):
        plots.weight_histograms(frame.drop(columns="weight"))


def _report() -> pd.DataFrame:
    rows = []
    for e in (0.1, 0.2):
        for k, alpha_train in enumerate(("baseline", 1.0, 2.0)):
            for a in (0.0, 1.0, 2.0):
                rows.append(dict(eps=e, alpha_test=a, A_rob=50.0, A_sa=50 - 10 * a + k,
                                 A_tr=48 - 11 * a + k, attack="pgd", steps=20,
                                 alpha_train=alpha_train))  # fmt: skip
    return pd.DataFrame(rows)


def test_nonuniform_curves_panels_and_lines() -> None:
    fig = plots.nonuniform_curves(_report())
    _render(fig)
    assert len(fig.axes) == 4  # (A_sa, A_tr) × 2 eps
    ax = fig.axes[0]
    assert ax.get_ylabel() == "A_sa (%)" and fig.get_supxlabel().startswith("α_test")
    assert len(ax.containers) == 3  # one error-bar line per model
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["baseline", "α_train = 1", "α_train = 2"]
    margin = _report()[lambda d: d.eps == 0.1].assign(A_tr=np.nan)
    assert len(plots.nonuniform_curves(margin).axes) == 1  # no A_tr panel for PGD-margin


def test_nonuniform_curves_average_replicates_with_error_bars() -> None:
    one = _report()
    two = pd.concat([one.assign(seed=0), one.assign(seed=1, A_sa=one["A_sa"] + 2.0)])
    fig = plots.nonuniform_curves(two)
    _render(fig)
    bars = fig.axes[0].containers[0]
    y = np.asarray(bars.lines[0].get_ydata(), dtype=float)
    first = one[(one.eps == 0.1) & (one.alpha_train == "baseline")].sort_values("alpha_test")
    np.testing.assert_allclose(y, first["A_sa"].to_numpy() + 1.0)  # the mean over both seeds
    segments = bars.lines[2][0].get_segments()
    heights = [seg[1][1] - seg[0][1] for seg in segments]
    np.testing.assert_allclose(heights, 2 * np.sqrt(2.0))  # ± one std (ddof 1) of {x, x + 2}
    assert "2 replicates" in fig._suptitle.get_text()


def test_accuracy_errorbars_and_spread_curves() -> None:
    frame = pd.DataFrame(dict(model=["AT"] * 3 + ["MAIL-AT"] * 3, seed=[0, 1, 2] * 2,
                              attack="pgd20", metric="accuracy",
                              value=[60.0, 61.0, 62.0, 55.0, 57.0, 59.0]))  # fmt: skip
    fig = plots.accuracy_errorbars(pd.concat([frame, frame.assign(attack="nat", value=95.0)]))
    _render(fig)
    assert [ax.get_title() for ax in fig.axes] == ["PGD-20", "NAT"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["AT", "MAIL-AT"]
    assert len(fig.axes[0].containers) == 2 and "3 replicates" in fig._suptitle.get_text()
    spread = pd.DataFrame(dict(alpha_train=[np.nan, 2.0] * 4, alpha_test=[1.0] * 4 + [2.0] * 4,
                               seed=[0, 0, 1, 1] * 2, eps=0.2,
                               entropy_deficit=[0.1, 0.2, 0.12, 0.22, 0.3, 0.5, 0.32, 0.52]))
    fig = plots.spread_curves(spread)
    _render(fig)
    assert len(fig.axes[0].containers) == 2
    assert fig.axes[0].get_ylabel().startswith("entropy deficit")


def test_dro_curves_two_panels() -> None:
    frame = pd.concat(
        pd.DataFrame(dict(rho=[0.0, 0.1, 1.0, 10.0], loss=np.array([1.0, 1.2, 1.5, 2.0]) + k,
                          accuracy=[50.0, 40.0, 30.0, 20.0], model=name))  # fmt: skip
        for k, name in enumerate(("TRADES", "TRADES+ours"))
    )
    fig = plots.dro_curves(frame)
    _render(fig)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_ylabel() == "worst-case weighted CE loss (nats)"
    assert fig.axes[1].get_ylabel() == "worst-case weighted accuracy (%)"
    assert fig.axes[0].get_xscale() == "symlog" and fig.axes[0].get_xlabel() == "χ² budget ρ"
    assert len(fig.axes[0].get_lines()) == 2
    assert len(fig.axes[0].collections) == 2  # the ± std bands (zero width without seeds)


def test_weight_functions_curves() -> None:
    fig = plots.weight_functions()
    _render(fig)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.get_lines()) == len(plots.WEIGHT_CURVES) + 1  # + the PM = 0 line
    assert ax.get_ylabel() == "weight / its maximum" and ax.get_xlabel().startswith("margin")
    for line in ax.get_lines()[:-1]:
        assert np.nanmax(line.get_ydata()) == pytest.approx(1.0)
    pm = np.random.default_rng(0).uniform(-1, 1, 100)
    fig2 = plots.weight_functions(["sigmoid", "exp"], gamma=2.0, beta=0.0, pm=pm, normalize=False)
    assert len(fig2.axes) == 2 and fig2.axes[1].get_ylabel() == "PM density"
    with pytest.raises(ValueError, match="unknown weight curve"):
        plots.weight_functions(["tanh"])


def test_pm_vs_mm_title_reports_spearman() -> None:
    rng = np.random.default_rng(1)
    logits = torch.tensor(rng.normal(size=(80, 4)) * 3)
    y = torch.tensor(rng.integers(0, 4, 80))
    from mailviz.margins import logit_margin, probabilistic_margin

    pm, mm = probabilistic_margin(logits, y), logit_margin(logits, y)
    fig = plots.pm_vs_mm(pm, mm, correct=logits.argmax(1) == y)
    _render(fig)
    ax = fig.axes[0]
    rho = spearmanr(pm.numpy(), mm.numpy()).statistic
    assert f"Spearman ρ = {rho:.3f}" in ax.get_title()
    assert ax.get_xlabel().startswith("logit margin MM")
    assert ax.get_ylabel().startswith("probabilistic margin PM")
    assert len(ax.collections) == 2  # correct / misclassified


def test_lps_paths_on_the_toy_model() -> None:
    torch.manual_seed(0)
    model = build_model("mlp", num_classes=2, in_channels=2)
    model.train()
    x = torch.tensor([[0.3, 0.3], [0.6, 0.7], [0.5, 0.4]])
    y = torch.tensor([0, 1, 0])
    res = pgd(model, x, y, 0.1, 0.03, 6, record=True, return_result=True)
    fig = plots.lps_paths(model, x, res.path, res.path_pred, res.kappa, labels=y, resolution=60)
    _render(fig)
    assert model.training
    assert len(fig.axes) == 2  # the plane + the step colour bar
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 3 and boxes[0].get_width() == pytest.approx(0.2)
    assert ax.get_xlabel().startswith("x₁") and "ε = 0.1" in ax.get_title()
    assert sum(t.get_text().startswith("κ=") for t in ax.texts) == 3
    with pytest.raises(ValueError, match="paths must have shape"):
        plots.lps_paths(model, x, res.path[:, :2])


def test_results_table_layout() -> None:
    rows = [
        dict(model=m, attack=a, eps=0.0 if a == "nat" else 0.031, metric="accuracy",
             value=v + s + k, seed=s)
        for k, m in enumerate(("AT", "MAIL-AT"))
        for a, v in (("nat", 80.0), ("pgd20", 50.0), ("aa", 45.0))
        for s in range(3)
    ]  # fmt: skip
    paper = {"AT": {"NAT": 84.52, "PGD-20": 55.25}, "MAIL-AT": {"NAT": 81.84}}
    styler = plots.results_table(pd.DataFrame(rows), paper=paper, caption="Table 7")
    table = styler.data
    assert list(table.index) == ["AT", "MAIL-AT"]
    assert list(table.columns) == ["NAT", "PGD-20", "AA", "NAT (paper)", "PGD-20 (paper)"]
    assert table.loc["AT", "NAT"] == "81.00 ± 1.00"
    assert table.loc["MAIL-AT", "AA"] == "47.00 ± 1.00"
    assert table.loc["AT", "PGD-20 (paper)"] == "55.25"
    assert table.loc["MAIL-AT", "PGD-20 (paper)"] == "—"
    html = styler.to_html()
    assert "font-weight: bold" in html and "Table 7" in html
    one_seed = pd.DataFrame(rows)[lambda d: d.seed == 0]
    single = plots.results_table(one_seed).data
    assert single.loc["AT", "NAT"] == "80.00"  # one seed: no ± std


def test_results_table_column_groups() -> None:
    rows = [
        dict(model=m, dataset=d, attack=a, eps=0.0 if a == "nat" else 0.031, value=v + k)
        for d in ("SVHN", "CIFAR-100")
        for k, m in enumerate(("AT", "TRADES"))
        for a, v in (("pgd100", 50.0), ("nat", 90.0), ("aa", 45.0))
    ]  # fmt: skip
    table = plots.results_table(pd.DataFrame(rows), group="dataset").data
    assert table.columns.tolist() == [
        (d, c) for d in ("SVHN", "CIFAR-100") for c in ("NAT", "PGD-100", "AA")
    ]
    assert table.loc["TRADES", ("CIFAR-100", "AA")] == "46.00"


def test_save_is_byte_identical(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MAILVIZ_NOTEBOOK", "03_weights")

    def make():
        return plots.weight_functions(["sigmoid", "gairat_tanh"])

    png, svg = plots.save(make(), "curves", root=tmp_path)
    assert png == tmp_path / "03_weights" / "curves.png" and svg.suffix == ".svg"
    first = (png.read_bytes(), svg.read_bytes())
    assert first[0].startswith(b"\x89PNG") and b"<svg" in first[1]
    assert b"Date" not in first[1] and b"Software" not in first[0]
    plots.save(make(), "curves", root=tmp_path)
    assert (png.read_bytes(), svg.read_bytes()) == first
    assert sorted(p.name for p in png.parent.iterdir()) == ["curves.png", "curves.svg"]
    monkeypatch.delenv("MAILVIZ_NOTEBOOK")
    other, _ = plots.save(make(), "curves", root=tmp_path)
    assert other.parent.name == "misc"
    with pytest.raises(ValueError, match="file stem"):
        plots.save(make(), "curves.png", root=tmp_path)


def test_dataset_samples_images_and_moons() -> None:
    from mailviz.data import load_dataset

    digits = load_dataset("digits", "test")
    fig = plots.dataset_samples(digits, per_class=3)
    assert len(fig.axes) == 10 * 3
    assert "digits" in fig._suptitle.get_text()
    assert [a.get_title() for a in fig.axes[:2]] == ["0", "1"]  # one column per class
    plt.close(fig)
    moons = load_dataset("moons", "test")
    fig = plots.dataset_samples(moons)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].collections) == 2  # one scatter per class
    plt.close(fig)
    with pytest.raises(ValueError, match="per_class"):
        plots.dataset_samples(digits, per_class=0)


def test_training_curves_panels_and_columns() -> None:
    history = pd.DataFrame(
        {"epoch": [1, 2, 3], "loss": [2.0, 1.0, 0.5], "nat_acc": [50.0, 80.0, 90.0],
         "pgd_acc": [10.0, 30.0, 40.0], "train_adv_acc": [5.0, 20.0, 35.0]}
    )
    fig = plots.training_curves(history, title="AT")
    assert len(fig.axes) == 2
    assert len(fig.axes[1].get_lines()) == 3
    assert fig.axes[1].get_ylabel() == "accuracy (%)"
    plt.close(fig)
    with pytest.raises(ValueError, match="training_curves needs columns"):
        plots.training_curves(history.drop(columns=["nat_acc"]))
