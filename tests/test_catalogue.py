"""mailviz.catalogue: the lessons' models, their cached evaluations, parallel preparation."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from mailviz import analysis, catalogue, nonuniform
from mailviz.config import config_hash


def test_entries_cover_every_lesson_model_once_per_seed() -> None:
    entries = catalogue.entries("quick", [0, 1, 2])
    keys = Counter((config_hash(e.config), e.config.seed) for e in entries)
    assert max(keys.values()) == 1  # merged: AT of Table 4 is also Zeng's PGD baseline
    assert {e.config.seed for e in entries} == {0, 1, 2}
    per_seed = len(entries) // 3
    specs = {
        (config_hash(s.config("quick", 0)))
        for t in analysis.MAIL_TABLES
        for s in analysis.mail_table_specs(t)
    }
    zeng = {config_hash(m.config("quick", seed=0)) for m in nonuniform.zeng_catalogue()}
    assert per_seed == len(specs | zeng) + 1  # + the moons toy of lessons 01 and 03
    toy = [e for e in entries if e.config.dataset == "moons"]
    assert len(toy) == 3 and not any(e.tasks for e in toy)
    at = next(e for e in entries if e.config.method == "at" and e.config.seed == 0)
    assert {"mail", "weights", "zeng", "strong", "paths", "pgd20", "audit"} <= at.tasks
    audited = [e for e in entries if "audit" in e.tasks]
    assert len(audited) == 7 * 3  # lesson 09's seven methods, merged with lessons 05/06 models
    only09 = catalogue.entries("quick", [0, 1, 2], lessons=["09"])
    assert len(only09) == 21 and all(e.tasks == {"audit"} for e in only09)
    assert at.zeng == ("PGD", None)
    mt = next(e for e in entries if e.config.method == "mail_trades" and not e.config.params
              and e.config.attack_loss is None and e.config.seed == 0)  # fmt: skip
    assert "weights_mm" in mt.tasks
    assert all(e.tasks for e in entries if e.config.dataset != "moons")
    assert all(e.cost >= 1 for e in entries)
    with pytest.raises(ValueError, match="seed"):
        catalogue.entries("quick", [])


def test_mm_objective_and_training_subset() -> None:
    cfg = analysis.mail_table_specs("table5")[0].config("quick", 0)
    assert catalogue.mm_objective(cfg).params["margin"] == "mm"
    assert config_hash(catalogue.mm_objective(cfg)) == config_hash(
        analysis.mail_table_specs("table5")[1].config("quick", 0)
    )
    assert catalogue.training_subset("paper") == 10_000
    assert catalogue.training_subset("quick") is None


def _tiny(monkeypatch, tmp_path) -> list[catalogue.Entry]:
    monkeypatch.setenv("MAILVIZ_CACHE", str(tmp_path / "cache"))
    small = {"epochs": 1, "train_subset": 64}
    specs = analysis.mail_table_specs("table4")[:2]  # AT and TRADES
    out = []
    for spec in specs:
        for seed in (0, 1):
            cfg = spec.config("smoke", seed, **small)
            out.append(catalogue.Entry(cfg, f"{spec.label}, seed {seed}", frozenset({"mail"})))
    return out


def test_run_entry_fills_the_cache_the_lessons_read(monkeypatch, tmp_path) -> None:
    from mailviz import evaluate
    from mailviz.data import load_dataset

    entry = _tiny(monkeypatch, tmp_path)[0]
    row = catalogue.run_entry(entry)
    assert row["label"] == "AT, seed 0" and not row["from_cache"] and row["train_s"] > 0

    def boom(*args, **kwargs):
        raise AssertionError("the lesson's call should find the prepared result")

    monkeypatch.setattr(evaluate, "per_example", boom)
    run = analysis.train_specs(analysis.mail_table_specs("table4")[:1], "smoke", [0],
                               epochs=1, train_subset=64)  # fmt: skip
    plan = analysis.evaluation_plan("smoke")
    per = analysis.per_example_runs(run, load_dataset("digits", "test"), plan.attacks,
                                    n=plan.n, aa_n=plan.aa_n)  # fmt: skip
    assert set(per["attack"]) == set(plan.attacks)


def test_prepare_in_two_worker_processes(monkeypatch, tmp_path) -> None:
    entries = _tiny(monkeypatch, tmp_path)
    for e in entries:  # keep the workers quick: training only
        object.__setattr__(e, "tasks", frozenset())
    monkeypatch.setattr(catalogue, "entries", lambda profile, seeds, lessons=None: entries)
    times = catalogue.prepare("smoke", replicates=2, workers=2, progress=False)
    assert isinstance(times, pd.DataFrame) and len(times) == 4
    assert times["pid"].nunique() >= 1 and not times["from_cache"].any()
    again = catalogue.prepare("smoke", replicates=2, workers=1, progress=False)
    assert again["from_cache"].all()
    with pytest.raises(ValueError, match="workers"):
        catalogue.prepare("smoke", workers=0)


def test_entries_for_some_lessons_keep_only_what_they_read() -> None:
    full = catalogue.entries("mnist", [0])
    zeng = catalogue.entries("mnist", [0], lessons=["04", "05", "07"])
    assert {e.config.method for e in zeng} == {"at", "trades", "weighted_at", "weighted_trades"}
    assert all(e.tasks <= {"zeng", "strong"} and e.tasks for e in zeng)
    assert len(zeng) == 7 < len(full)
    toy = catalogue.entries("quick", [0], lessons=["03"])
    assert {e.config.dataset for e in toy} == {"digits", "moons"}
    assert [e.tasks for e in toy if e.config.dataset == "digits"] == [frozenset({"pgd20"})]
    assert catalogue.entries("quick", [0], lessons=["00"]) == []
    empty = catalogue.prepare("quick", replicates=1, workers=1, lessons=["00"], progress=False)
    assert empty.empty and "from_cache" in empty.columns
