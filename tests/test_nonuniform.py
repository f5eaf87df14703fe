"""mailviz.nonuniform: catalogue, cached attacks, A_rob/A_sa/A_tr tables, spread, paper numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from mailviz import evaluate as ev
from mailviz import nonuniform as nu
from mailviz import weights
from mailviz.config import get_profile
from mailviz.data import load_dataset
from mailviz.train import TrainedModel

EPS = 0.2
PLAN = nu.NonuniformPlan(steps=3, alphas_test=(0.0, 1.0, 2.0), hist_alphas=(0.0, 2.0),
                         long_steps=6, long_n=30, rhos=(0.0, 0.5, 100.0))  # fmt: skip


def _linear(seed: int, iters: int) -> nn.Module:
    torch.manual_seed(seed)
    train = load_dataset("digits", "train")
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(iters):
        opt.zero_grad()
        F.cross_entropy(model(train.x), train.y).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def test_set():
    return load_dataset("digits", "test").subset(60)


@pytest.fixture()
def models(tmp_path: Path) -> dict[nu.ZengModel, TrainedModel]:
    """Two tiny linear 'trained models' with distinct configs and run folders."""
    out = {}
    for i, m in enumerate((nu.ZengModel("PGD"), nu.ZengModel("PGD", 0.1))):
        cfg = get_profile("smoke", method=m.method, seed=0)  # one replicate, paired by seed
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        out[m] = TrainedModel(model=_linear(i, 40 + 20 * i), config=cfg,
                              history=pd.DataFrame(), path=folder)  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# catalogue


def test_catalogue_names_methods_and_order() -> None:
    cat = nu.zeng_catalogue()
    assert [m.name for m in cat] == [
        "TRADES", "TRADES+ours (α_train=0.1)", "TRADES+ours (α_train=1)",
        "TRADES+ours (α_train=1.5)", "TRADES+ours (α_train=2)", "PGD", "PGD+ours (α_train=0.1)",
    ]  # fmt: skip
    assert [m.method for m in cat] == ["trades"] + ["weighted_trades"] * 4 + ["at", "weighted_at"]
    assert [m.name for m in cat if m.headline] == [
        "TRADES", "TRADES+ours (α_train=2)", "PGD", "PGD+ours (α_train=0.1)"]
    assert nu.zeng_catalogue("TRADES") == cat[:5]


def test_catalogue_configs_share_the_default_recipes_cache_key() -> None:
    from mailviz.experiments import method_config

    assert nu.ZengModel("TRADES", 2.0).config("smoke") == method_config("weighted_trades", "smoke")
    assert nu.ZengModel("PGD", 0.1).config("smoke") == method_config("weighted_at", "smoke")
    assert nu.ZengModel("PGD").config("smoke") == method_config("at", "smoke")
    assert nu.ZengModel("TRADES", 1.5).config("smoke").params == {"alpha_train": 1.5}


@pytest.mark.parametrize("bad", [dict(family="MART"), dict(family="PGD", alpha_train=0.0),
                                 dict(family="PGD", alpha_train=True)])  # fmt: skip
def test_zeng_model_rejects_bad_arguments(bad) -> None:
    with pytest.raises(ValueError) as info:
        nu.ZengModel(**bad)
    assert "\n" not in str(info.value)


def test_plan_for_profiles() -> None:
    assert nu.plan_for("quick").eps_grid(0.2) == pytest.approx((0.05, 0.1, 0.2))
    assert nu.plan_for("mnist").step_size(0.3) == pytest.approx(0.01)
    assert nu.plan_for("quick").step_size(0.2) is None
    with pytest.raises(ValueError, match="unknown profile"):
        nu.plan_for("huge")


# --------------------------------------------------------------------------------------------
# attack runs and metrics


def test_attack_run_is_cached_next_to_the_model(models, test_set, monkeypatch) -> None:
    m, t = next(iter(models.items()))
    first = nu.attack_run(t, test_set, EPS, steps=3)
    assert list((t.path / "results").glob("attack-*.csv"))

    def boom(*args, **kwargs):
        raise AssertionError("the cached run should have been loaded")

    monkeypatch.setattr(ev, "per_example", boom)
    again = nu.attack_run(t, test_set, EPS, steps=3)
    pd.testing.assert_frame_equal(first, again)
    with pytest.raises(AssertionError, match="cached run"):
        nu.attack_run(t, test_set, EPS, steps=4)  # another setting is another key


def test_table_equals_evaluate_nonuniform_report(models, test_set) -> None:
    table = nu.nonuniform_table(models, test_set, PLAN, eps=[EPS])
    for m, t in models.items():
        ref = ev.nonuniform_report(t.model, test_set, EPS, PLAN.alphas_test, steps=PLAN.steps)
        ours = table[table["model"] == m.name].reset_index(drop=True)
        np.testing.assert_array_equal(ours[["A_rob", "A_sa", "A_tr"]].to_numpy(),
                                      ref[["A_rob", "A_sa", "A_tr"]].to_numpy())  # fmt: skip
    assert table.attrs["label"].startswith("measured — digits / digits_cnn")
    assert nu.ordering_violations(table.assign(A_tr=table["A_sa"])).empty


def test_tr_only_where_the_plan_asks(models, test_set) -> None:
    plan = nu.NonuniformPlan(steps=2, alphas_test=(1.0,), eps_fractions=(0.5, 1.0),
                             tr_all_models=False)  # fmt: skip
    weak = {nu.ZengModel("TRADES", 1.0): next(iter(models.values()))}
    table = nu.nonuniform_table(weak, test_set, plan)
    assert table.set_index("eps_fraction")["A_tr"].isna().to_dict() == {0.5: True, 1.0: False}
    assert table["A_sa"].notna().all()


def test_metrics_at_alpha_zero_are_uniform_and_a_sa_falls_with_alpha() -> None:
    g = torch.Generator().manual_seed(0)
    margin = torch.rand(200, generator=g) * 2 - 1
    run = pd.DataFrame({"correct": (margin > 0).numpy(), "margin": margin.double().numpy()})
    out = nu.nonuniform_metrics(run, [0.0, 0.5, 1.0, 2.0, 4.0])
    assert out["A_sa"].iloc[0] == out["A_rob"].iloc[0] == 100 * run["correct"].mean()
    assert (np.diff(out["A_sa"].to_numpy()) <= 0).all()
    assert out["A_tr"].iloc[1:].isna().all() and out["A_tr"].iloc[0] == out["A_rob"].iloc[0]


def test_ordering_violations_flags_broken_rows() -> None:
    table = pd.DataFrame({"A_rob": [50.0, 50.0, 50.0], "A_sa": [40.0, 40.0, 51.0],
                          "A_tr": [39.0, 41.0, math.nan]})  # fmt: skip
    bad = nu.ordering_violations(table)
    assert bad["A_tr"].tolist()[0] == 41.0 and len(bad) == 2
    assert len(nu.ordering_violations(table, tol=1.0)) == 0


def test_attack_table_and_uniform_table(models, test_set) -> None:
    t9 = nu.attack_table(models, test_set, PLAN, alphas_test=(1.0,))
    assert sorted(t9["attack"].unique()) == ["3-PGD", "3-PGD-margin", "6-PGD", "6-PGD-margin"]
    assert (t9["n"] == PLAN.long_n).all()
    assert (t9["A_sa"] <= t9["A_rob"] + 1e-9).all()
    # the short PGD row is the full-set run's prefix, s̃ renormalised over it
    m, t = next(iter(models.items()))
    prefix = nu.first(nu.attack_run(t, test_set, EPS, steps=3), PLAN.long_n)
    row = t9[(t9["model"] == m.name) & (t9["attack"] == "3-PGD")].iloc[0]
    assert row["A_sa"] == ev.nonuniform_accuracy(torch.tensor(prefix["correct"].to_numpy()),
                                                 torch.tensor(prefix["margin"].to_numpy()), 1.0)
    uni = nu.uniform_table(models, test_set, PLAN)
    assert (uni["A_nat"] >= uni["A_rob"]).all()


# --------------------------------------------------------------------------------------------
# spread of s̃


def test_weight_spread_extremes() -> None:
    uniform = nu.weight_spread(np.full(8, 1 / 8))
    assert uniform["entropy_deficit"] == pytest.approx(0.0, abs=1e-12)
    assert uniform["ess_fraction"] == pytest.approx(1.0)
    assert uniform["max_over_uniform"] == pytest.approx(1.0)
    point = nu.weight_spread(np.eye(8)[3])
    assert point["entropy_deficit"] == pytest.approx(math.log(8))
    assert point["ess"] == pytest.approx(1.0) and point["max_weight"] == 1.0
    with pytest.raises(ValueError, match="sum to 1"):
        nu.weight_spread([0.5, 0.2])


@given(st.lists(st.floats(-1, 1), min_size=2, max_size=40),
       st.floats(0, 3), st.floats(0, 3))  # fmt: skip
def test_spread_grows_with_alpha(margins, a, b) -> None:
    lo, hi = sorted((a, b))
    m = torch.tensor(margins, dtype=torch.float64)
    s_lo, s_hi = (nu.weight_spread(weights.importance(m, x)) for x in (lo, hi))
    assert s_hi["entropy_deficit"] >= s_lo["entropy_deficit"] - 1e-9
    assert s_hi["max_weight"] >= s_lo["max_weight"] - 1e-12
    assert s_hi["ess"] <= s_lo["ess"] + 1e-6


def test_importance_frame_equals_weight_distribution(models, test_set) -> None:
    frame = nu.importance_frame(models, test_set, PLAN, eps=[EPS])
    m, t = next(iter(models.items()))
    ref = ev.weight_distribution(t.model, test_set, EPS, PLAN.hist_alphas, steps=PLAN.steps)
    ours = frame[frame["model"] == m.name].reset_index(drop=True)
    np.testing.assert_array_equal(ours["weight"].to_numpy(), ref["weight"].to_numpy())
    assert math.isnan(ours["alpha_train"].iloc[0])
    spread = nu.spread_table(frame)
    assert len(spread) == len(models) * len(PLAN.hist_alphas)
    zero = spread[spread["alpha_test"] == 0.0]
    assert np.allclose(zero["entropy_deficit"], 0.0, atol=1e-12)


def test_rank_trend() -> None:
    frame = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3, "x": [np.nan, 1.0, 2.0] * 2,
                          "y": [1.0, 2.0, 3.0, 3.0, 1.0, 2.0]})  # fmt: skip
    out = nu.rank_trend(frame, "x", "y", by=["g"], fill_x=0.0).set_index("g")
    assert out.loc["a", "increasing"] and out.loc["a", "spearman"] == pytest.approx(1.0)
    assert not out.loc["b", "increasing"] and not out.loc["b", "decreasing"]


def test_dro_table_endpoints(models, test_set) -> None:
    table = nu.dro_table(models, test_set, PLAN, eps=EPS)
    for m, t in models.items():
        run = nu.attack_run(t, test_set, EPS, steps=PLAN.steps)
        part = table[table["model"] == m.name].sort_values("rho")
        assert part["loss"].iloc[0] == pytest.approx(run["loss"].mean())
        assert part["loss"].iloc[-1] == pytest.approx(run["loss"].max())
        assert (np.diff(part["loss"].to_numpy()) >= -1e-12).all()


# --------------------------------------------------------------------------------------------
# the paper's numbers


def test_zeng_json_tables_as_printed() -> None:
    from mailviz.paper import paper_table, paper_tables

    path = Path(nu.__file__).with_name("paper_numbers") / "zeng.json"
    raw = json.loads(path.read_text())
    sizes = {"table1": 12, "table2": 12, "table3": 16, "table4": 12, "table5": 13, "table6": 9,
             "table7": 36, "table8": 45, "table9": 36, "table10": 9, "table11": 9, "table12": 11}
    assert {t: len(raw[t]["rows"]) for t in sizes} == sizes
    assert set(sizes) <= set(paper_tables("zeng"))
    t2 = paper_table("zeng", "table2")
    trades = t2[(t2["defense"] == "TRADES+ours") & (t2["alpha_test"] == 2.0)].iloc[0]
    assert (trades["A_rob"], trades["A_sa"], trades["A_tr"]) == (54.10, 23.62, 19.79)
    for entry in raw.values():
        assert {"title", "source", "dataset", "model", "rows"} <= set(entry)


def test_paper_reference_readings() -> None:
    ref = nu.paper_reference("quick")
    assert ref.attrs["label"] == (
        "Zeng et al. Tables 7, 8, 11, 2 — CIFAR-10 / ResNet-18, paper scale")
    key = ["defense", "alpha_train", "eps_fraction", "alpha_test"]
    assert not ref.duplicated(key).any()
    idx = ref.set_index(key)
    # Table 8 prints the ε/2 baseline as "TRADES+ours" with α_train "−": read as TRADES
    assert idx.loc[("TRADES", np.nan, 0.5, 1.0), "A_rob"] == 69.62
    # α_train = 1.5 printed twice per ε/2 block: the first is kept
    assert idx.loc[("TRADES+ours", 1.5, 0.5, 1.0), "A_sa"] == 53.76
    row = idx.loc[("TRADES+ours", 2.0, 1.0, 2.0)]
    assert (row["A_sa"], row["A_tr"]) == (23.62, 19.79)
    assert row["source"] == "Table 8, Table 11, Table 2"
    assert ("PGD+ours", 0.1, 1.0, 2.0) in idx.index  # from Table 11
    mnist = nu.paper_reference("mnist")
    assert "MNIST" in mnist.attrs["label"] and set(mnist["eps_fraction"]) == {1.0}
    assert nu.paper_reference("mnist", "attacks").empty


def test_beside_paper_labels_and_matches(models, test_set) -> None:
    table = nu.nonuniform_table(models, test_set, PLAN, eps=[EPS])
    table["eps_fraction"] = 1.0  # the smoke config trains at ε = 0.2: this is ε_test = ε_train
    ref = nu.paper_reference("quick")
    both = nu.beside_paper(table, ref)
    top = list(dict.fromkeys(both.columns.get_level_values(0)))
    assert top == [table.attrs["label"], ref.attrs["label"]]
    paper = both[ref.attrs["label"]]
    assert paper.loc[("PGD", 1.0, 2.0), "A_tr"] == 9.72
    assert paper.loc[("PGD+ours (α_train=0.1)", 1.0, 1.0), "A_sa"] == 26.49
    assert math.isnan(paper.loc[("PGD", 1.0, 0.0), "A_rob"])  # α_test = 0 is not published


def test_gain_over_baseline_and_headline_catalogue(models, test_set) -> None:
    assert [m.name for m in nu.zeng_catalogue("TRADES", headline=True)] == [
        "TRADES", "TRADES+ours (α_train=2)"]
    table = nu.nonuniform_table(models, test_set, PLAN, eps=[EPS])
    gain = nu.gain_over_baseline(table, "A_sa")
    assert len(gain) == len(PLAN.alphas_test)
    row = gain[gain["alpha_test"] == 2.0].iloc[0]
    sel = table[table["alpha_test"] == 2.0].set_index("model")["A_sa"]
    assert row["gain"] == sel["PGD+ours (α_train=0.1)"] - sel["PGD"]
    dro = nu.dro_table(models, test_set, PLAN, eps=EPS)
    assert len(nu.gain_over_baseline(dro, "loss", on=["rho"])) == len(PLAN.rhos)
    with pytest.raises(ValueError, match="lacks columns"):
        nu.gain_over_baseline(table, "A_nat")


def test_beside_paper_without_published_numbers(models, test_set) -> None:
    strong = nu.attack_table(models, test_set, PLAN, alphas_test=(1.0,))
    empty = nu.paper_reference("mnist", "attacks")
    both = nu.beside_paper(strong, empty)
    assert both[strong.attrs["label"]].notna().all().all()
    assert both[empty.attrs["label"]].isna().all().all()
    assert list(both[empty.attrs["label"]].columns) == ["A_rob", "A_sa"]


def test_evaluate_models_matches_the_evaluate_functions(test_set) -> None:
    models = {"a": _linear(0, 30), "b": _linear(1, 60)}
    table, weights, nat = nu.evaluate_models(models, test_set, EPS, PLAN, batch_size=30)
    assert set(table["model"]) == {"a", "b"} and set(nat["model"]) == {"a", "b"}
    direct = ev.nonuniform_report(models["b"], test_set, EPS, (0.0, 1.0, 2.0),
                                        steps=PLAN.steps, batch_size=30)  # fmt: skip
    mine = table[table["model"] == "b"].drop(columns="model").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, direct)
    assert set(weights["alpha_test"]) == set(PLAN.hist_alphas)
    with pytest.raises(ValueError, match="at least one model"):
        nu.evaluate_models({}, test_set, EPS, PLAN)


def test_tables_show_progress_over_their_attack_runs(models, test_set, capsys) -> None:
    nu.nonuniform_table(models, test_set, PLAN, eps=[EPS], progress=True)
    err = capsys.readouterr().err  # 2 models × (PGD + weighted PGD at α_test 1 and 2)
    assert "A_rob / A_sa / A_tr" in err and "0/6" in err
    nu.uniform_table(models, test_set, PLAN, progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------------------------
# replicates


def _replicated(tmp_path: Path) -> dict[tuple[nu.ZengModel, int], TrainedModel]:
    """The PGD pair in two replicates (seeds 0 and 1), each a tiny linear model."""
    out = {}
    for m in (nu.ZengModel("PGD"), nu.ZengModel("PGD", 0.1)):
        for seed in (0, 1):
            cfg = get_profile("smoke", method=m.method, seed=seed)
            folder = tmp_path / f"{m.method}-{seed}"
            folder.mkdir()
            iters = 30 + 10 * seed + (20 if m.weighted else 0)
            out[(m, seed)] = TrainedModel(model=_linear(seed, iters), config=cfg,
                                          history=pd.DataFrame(), path=folder)  # fmt: skip
    return out


def test_tables_carry_the_seed_and_attack_with_each_models_seed(tmp_path, test_set) -> None:
    runs = _replicated(tmp_path)
    table = nu.nonuniform_table(runs, test_set, PLAN, eps=[EPS], progress=False)
    assert sorted(table["seed"].unique()) == [0, 1]
    assert table.attrs["label"].endswith("2 replicates")
    (m, seed), t = list(runs.items())[1]
    ref = ev.nonuniform_report(t.model, test_set, EPS, PLAN.alphas_test, steps=PLAN.steps,
                               seed=seed)  # the attack's seed is the model's training seed
    mine = table[(table["model"] == m.name) & (table["seed"] == seed)].reset_index(drop=True)
    np.testing.assert_array_equal(mine[["A_rob", "A_sa", "A_tr"]].to_numpy(),
                                  ref[["A_rob", "A_sa", "A_tr"]].to_numpy())  # fmt: skip
    gain = nu.gain_over_baseline(table, "A_sa")
    assert sorted(gain["seed"]) == [0, 0, 0, 1, 1, 1] and gain["baseline"].notna().all()
    wide = nu.beside_paper(table, nu.paper_reference("quick"))
    cell = wide.iloc[0, 0]
    assert isinstance(cell, str) and " ± " in cell
    for frame in (nu.uniform_table(runs, test_set, PLAN, progress=False),
                  nu.dro_table(runs, test_set, PLAN), nu.importance_frame(runs, test_set, PLAN),
                  nu.catalogue_summary({k: v.__class__(model=v.model, config=v.config,
                                                       history=pd.DataFrame(
                                                           dict(epoch=[1], nat_acc=[1.0],
                                                                pgd_acc=[1.0],
                                                                epoch_seconds=[1.0])),
                                                       path=v.path)
                                        for k, v in runs.items()})):
        assert sorted(frame["seed"].unique()) == [0, 1]


def test_standin_tables_reuse_the_cached_attack_runs(tmp_path, test_set, monkeypatch) -> None:
    runs = _replicated(tmp_path)
    pgd = {("PGD", s): t for (m, s), t in runs.items() if not m.weighted}
    table, weights_, nat = nu.standin_tables(pgd, test_set, PLAN)
    assert list(table.columns[:4]) == ["model", "seed", "eps", "alpha_test"]
    assert (table[table["alpha_test"] == 0.0]["A_sa"] == table[table["alpha_test"] == 0.0]
            ["A_rob"]).all()  # fmt: skip
    assert weights_.groupby(["seed", "alpha_test"])["weight"].sum().to_numpy() == pytest.approx(1)
    assert sorted(nat["seed"]) == [0, 1]

    def boom(*args, **kwargs):
        raise AssertionError("standin_tables must read the cached runs")

    monkeypatch.setattr(ev, "per_example", boom)
    again, _, _ = nu.standin_tables(pgd, test_set, PLAN)
    pd.testing.assert_frame_equal(table, again)
    with pytest.raises(ValueError, match="TrainedModel"):
        nu.standin_tables({("x", 0): object()}, test_set, PLAN)


def test_train_catalogue_trains_every_seed(tmp_path, monkeypatch) -> None:
    import mailviz.train as train_module

    seen = []

    def fake_train(cfg, progress=False):
        seen.append((cfg.method, cfg.seed))
        return TrainedModel(model=nn.Identity(), config=cfg, history=pd.DataFrame(), path=None)

    monkeypatch.setattr(train_module, "train", fake_train)
    runs = nu.train_catalogue(nu.zeng_catalogue("PGD"), "smoke", seeds=[3, 4])
    assert list(runs) == [(nu.ZengModel("PGD"), 3), (nu.ZengModel("PGD"), 4),
                          (nu.ZengModel("PGD", 0.1), 3), (nu.ZengModel("PGD", 0.1), 4)]
    assert seen == [("at", 3), ("at", 4), ("weighted_at", 3), ("weighted_at", 4)]
    with pytest.raises(ValueError, match="seed"):
        nu.train_catalogue(nu.zeng_catalogue("PGD"), "smoke", seeds=[])
