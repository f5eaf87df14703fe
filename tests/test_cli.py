"""mailviz.cli: help text, train in-process, eval wiring, one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mailviz import data, models, objectives
from mailviz.cli import build_parser, main
from mailviz.config import PROFILES

SMOKE_SETS = ["--set", "train_subset=128", "--set", "epochs=1", "--set", "steps=2",
              "--set", "eval_subset=64", "--set", "eval_steps=2", "--set", "batch_size=64"]


def test_help_lists_methods_datasets_models_profiles(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for group in (objectives.METHODS, data.DATASETS, models.MODELS, PROFILES):
        for name in group:
            assert name in out, name
    for line in ("methods:", "datasets:", "models:", "profiles:"):
        assert line in out
    assert main(["train", "--help"]) == 0
    sub = capsys.readouterr().out
    assert "--set KEY=VALUE" in sub and "mail_trades" in sub


def test_no_command_prints_help_and_exits_2(capsys) -> None:
    assert main([]) == 2
    assert "usage: mailviz" in capsys.readouterr().out


def test_train_in_process_prints_accuracy_and_run_dir(tmp_path: Path, capsys) -> None:
    argv = ["train", "--profile", "smoke", "--method", "mail_trades", "--quiet",
            "--cache-dir", str(tmp_path), *SMOKE_SETS]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "mail_trades on digits/digits_cnn (trained 1 epochs)" in out
    assert "NAT " in out and "PGD-2 " in out
    (run,) = tmp_path.iterdir()
    assert f"run directory: {run}" in out
    assert run.name.startswith("mail_trades-digits-digits_cnn-")
    assert json.loads((run / "config.json").read_text())["method"] == "mail_trades"
    # the same command again loads the cached model
    assert main(argv) == 0
    assert "(loaded from cache)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train", "--profile", "smoke", "--set", "nonsense"], "--set expects key=value"),
        (["train", "--profile", "smoke", "--set", "epochz=3"], "unknown config field 'epochz'"),
        (["train", "--profile", "smoke", "--set", "eps=lots"], "eps expects a number"),
        (["train", "--profile", "smoke", "--set", "eps=0"], "eps must be in (0, 1]"),
        (["train", "--profile", "nope"], "unknown profile 'nope'"),
        (["train", "--profile", "smoke", "--method", "nope"], "unknown method 'nope'"),
        (["train", "--bogus-flag"], "unrecognized arguments: --bogus-flag"),
        (["eval"], "the following arguments are required: --checkpoint"),
        (["eval", "--checkpoint", "x", "--alphas-test", "a,b"], "comma-separated numbers"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv: list[str], needle: str, capsys) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("mailviz: error: ")
    assert needle in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_missing_dataset_is_one_line_with_the_download_hint(tmp_path: Path, capsys) -> None:
    argv = ["train", "--profile", "smoke", "--set", "dataset=cifar10", "--set", "model=resnet18",
            "--data-root", str(tmp_path / "nodata"), "--cache-dir", str(tmp_path), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mailviz: error: cifar10 not found") and "--download" in err
    assert err.count("\n") == 1


def test_eval_missing_and_damaged_checkpoint(tmp_path: Path, capsys) -> None:
    assert main(["eval", "--checkpoint", str(tmp_path / "no-run")]) == 2
    err = capsys.readouterr().err
    assert "no checkpoint at" in err and err.count("\n") == 1
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"\x00" * 64)
    assert main(["eval", "--checkpoint", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "truncated or not a torch checkpoint" in err and err.count("\n") == 1


def test_eval_runs_attacks_and_nonuniform_report(tmp_path: Path, capsys) -> None:
    assert main(["train", "--profile", "smoke", "--quiet", "--cache-dir", str(tmp_path / "c"),
                 *SMOKE_SETS]) == 0
    (run,) = (tmp_path / "c").iterdir()
    capsys.readouterr()
    out_file = tmp_path / "res" / "eval.csv"
    argv = ["eval", "--checkpoint", str(run), "--attacks", "pgd3,cw3", "--alphas-test", "0,1",
            "--steps", "3", "--n", "40", "--out", str(out_file)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "pgd3" in out and "cw3" in out and "A_tr" in out
    table = pd.read_csv(out_file)
    assert table["attack"].tolist() == ["nat", "pgd3", "cw3"]
    assert table["eps"].tolist()[1:] == [pytest.approx(0.2)] * 2
    report = pd.read_csv(out_file.with_name("eval_nonuniform.csv"))
    assert report["alpha_test"].tolist() == [0.0, 1.0]
    row0 = report.iloc[0]
    assert row0["A_rob"] == pytest.approx(row0["A_sa"]) == pytest.approx(row0["A_tr"])
    json_file = tmp_path / "res" / "eval.json"
    assert main(["eval", "--checkpoint", str(run / "model.pt"), "--attacks", "pgd3",
                 "--alphas-test", "", "--eps", "0.1,8/255", "--n", "20",
                 "--out", str(json_file)]) == 0
    blob = json.loads(json_file.read_text())
    assert [r["eps"] for r in blob["attacks"]] == pytest.approx([0.0, 0.1, 8 / 255])
    assert blob["nonuniform"] == []


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["train"])
    assert (args.profile, args.method, args.assignments) == ("quick", None, [])
    assert not (args.no_resume or args.no_cache or args.download or args.quiet)
    args = build_parser().parse_args(["figures", "--only", "00", "03"])
    assert args.only == ["00", "03"] and args.profile == "quick"


def test_figures_passes_parameters_and_folders(monkeypatch, tmp_path, capsys) -> None:
    import mailviz.figures

    calls = []

    def fake_run(**kwargs):
        calls.append({**kwargs, "figures": __import__("os").environ.get("MAILVIZ_FIGURES")})
        return [tmp_path / "05_nonuniform_attacks.ipynb"]

    monkeypatch.setattr(mailviz.figures, "run_notebooks", fake_run)
    monkeypatch.delenv("MAILVIZ_FIGURES", raising=False)
    argv = ["figures", "--profile", "mnist", "--only", "05", "-p", "SEED", "1", "-p", "DEVICE",
            "cpu", "-p", "SEEDS", "[0, 1]", "--out-dir", str(tmp_path / "nb"),
            "--figures-dir", str(tmp_path / "fig")]  # fmt: skip
    assert main(argv) == 0
    (call,) = calls
    assert call["profile"] == "mnist" and call["only"] == ["05"]
    assert call["parameters"] == {"SEED": 1, "DEVICE": "cpu", "SEEDS": [0, 1]}
    assert call["out_dir"] == str(tmp_path / "nb") and call["figures"] == str(tmp_path / "fig")
    assert "05_nonuniform_attacks.ipynb" in capsys.readouterr().out
    assert main(["figures", "-p", "PROFILE", "mnist"]) == 2
    assert "use --profile" in capsys.readouterr().err
    assert main(["figures", "-p", "not-a-name", "1"]) == 2
    assert "Python identifier (SEED)" in capsys.readouterr().err
    assert len(calls) == 1
