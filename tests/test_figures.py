"""mailviz.figures: the papermill runner's parameters, and `mailviz prepare`."""

from __future__ import annotations

import pandas as pd
import pytest

from mailviz import figures
from mailviz.cli import main


def test_notebook_parameters_read_the_parameters_cell() -> None:
    lesson = next(p for p in figures.list_notebooks() if p.stem.startswith("05"))
    params = figures.notebook_parameters(lesson)
    assert params["SEED"] == 0 and params["REPLICATES"] == 3 and params["PROFILE"] == "quick"
    tour = figures.notebook_parameters(figures.list_notebooks()[0])
    assert "SEED" in tour and "REPLICATES" not in tour


def test_unknown_parameter_is_refused_before_any_work(monkeypatch) -> None:
    import mailviz.catalogue

    def boom(*args, **kwargs):
        raise AssertionError("nothing may run before the parameters are checked")

    monkeypatch.setattr(mailviz.catalogue, "prepare", boom)
    with pytest.raises(ValueError, match="unknown notebook parameter.*SEDD"):
        figures.run_notebooks("quick", only=["05"], parameters={"SEDD": 1})
    with pytest.raises(ValueError, match="workers"):
        figures.run_notebooks("quick", only=["05"], workers=0)


def test_prepare_command_reports_where_the_time_went(monkeypatch, tmp_path, capsys) -> None:
    import mailviz.catalogue

    calls = []

    def fake(profile, **kwargs):
        calls.append((profile, kwargs))
        return pd.DataFrame(dict(label=["AT, seed 10"], method=["at"], seed=[10],
                                 from_cache=[False], train_s=[12.0], eval_s=[3.0], pid=[1]))

    monkeypatch.setattr(mailviz.catalogue, "prepare", fake)
    out = tmp_path / "times.csv"
    assert main(["prepare", "--seed", "10", "--replicates", "2", "--workers", "1",
                 "--times", str(out)]) == 0  # fmt: skip
    assert calls == [("quick", dict(seed=10, replicates=2, workers=1))]
    text = capsys.readouterr().out
    assert "1 models (1 trained)" in text and "training 12 s" in text
    assert pd.read_csv(out)["label"].tolist() == ["AT, seed 10"]
