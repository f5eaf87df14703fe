"""Tests of mailviz.analysis: path dependency of κ, PM vs MM, objective weights, results tables."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from mailviz import analysis, attacks, margins
from mailviz.config import ConfigError, config_hash, get_profile
from mailviz.experiments import method_config


def _linear(classes: int = 3, features: int = 4, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(features, 16), nn.ReLU(), nn.Linear(16, classes))


def _data(n: int = 24, features: int = 4, classes: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, features, generator=gen), torch.randint(0, classes, (n,), generator=gen)


def _digits(n: int = 32, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=gen), torch.randint(0, 10, (n,), generator=gen)


# --------------------------------------------------------------------------------------------
# attack settings and the κ / PM table
# --------------------------------------------------------------------------------------------


def test_attack_setting_validates() -> None:
    with pytest.raises(ValueError, match="step_size"):
        analysis.AttackSetting("pgd", steps=10)
    with pytest.raises(ValueError, match="steps"):
        analysis.AttackSetting("pgd", steps=0, step_size=0.1)
    with pytest.raises(ValueError, match="start"):
        analysis.AttackSetting("pgd", step_size=0.1, start="gaussian")
    assert analysis.AttackSetting("lm", lm=True).step_size is None


def test_path_settings_cover_start_step_and_lm() -> None:
    settings = analysis.path_settings(0.2, steps=7)
    assert [s.steps for s in settings] == [7] * 5
    ref, other_start, small, large, lm = settings
    assert ref.step_size == pytest.approx(0.05) and ref.seed != other_start.seed
    assert small.step_size == pytest.approx(0.025) and large.step_size == pytest.approx(0.1)
    assert small.seed == ref.seed and lm.lm and lm.seed == ref.seed
    with pytest.raises(ValueError, match="eps"):
        analysis.path_settings(0.0)


def test_kappa_pm_table_matches_the_attacks() -> None:
    model = _linear()
    x, y = _data()
    settings = analysis.path_settings(0.3, steps=5)
    frame = analysis.kappa_pm_table(model, (x, y), 0.3, settings, batch_size=10)
    assert len(frame) == 5 * len(y)
    assert list(frame["setting"].unique()) == [s.name for s in settings]
    assert frame["kappa"].between(0, 5).all()
    # PGD rows equal the attack run batch by batch with the setting's generator
    ref = settings[0]
    gen = torch.Generator().manual_seed(ref.seed)
    kappas, logits = [], []
    for i in range(0, len(y), 10):
        res = attacks.pgd(model, x[i : i + 10], y[i : i + 10], 0.3, ref.step_size, 5,
                          generator=gen, return_result=True)  # fmt: skip
        kappas.append(res.kappa)
        logits.append(res.logits)
    rows = frame[frame["setting"] == ref.name]
    assert np.array_equal(rows["kappa"].to_numpy(), torch.cat(kappas).numpy())
    pm = margins.probabilistic_margin(torch.cat(logits), y).double().numpy()
    np.testing.assert_allclose(rows["pm"].to_numpy(), pm, atol=1e-7)
    # same settings twice: identical (deterministic starts)
    again = analysis.kappa_pm_table(model, (x, y), 0.3, settings, batch_size=10)
    pd.testing.assert_frame_equal(frame, again)


def test_kappa_of_lm_pgd_counts_its_path() -> None:
    model = _linear()
    x, y = _data()
    lm = analysis.AttackSetting("lm", steps=4, lm=True, seed=3)
    frame = analysis.kappa_pm_table(model, (x, y), 0.3, [lm])
    res = attacks.lm_pgd(model, x, y, 0.3, steps=4, record=True, return_result=True,
                         generator=torch.Generator().manual_seed(3))  # fmt: skip
    expected = margins.kappa_from_predictions(res.path_pred[:-1], y)
    assert np.array_equal(frame["kappa"].to_numpy(), expected.numpy())


def test_kappa_pm_table_validates() -> None:
    model = _linear()
    x, y = _data()
    s = analysis.AttackSetting("a", step_size=0.1)
    with pytest.raises(ValueError, match="unique"):
        analysis.kappa_pm_table(model, (x, y), 0.3, [s, s])
    with pytest.raises(ValueError, match="settings"):
        analysis.kappa_pm_table(model, (x, y), 0.3, [])
    with pytest.raises(ValueError, match="batch_size"):
        analysis.kappa_pm_table(model, (x, y), 0.3, [s], batch_size=0)
    with pytest.raises(ValueError, match="data"):
        analysis.kappa_pm_table(model, x, 0.3, [s])


def test_setting_paths_reproduce_the_table_run() -> None:
    model = _linear(features=2, classes=2)
    x, y = _data(n=30, features=2, classes=2)
    settings = analysis.path_settings(0.2, steps=6)
    frame = analysis.kappa_pm_table(model, (x, y), 0.2, settings, batch_size=8)
    chosen = [3, 17, 29]
    for setting in settings:
        p = analysis.setting_paths(model, (x, y), 0.2, setting, chosen, batch_size=8)
        rows = frame[frame["setting"] == setting.name].set_index("example").loc[chosen]
        assert np.array_equal(p["kappa"].numpy(), rows["kappa"].to_numpy())
        np.testing.assert_allclose(p["pm"].double().numpy(), rows["pm"].to_numpy(), atol=1e-7)
        assert p["path"].shape == (7, 3, 2) and p["path_pred"].shape == (7, 3)
        assert torch.equal(p["x"], x[chosen])
    with pytest.raises(ValueError, match="examples"):
        analysis.setting_paths(model, (x, y), 0.2, settings[0], [30])


# --------------------------------------------------------------------------------------------
# rank agreement and changed fraction
# --------------------------------------------------------------------------------------------


def _frame(values: dict[str, list[float]], column: str = "kappa") -> pd.DataFrame:
    rows = [
        dict(setting=name, example=i, **{column: v})
        for name, vals in values.items()
        for i, v in enumerate(vals)
    ]
    return pd.DataFrame(rows)


def test_rank_agreement_identical_and_reversed() -> None:
    frame = _frame({"a": [1, 2, 3, 4], "b": [10, 20, 30, 40], "c": [4, 3, 2, 1]})
    rho = analysis.rank_agreement(frame, "kappa")
    assert list(rho.columns) == ["a", "b", "c"]
    assert rho.loc["a", "b"] == pytest.approx(1.0)
    assert rho.loc["a", "c"] == pytest.approx(-1.0)
    assert analysis.mean_rank_agreement(rho) == pytest.approx((1 - 1 - 1) / 3)
    with pytest.raises(ValueError, match="column"):
        analysis.rank_agreement(frame, "pm")


def test_changed_fraction_counts_against_the_reference() -> None:
    frame = _frame({"ref": [5, 5, 5, 5], "x": [5, 4, 5, 5], "y": [0, 4, 5, 5]})
    frame["pm"] = [0.1, 0.2, 0.3, 0.4, 0.1, 0.5, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4]
    out = analysis.changed_fraction(frame, "kappa", same_end="pm").set_index("setting")
    assert out.loc["x", "changed"] == pytest.approx(0.25)
    assert out.loc["y", "changed"] == pytest.approx(0.5)
    assert out.loc["y", "mean_abs_change"] == pytest.approx((5 + 1) / 4)
    assert out.loc["any setting", "changed"] == pytest.approx(0.5)
    # x changes example 1 with a different PM; y changes examples 0 (same PM) and 1 (same PM)
    assert out.loc["x", "changed_same_end"] == pytest.approx(0.0)
    assert out.loc["y", "changed_same_end"] == pytest.approx(0.5)
    other = analysis.changed_fraction(frame, "kappa", reference="y").set_index("setting")
    assert other.loc["ref", "changed"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="reference"):
        analysis.changed_fraction(frame, reference="nope")


def test_path_dependency_summary_and_examples() -> None:
    frame = _frame({"a": [1, 2, 3, 4], "b": [1, 3, 2, 4]})
    frame["pm"] = [0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4]
    summary = analysis.path_dependency_summary(frame).set_index("measure")
    assert summary.loc["pm", "mean_spearman"] == pytest.approx(1.0)
    assert summary.loc["kappa", "mean_spearman"] < 1.0
    spread = _frame({"a": [0, 0, 0, 0], "b": [3, 1, 3, 0]})
    assert analysis.path_examples(spread, k=3) == [0, 2, 1]
    points = torch.tensor([[0.0, 0.0], [0.5, 0.5], [0.05, 0.0], [0.9, 0.9]])
    picked = analysis.path_examples(spread, k=3, points=points, min_distance=0.2)
    assert picked == [0, 1, 3]  # example 2 is within 0.2 of example 0


# --------------------------------------------------------------------------------------------
# PM vs MM
# --------------------------------------------------------------------------------------------


@given(
    st.integers(min_value=2, max_value=6),
    st.integers(min_value=1, max_value=20),
    st.floats(min_value=0.1, max_value=10.0),
    st.integers(min_value=0, max_value=2**16),
)
def test_pm_is_rest_scaled_tanh_of_mm(classes: int, batch: int, scale: float, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(batch, classes, generator=gen)
    y = torch.randint(0, classes, (batch,), generator=gen)
    table = analysis.margin_table(logits, y)
    np.testing.assert_allclose(table["pm"], table["pm_from_mm"], atol=1e-6)
    assert (np.sign(table["pm"]) == np.sign(table["mm"])).all() or (table["pm"].abs() < 1e-6).any()
    assert table["rest"].between(0.0, 1.0).all()
    if classes == 2:
        assert np.allclose(table["rest"], 0.0, atol=1e-12)


def test_margin_disagreement_two_classes_agree_and_rest_mass_swaps() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 2, generator=gen)
    y = torch.randint(0, 2, (50,), generator=gen)
    agree = analysis.margin_disagreement(analysis.margin_table(logits, y))
    assert agree["spearman"] == pytest.approx(1.0)
    assert agree["discordant_pairs"] == 0.0 and agree["sign_agreement"] == 1.0
    # b has the larger MM (1.5 > 1.0) but spreads its probability over five classes: smaller PM
    low = -20.0
    logits = torch.tensor(
        [
            [1.0, 0.0, low, low, low, low],
            [2.0, 0.5, 0.5, 0.5, 0.5, 0.5],
            [3.0, 0.0, low, low, low, low],
        ]
    )
    table = analysis.margin_table(logits, torch.tensor([0, 0, 0]))
    assert table.loc[1, "mm"] > table.loc[0, "mm"] and table.loc[1, "pm"] < table.loc[0, "pm"]
    assert table.loc[1, "rest"] > table.loc[0, "rest"]
    stats = analysis.margin_disagreement(table)
    assert stats["discordant_pairs"] == pytest.approx(1 / 3)
    assert stats["sign_agreement"] == 1.0 and stats["identity_error"] < 1e-6
    with pytest.raises(ValueError, match="margin_table"):
        analysis.margin_disagreement(pd.DataFrame({"pm": [0.1, 0.2, 0.3]}))


def test_envelope_curve() -> None:
    grid, curve = analysis.envelope_curve([-3.0, 1.0, 2.0], points=5)
    assert grid[0] == -3.0 and grid[-1] == 2.0 and len(curve) == 5
    np.testing.assert_allclose(curve, np.tanh(grid / 2))
    assert float(analysis.pm_envelope(0.0)) == 0.0
    with pytest.raises(ValueError, match="mm"):
        analysis.envelope_curve([])


def test_scale_sweep_mm_ranking_is_scale_free() -> None:
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(200, 10, generator=gen)
    y = torch.randint(0, 10, (200,), generator=gen)
    sweep = analysis.scale_sweep(logits, y, (0.25, 1.0, 3.0), gamma=2.0, beta=0.0)
    mm = sweep[sweep["margin"] == "MM"].set_index("temperature")
    pm = sweep[sweep["margin"] == "PM"].set_index("temperature")
    assert (mm["spearman_vs_T1"] > 1 - 1e-12).all()
    assert pm.loc[1.0, "spearman_vs_T1"] == pytest.approx(1.0)
    # larger logits make the sigmoid weights of MM more concentrated
    assert mm.loc[3.0, "ess"] < mm.loc[1.0, "ess"] < mm.loc[0.25, "ess"] <= 1.0
    assert sweep["weight_on_misclassified"].between(0, 1).all()
    with pytest.raises(ValueError, match="temperatures"):
        analysis.scale_sweep(logits, y, (0.0,))


def test_adversarial_margins_reads_pm_and_mm_from_the_same_logits() -> None:
    model = _linear()
    x, y = _data()
    logits, labels = analysis.adversarial_logits(model, (x, y), 0.2, steps=3, batch_size=7)
    assert logits.shape == (24, 3) and torch.equal(labels, y)
    frame = analysis.adversarial_margins(model, (x, y), 0.2, steps=3, batch_size=7)
    assert frame["example"].tolist() == list(range(24))
    np.testing.assert_allclose(
        frame["mm"], margins.logit_margin(logits, y).double().numpy(), atol=1e-6
    )


# --------------------------------------------------------------------------------------------
# weights the objective assigns
# --------------------------------------------------------------------------------------------


def _smoke(method: str, **params):
    return get_profile("smoke", method=method, params=params, epochs=2, burn_in=0)


def test_objective_weights_uniform_methods_and_model_untouched() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 10)
    ).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = _digits()
    for method in ("at", "trades", "awp"):
        frame = analysis.objective_weights(model, _smoke(method), (x, y), batch_size=16)
        assert (frame["weight"] == 1.0).all() and len(frame) == 32
        assert (frame["method"] == method).all() and (frame["kappa"] == -1).all()
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN stats, AWP: untouched
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


def test_objective_weights_are_the_objectives_own() -> None:
    from mailviz import objectives

    torch.manual_seed(1)
    model = _linear(classes=10, features=64)
    x, y = _digits()
    cfg = _smoke("mail_at")
    frame = analysis.objective_weights(model, cfg, (x, y), batch_size=16, seed=5)
    objective = objectives.build_objective(cfg, generator=torch.Generator().manual_seed(5))
    expected = []
    for i in range(0, 32, 16):
        with torch.no_grad():
            out = objective.loss(model, x[i : i + 16], y[i : i + 16], epoch=cfg.epochs - 1)
        expected.append(out.stats["weight"])
    np.testing.assert_allclose(frame["weight"], torch.cat(expected).numpy(), rtol=1e-6)
    # MAIL's batch normalisation: mean 1 in every mini-batch
    means = frame.groupby(frame["example"] // 16)["weight"].mean()
    np.testing.assert_allclose(means, 1.0, rtol=1e-5)
    gairat = analysis.objective_weights(model, _smoke("gairat"), (x, y), batch_size=16)
    assert gairat["kappa"].between(0, cfg.steps).all()


def test_objective_weights_hinge_zero_below_beta_and_validation() -> None:
    torch.manual_seed(2)
    model = _linear(classes=10, features=64)
    x, y = _digits()
    frame = analysis.objective_weights(
        model, _smoke("mail_trades", weight_fn="hinge"), (x, y), batch_size=32
    )
    assert (frame.loc[frame["margin"] < 0, "weight"] == 0).all()
    with pytest.raises(ValueError, match="epoch"):
        analysis.objective_weights(model, _smoke("at"), (x, y), epoch=2)
    with pytest.raises(ValueError, match="ExperimentConfig"):
        analysis.objective_weights(model, {"method": "at"}, (x, y))


def test_weights_by_and_summary() -> None:
    torch.manual_seed(3)
    model = _linear(classes=10, features=64)
    x, y = _digits(n=16)
    frame = analysis.weights_by(
        {"AT": (model, _smoke("at")), "MAIL": (model, _smoke("mail_at"))}, (x, y),
        column="variant", batch_size=16,
    )  # fmt: skip
    assert frame["variant"].tolist() == ["AT"] * 16 + ["MAIL"] * 16
    summary = analysis.weight_summary(frame, by="variant")
    assert summary.loc["AT", "ess"] == pytest.approx(1.0)
    assert summary.loc["AT", "weight_on_misclassified"] == pytest.approx(
        summary.loc["AT", "misclassified"]
    )
    one_hot = pd.DataFrame(
        dict(method="m", weight=[4.0, 0, 0, 0], correct=[False, True, True, True])
    )
    s = analysis.weight_summary(one_hot).loc["m"]
    assert s["ess"] == pytest.approx(0.25) and s["zero_weight"] == pytest.approx(0.75)
    assert s["weight_on_misclassified"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pair"):
        analysis.weights_by({"AT": model}, (x, y))


# --------------------------------------------------------------------------------------------
# profiles, specs, results tables
# --------------------------------------------------------------------------------------------


def test_evaluation_plan() -> None:
    assert analysis.evaluation_plan("paper").aa_n == 1000
    assert analysis.evaluation_plan("quick").attacks == ("nat", "pgd20", "aa-fast")
    with pytest.raises(ConfigError, match="profile"):
        analysis.evaluation_plan("huge")


def test_mail_table_specs_share_models_with_the_defaults() -> None:
    t4 = {s.label: s for s in analysis.mail_table_specs("table4")}
    assert list(t4) == ["AT", "TRADES", "MART", "FAT", "AWP", "GAIRAT", "MAIL-AT", "MAIL-TRADES"]
    t7 = analysis.mail_table_specs("table7")
    assert [s.tags["perturbation"] for s in t7] == ["PGD", "CW", "KL"] * 2
    own = {s.label: s for s in t7}
    assert own["MAIL-AT, PGD"].attack_loss is None and own["MAIL-TRADES, KL"].attack_loss is None
    assert own["MAIL-AT, KL"].attack_loss == "kl" and own["MAIL-TRADES, CW"].attack_loss == "cw"

    def key(spec):
        return config_hash(
            method_config(spec.method, "quick", attack_loss=spec.attack_loss, params=spec.params)
        )

    assert key(own["MAIL-AT, PGD"]) == key(t4["MAIL-AT"])
    assert key(own["MAIL-TRADES, KL"]) == key(t4["MAIL-TRADES"])
    t6 = {s.label: s for s in analysis.mail_table_specs("table6")}
    assert key(t6["sigmoid"]) == key(t4["MAIL-TRADES"]) != key(t6["hinge"])
    t5 = {s.label: s for s in analysis.mail_table_specs("table5")}
    assert key(t5["PM"]) == key(t4["MAIL-TRADES"]) != key(t5["MM"])
    cw50 = analysis.mail_table_specs("table7_cw50")
    assert [s.label for s in cw50] == ["MAIL-AT, CW, κ_c=50", "MAIL-TRADES, CW, κ_c=50"]
    assert cw50[0].config("quick", 0).cw_confidence == 50.0
    assert config_hash(cw50[0].config("quick", 0)) != key(own["MAIL-AT, CW"])
    with pytest.raises(ValueError, match="table"):
        analysis.mail_table_specs("table9")
    with pytest.raises(ValueError, match="method"):
        analysis.RunSpec("x", "nope")


def test_train_specs_trains_once_then_loads(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MAILVIZ_CACHE", str(tmp_path))
    specs = [analysis.RunSpec("AT", "at")]
    first = analysis.train_specs(specs, "smoke", [0], epochs=1, train_subset=64)
    assert list(first) == [("AT", 0)] and not first[("AT", 0)].from_cache
    again = analysis.train_specs(specs, "smoke", [0], epochs=1, train_subset=64)
    assert again[("AT", 0)].from_cache
    with pytest.raises(ValueError, match="unique"):
        analysis.train_specs(specs * 2, "smoke", [0])
    with pytest.raises(ValueError, match="seed"):
        analysis.train_specs(specs, "smoke", [])


def test_evaluate_runs_caches_next_to_the_model(tmp_path) -> None:
    torch.manual_seed(4)
    model = _linear(classes=10, features=64).eval()
    x, y = _digits(n=20)
    cfg = get_profile("smoke")
    runs = {
        ("A", 0): SimpleNamespace(model=model, config=cfg, path=tmp_path / "a"),
        ("A", 1): SimpleNamespace(model=model, config=cfg, path=None),
    }
    specs = [analysis.RunSpec("A", "at", tags={"family": "AT"})]
    frame = analysis.evaluate_runs(runs, (x, y), ("nat", "pgd3"), n=12, specs=specs)
    assert list(frame.columns) == ["model", "seed", "attack", "eps", "metric", "value", "n",
                                   "family"]  # fmt: skip
    assert frame["n"].tolist() == [12, 12, 12, 12] and (frame["family"] == "AT").all()
    assert len(list((tmp_path / "a" / "results").glob("per-example-*.csv"))) == 2
    again = analysis.evaluate_runs(runs, (x, y), ("nat", "pgd3"), n=12, specs=specs)
    pd.testing.assert_frame_equal(frame, again)
    summary = analysis.summarize(frame)
    assert summary.loc["A", ("nat", "count")] == 2
    assert summary.loc["A", ("nat", "std")] == pytest.approx(0.0)


def test_per_example_runs_match_evaluate_and_the_accuracies(tmp_path) -> None:
    from mailviz import evaluate

    torch.manual_seed(5)
    model = _linear(classes=10, features=64).eval()
    x, y = _digits(n=30)
    cfg = get_profile("smoke")
    runs = {("A", 0): SimpleNamespace(model=model, config=cfg, path=tmp_path / "a")}
    per = analysis.per_example_runs(runs, (x, y), ("nat", "pgd3", "cw3"), n=25)
    assert list(per.columns) == ["model", "seed", "attack", "eps", "example", "correct"]
    assert per.groupby("attack").size().tolist() == [25, 25, 25]
    acc = analysis.accuracies(per).set_index("attack")["value"]
    step = cfg.effective_eval_step_size
    direct = evaluate.evaluate(model, (x, y), ("nat", "pgd3", "cw3"), cfg.eps, step_size=step,
                               n=25, seed=0).set_index("attack")["value"]  # fmt: skip
    assert acc.to_dict() == pytest.approx(direct.to_dict())
    with pytest.raises(ValueError, match="per_example_runs"):
        analysis.accuracies(per.drop(columns="correct"))


def test_summarize_mean_and_std_over_seeds() -> None:
    frame = pd.DataFrame(
        dict(model=["a", "a", "b"], seed=[0, 1, 0], attack="nat", metric="accuracy",
             value=[50.0, 60.0, 70.0])
    )  # fmt: skip
    s = analysis.summarize(frame)
    assert s.loc["a", ("nat", "mean")] == pytest.approx(55.0)
    assert s.loc["a", ("nat", "std")] == pytest.approx(math.sqrt(50.0))
    assert math.isnan(s.loc["b", ("nat", "std")])


def test_paper_columns() -> None:
    t5 = analysis.paper_columns("mail", "table5", "margin")
    assert t5.loc["PM", "AA"] == "50.60 ± 0.22" and list(t5.index) == ["MM", "PM"]
    t7 = analysis.paper_columns("mail", "table7", "attack", split="objective")
    assert list(t7.columns) == ["AT NAT", "AT PGD", "AT AA", "TRADES NAT", "TRADES PGD",
                                "TRADES AA"]  # fmt: skip
    assert t7.loc["CW", "AT PGD"] == "65.55 ± 0.20"
    t4 = analysis.paper_columns("mail", "table4", "method", where={"dataset": "SVHN"})
    assert t4.loc["MAIL-TRADES", "AA"] == "49.10 ± 0.22" and len(t4) == 8
    with pytest.raises(ValueError, match="column"):
        analysis.paper_columns("mail", "table5", "weight_fn")
    with pytest.raises(ValueError, match="no row"):
        analysis.paper_columns("mail", "table7", "attack", where={"objective": "MART"})


def test_method_config_recipes_per_profile() -> None:
    # AWP warms up with plain AT at quick (it stays at chance otherwise); paper keeps the code's 0
    assert method_config("awp", "quick").params["awp_warmup"] == 2
    assert method_config("awp", "paper").params.get("awp_warmup", 0) == 0
    assert method_config("awp", "quick", params={"awp_warmup": 0}).params["awp_warmup"] == 0
    # TRADES' MNIST recipe: β = 1; burn-in scales with the epochs
    assert method_config("weighted_trades", "mnist").params["beta_trades"] == 1.0
    assert method_config("mail_at", "quick", epochs=16).burn_in == 10
