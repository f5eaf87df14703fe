"""Issue 14: every bad input gets one clear line, and nothing is cached or half-written.

One table of bad inputs over the command line (run in-process through ``cli.main``, plus a few
real subprocesses for the "never a traceback" guarantee) and the Python API. Each case asserts

* the one-line message: for the CLI exit status 2, stdout empty, stderr exactly one line
  ``mailviz: error: ...`` holding the expected words and no ``Traceback``; for the API the
  expected exception type with a one-line message holding the expected words;
* that nothing was cached or half-written: every file under the sandbox (model cache, data
  root, figure and output folders, the trained run the eval cases read) is byte-for-byte and
  timestamp-for-timestamp what it was before the case ran, with no new file (``*.tmp``
  included).

Case ids start with their kind (``cli-``, ``config-``, ``attacks-``, ``margins-``,
``objectives-``, ``weights-``, ``metrics-``, ``files-``, ``train-``, ``threads-``, ``zoo-``,
``subprocess-``); ``test_the_table_covers_every_kind`` counts them.
"""

from __future__ import annotations

import errno
import importlib.util
import math
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from mailviz import attacks, checks, evaluate, margins, objectives, weights
from mailviz import train as train_mod
from mailviz.checkpoint import CheckpointError, atomic_write, load_checkpoint, save_checkpoint
from mailviz.cli import main
from mailviz.config import ConfigError, ExperimentConfig, get_profile
from mailviz.training import loop as train_loop

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(train_subset=64, epochs=1, steps=1, eval_subset=32, eval_steps=1, batch_size=32)
TRAIN = ["train", "--profile", "smoke", "--quiet",
         *[a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]]  # fmt: skip
EVAL = ["eval", "--checkpoint", "{run}", "--n", "16", "--attacks", "pgd1", "--steps", "1"]


# --------------------------------------------------------------------------------------------
# sandbox: every folder mailviz may write to, and a snapshot of what is in it


@dataclass
class Sandbox:
    root: Path
    run: Path  # a trained run (eval cases read it; it must stay untouched)

    @property
    def paths(self) -> dict[str, str]:
        return {
            "cache": str(self.root / "cache"),
            "out": str(self.root / "out"),
            "blocker": str(self.root / "blocker"),  # a plain file: a path "under" it fails
            "run": str(self.run),
            "broken": str(self.root / "broken-run"),
        }

    def snapshot(self) -> dict[str, tuple[int, int]]:
        files = {}
        for folder in (self.root, self.run):
            for p in sorted(folder.rglob("*")):
                if p.is_file() or p.is_symlink():
                    st = p.lstat()
                    files[str(p)] = (st.st_size, st.st_mtime_ns)
        return files


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("trained")
    run = train_mod.train(get_profile("smoke", **TINY), cache_dir=cache, progress=False)
    assert run.path is not None
    return run.path


@pytest.fixture()
def sandbox(tmp_path: Path, trained_run: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for name in ("cache", "out", "data", "figures"):
        (tmp_path / name).mkdir()
    (tmp_path / "blocker").write_text("a file where a folder is expected\n")
    broken = tmp_path / "broken-run"  # weights without a config, beside a damaged config.json
    save_checkpoint(broken / "model.pt", {"state_dict": {"w": torch.ones(1)}})
    (broken / "config.json").write_text('{"dataset": "digits", "eps": 0.2,')
    monkeypatch.setenv("MAILVIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MAILVIZ_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("MAILVIZ_FIGURES", str(tmp_path / "figures"))
    monkeypatch.delenv("MAILVIZ_DEBUG", raising=False)
    return Sandbox(tmp_path, trained_run)


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fsync fails with ENOSPC, as on a full disk (the write itself may have gone to the
    page cache; the error surfaces when it is flushed)."""

    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)


def _nan_loss_at_step_two(monkeypatch: pytest.MonkeyPatch) -> None:
    real = objectives.Objective.loss
    calls = []

    def loss(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            out.loss = out.loss * math.nan
        return out

    monkeypatch.setattr(objectives.Objective, "loss", loss)


# --------------------------------------------------------------------------------------------
# the command line, in-process


@dataclass(frozen=True)
class CliCase:
    id: str
    argv: tuple[str, ...]
    needle: str
    setup: Callable[[pytest.MonkeyPatch], None] | None = None
    prints: bool = False  # the command printed results before it failed (eval's tables)


def cli(id: str, argv: list[str], needle: str, setup: Any = None, prints: bool = False) -> CliCase:
    return CliCase(f"cli-{id}", tuple(argv), needle, setup, prints)


def t(*sets: str, method: str | None = None, cache: str = "{cache}") -> list[str]:
    """``mailviz train`` at the tiny smoke settings with more ``--set``s."""
    more = [a for s in sets for a in ("--set", s)]
    return [*TRAIN, "--cache-dir", cache, *(["--method", method] if method else []), *more]


CLI_CASES = [
    # non-finite or mistyped numbers (issue: lr=nan trained and cached NaN weights)
    cli("lr-nan", t("lr=nan"), "lr must be a finite number, got nan — e.g. lr=0.05"),
    cli("lr-inf", t("lr=inf"), "lr must be a finite number, got inf"),
    cli("lr-minus-inf", t("lr=-inf"), "lr must be a finite number"),
    cli("lr-negative", t("lr=-0.1"), "lr must be > 0 and finite"),
    cli("weight-decay-nan", t("weight_decay=nan"), "weight_decay must be a finite number"),
    cli("weight-decay-negative", t("weight_decay=-1e-4"), "weight_decay must be >= 0"),
    cli("lr-decay-nan", t("lr_decay=nan"), "lr_decay must be a finite number"),
    cli("lr-decay-zero", t("lr_decay=0"), "lr_decay must be in (0, 1]"),
    cli("momentum-nan", t("momentum=nan"), "momentum must be a finite number"),
    cli("eps-division-by-zero", t("eps=1/0"), "eps expects a number, got '1/0' — e.g. eps=8/255"),
    cli("eps-nan", t("eps=nan"), "eps must be a finite number"),
    cli("eps-too-large", t("eps=2"), "eps must be in (0, 1]"),
    cli("step-size-inf", t("step_size=inf"), "step_size must be a finite number"),
    cli("eval-step-size-field-nan", t("eval_step_size=nan"),
        "eval_step_size must be a finite number"),
    cli("cw-confidence-nan", t("attack_loss=cw", "cw_confidence=nan"),
        "cw_confidence must be a finite number"),
    cli("steps-fraction", t("steps=2.7"), "steps expects an integer, got '2.7' — e.g. steps=10"),
    cli("batch-size-bool", t("batch_size=true"), "batch_size expects an integer"),
    cli("epochs-zero", t("epochs=0"), "epochs must be >= 1"),
    cli("milestones-text", t("milestones=abc"), "milestones expects comma-separated integers"),
    cli("milestones-beyond-epochs", t("milestones=5"), "milestones must lie in [1, epochs=1]"),
    cli("augment-maybe", t("augment=maybe"), "augment expects true/false"),
    cli("threads-zero", t("threads=0"), "threads must be >= 1"),
    cli("seed-negative", t("seed=-1"), "seed must be >= 0"),
    cli("train-subset-zero", t("train_subset=0"), "train_subset must be >= 1"),
    cli("nesterov-without-momentum", t("momentum=0", "nesterov=true"), "nesterov=True needs"),
    cli("param-beta-nan", t("params.beta=nan", method="mail_at"),
        "mail_at: beta must be finite, got nan"),
    cli("param-gamma-inf", t("params.gamma=inf", method="mail_at"),
        "gamma must be finite and >= 0, got inf"),
    cli("param-division-by-zero", t("params.beta_trades=1/0", method="trades"),
        "beta_trades must be > 0, got '1/0'"),
    cli("param-tau-fraction", t("params.tau=2.5", method="fat"),
        "tau must be an integer >= 0, got 2.5"),
    cli("param-unknown", t("params.beta=1", method="at"),
        "unknown parameter(s) ['beta'] for method 'at'"),
    cli("unknown-method", t(method="mail"), "unknown method 'mail'"),
    cli("set-without-value", t("lr"), "--set expects key=value"),
    # the file system
    cli("cache-dir-under-a-file", t(cache="{blocker}/cache"),
        "Not a directory — a part of the path is a file, not a folder"),
    cli("disk-full-while-training", t(), "No space left on device", _disk_full),
    # a run that diverges: one line naming epoch and step, and no run folder left
    cli("training-diverges", t("lr=1e30"), "training diverged: the model's logits are NaN or inf "
        "at epoch 1, step 2 of 2"),  # fmt: skip
    cli("nan-loss-at-step-two", t(), "training diverged: the loss is nan at epoch 1, step 2 of 2",
        _nan_loss_at_step_two),
    # eval: arguments are checked before the model is loaded or attacked
    cli("eval-steps-zero", [*EVAL, "--steps", "0"], "argument --steps: expected an integer >= 1"),
    cli("eval-steps-fraction", [*EVAL, "--steps", "2.5"], "--steps: expected an integer >= 1"),
    cli("eval-alphas-inf", [*EVAL, "--alphas-test", "0,inf"], "expected finite numbers"),
    cli("eval-alphas-nan", [*EVAL, "--alphas-test", "nan"], "expected finite numbers"),
    cli("eval-alphas-text", [*EVAL, "--alphas-test", "a,b"], "comma-separated numbers"),
    cli("eval-eps-too-large", [*EVAL, "--eps", "2"], "budgets must be in (0, 1]"),
    cli("eval-eps-division-by-zero", [*EVAL, "--eps", "1/0"], "comma-separated numbers"),
    cli("eval-restarts-zero", [*EVAL, "--restarts", "0"], "--restarts: expected an integer >= 1"),
    cli("eval-n-zero", [*EVAL, "--n", "0"], "--n: expected an integer >= 1"),
    cli("eval-batch-size-negative", [*EVAL, "--batch-size", "-1"], "--batch-size: expected"),
    cli("eval-seed-negative", [*EVAL, "--seed", "-3"], "--seed: expected an integer >= 0"),
    cli("eval-step-size-nan", [*EVAL, "--step-size", "nan"], "--step-size: expected a finite"),
    cli("eval-attack-typo", [*EVAL, "--attacks", "pgdx"], "unknown attack spec 'pgdx'"),
    cli("eval-out-under-a-file", [*EVAL, "--out", "{blocker}/results.csv"], "is a file"),
    cli("eval-out-is-a-folder", [*EVAL, "--out", "{out}"], "is a folder; give a file name"),
    cli("eval-missing-checkpoint", ["eval", "--checkpoint", "{out}/nothing"], "no checkpoint at"),
    cli("eval-broken-config-json", ["eval", "--checkpoint", "{broken}"],
        "config.json is not valid JSON"),
    cli("eval-bad-device", [*EVAL, "--device", "gpu9"], "device must be 'auto', 'cpu'"),
    cli("eval-disk-full", [*EVAL, "--alphas-test", "", "--out", "{out}/r.csv"],
        "r.csv: No space left on device — free some disk space", _disk_full, prints=True),
    # figures: nothing runs when a name is wrong
    cli("figures-parameter-typo", ["figures", "--only", "00", "-p", "SEDD", "1"],
        "unknown notebook parameter(s) SEDD; the parameters cells of 00_tour declare: DEVICE, "
        "SEED, NOTEBOOK"),  # fmt: skip
    cli("figures-profile-typo", ["figures", "--profile", "quik"], "unknown profile 'quik'"),
    cli("figures-no-such-notebook", ["figures", "--only", "99"], "no notebook matches ['99']"),
    cli("figures-out-dir-under-a-file", ["figures", "--only", "00", "--out-dir",
        "{blocker}/nb"], "a part of the path is a file"),  # fmt: skip
]


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_cli_bad_input_is_one_line_and_writes_nothing(
    case: CliCase, sandbox: Sandbox, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    argv = [a.format(**sandbox.paths) for a in case.argv]
    before = sandbox.snapshot()
    if case.setup is not None:
        case.setup(monkeypatch)
    status = main(argv)
    monkeypatch.undo()  # restore fsync & co. before looking at the files
    captured = capsys.readouterr()
    assert status == 2, captured
    assert captured.out == "" or case.prints
    assert captured.err.startswith("mailviz: error: "), captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    assert case.needle in captured.err, captured.err
    assert sandbox.snapshot() == before, "a bad input left files behind"


# --------------------------------------------------------------------------------------------
# the Python API


@dataclass(frozen=True)
class ApiCase:
    id: str
    call: Callable[[Sandbox, pytest.MonkeyPatch], object]
    needle: str
    error: type[BaseException] = ValueError
    prepare: Callable[[Sandbox, pytest.MonkeyPatch], None] | None = None  # before the snapshot


def _linear(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3))


def _nan_model() -> nn.Module:
    model = _linear()
    with torch.no_grad():
        model[1].weight.fill_(math.nan)
    return model


def _x(fill: float | None = None) -> torch.Tensor:
    x = torch.rand(4, 1, 2, 2, generator=torch.Generator().manual_seed(1))
    if fill is not None:
        x[2, 0, 1, 1] = fill
    return x


Y = torch.tensor([0, 1, 2, 0])
Y_BAD = torch.tensor([0, 1, 3, 0])  # 3 classes: label 3 is out of range
Y_NEG = torch.tensor([0, -1, 2, 0])
LOGITS = torch.tensor([[2.0, 0.0, 1.0], [0.5, 0.1, 0.2], [0.0, 0.0, 3.0], [1.0, 2.0, 0.0]])


def _pgd(**kw: Any) -> Callable[[Sandbox, pytest.MonkeyPatch], object]:
    args: dict[str, Any] = dict(model=_linear(), x=_x(), y=Y, eps=0.1, step_size=0.05, steps=2)
    args.update(kw)
    return lambda sb, mp: attacks.pgd(
        args["model"], args["x"], args["y"], args["eps"], args["step_size"], args["steps"],
        **{k: v for k, v in args.items() if k not in ("model", "x", "y", "eps", "step_size",
                                                       "steps")},
    )  # fmt: skip


def _objective(method: str) -> objectives.Objective:
    settings = objectives.AttackSettings(eps=0.1, step_size=0.05, steps=1, loss="ce")
    return objectives.Objective(method, {}, settings, epochs=1)


def _nan_logits_with_checks_skipped(sb: Sandbox, mp: pytest.MonkeyPatch) -> object:
    """Inside skip_host_syncs() the check is off (a NaN result, no error); outside it the same
    call is refused again."""
    with checks.skip_host_syncs():
        x_adv = attacks.pgd(_nan_model(), _x(), Y, 0.1, 0.05, 1)
    assert checks.enabled() and isinstance(x_adv, torch.Tensor)
    return attacks.pgd(_nan_model(), _x(), Y, 0.1, 0.05, 1)


def _train_tiny(**changes: Any) -> Callable[[Sandbox, pytest.MonkeyPatch], object]:
    return lambda sb, mp: train_mod.train(
        get_profile("smoke", **{**TINY, **changes}), cache_dir=sb.root / "cache", progress=False
    )


def _train_nan_at_step_two(sb: Sandbox, mp: pytest.MonkeyPatch) -> object:
    _nan_loss_at_step_two(mp)
    return _train_tiny(epochs=2)(sb, mp)


THREADS_CFG = get_profile("smoke", **{**TINY, "epochs": 2})


def _checkpoint_at_one_thread(sb: Sandbox, mp: pytest.MonkeyPatch) -> None:
    """A run stopped after epoch 1 at one thread: its checkpoint is what a resume would load."""
    real = train_loop._save_progress

    def stop(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        raise KeyboardInterrupt  # the user stops it after epoch 1

    with pytest.MonkeyPatch.context() as m:
        m.setattr(train_loop, "_save_progress", stop)
        with pytest.raises(KeyboardInterrupt):
            train_mod.train(THREADS_CFG, cache_dir=sb.root / "cache", progress=False)
    assert (train_mod.run_dir(THREADS_CFG, sb.root / "cache") / "checkpoint.pt").is_file()


def _resume_at_two_threads(sb: Sandbox, mp: pytest.MonkeyPatch) -> object:
    """threads=None resolving to 2 has the threads=1 cache key: the resume is refused and the
    checkpoint left as it was (a threads=2 config would use another folder)."""
    mp.setenv("MAILVIZ_THREADS", "2")
    try:
        return train_mod.train(THREADS_CFG.replace(threads=None), cache_dir=sb.root / "cache",
                               progress=False)  # fmt: skip
    finally:
        torch.set_num_threads(1)


def _write_fails(sb: Sandbox, mp: pytest.MonkeyPatch) -> object:
    _disk_full(mp)
    return atomic_write(sb.root / "out" / "table.csv", lambda fh: fh.write("a,b\n1,2\n"))


ZOO_NAME = "Sehwag2021Proxy_R18"


def _zoo_file(kind: str) -> Callable[[Sandbox, pytest.MonkeyPatch], None]:
    def prepare(sb: Sandbox, mp: pytest.MonkeyPatch) -> None:
        if importlib.util.find_spec("robustbench") is None:
            pytest.skip("optional extra mailviz[zoo] (robustbench) not installed")
        from mailviz import zoo

        path = zoo.expected_path(ZOO_NAME, model_dir=sb.root / "out")
        path.parent.mkdir(parents=True)
        if kind == "html":
            path.write_bytes(b"<!DOCTYPE html><html>Google Drive - quota exceeded</html>")
        elif kind == "truncated":
            torch.save({"state_dict": {f"w{i}": torch.ones(64) for i in range(64)}}, path)
            path.write_bytes(path.read_bytes()[:1000])
        else:  # a crafted pickle, with the environment asking torch for unsafe loads
            mp.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
            torch.save({"state_dict": {}, "x": _Payload(sb.root / "out" / "pwned.txt")}, path)

    return prepare


def _zoo_load(sb: Sandbox, mp: pytest.MonkeyPatch) -> object:
    from mailviz import zoo

    try:
        return zoo.load(ZOO_NAME, model_dir=sb.root / "out")
    finally:
        assert not (sb.root / "out" / "pwned.txt").exists(), "the crafted checkpoint ran code"


def _truncated_checkpoint(sb: Sandbox, mp: pytest.MonkeyPatch) -> None:
    path = save_checkpoint(sb.root / "out" / "c.pt", {"w": torch.ones(1000)})
    path.write_bytes(path.read_bytes()[:300])


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def api(id: str, call: Callable[..., object], needle: str,
        error: type[BaseException] = ValueError, prepare: Any = None) -> ApiCase:  # fmt: skip
    return ApiCase(id, call, needle, error, prepare)


def fn(f: Callable[[], object]) -> Callable[[Sandbox, pytest.MonkeyPatch], object]:
    return lambda sb, mp: f()


SMOKE = get_profile("smoke")
API_CASES = [
    # ExperimentConfig: integers are ints, numbers finite, bools bools
    api("config-steps-fraction", fn(lambda: SMOKE.replace(steps=2.7)),
        "steps must be an integer, got 2.7 (float) — e.g. steps=10", ConfigError),
    api("config-batch-size-bool", fn(lambda: SMOKE.replace(batch_size=True)),
        "batch_size must be an integer, got True (bool)", ConfigError),
    api("config-lr-nan", fn(lambda: SMOKE.replace(lr=math.nan)), "lr must be a finite number",
        ConfigError),
    api("config-weight-decay-inf", fn(lambda: SMOKE.replace(weight_decay=math.inf)),
        "weight_decay must be a finite number", ConfigError),
    api("config-lr-decay-nan", fn(lambda: SMOKE.replace(lr_decay=np.float64("nan"))),
        "lr_decay must be a finite number", ConfigError),
    api("config-eps-string", fn(lambda: SMOKE.replace(eps="0.1")),
        "eps must be a number, got '0.1' (str)", ConfigError),
    api("config-eps-tensor", fn(lambda: SMOKE.replace(eps=torch.tensor(0.1))),
        "eps must be a number", ConfigError),
    api("config-augment-int", fn(lambda: SMOKE.replace(augment=1)),
        "augment must be true or false, got 1 (int)", ConfigError),
    api("config-milestones-text", fn(lambda: SMOKE.replace(milestones=("a",))),
        "milestones must be a list of epoch numbers (integers)", ConfigError),
    api("config-params-not-a-dict", fn(lambda: SMOKE.replace(params="beta=6")),
        "params must be a dict", ConfigError),
    api("config-threads-bool", fn(lambda: SMOKE.replace(threads=True)),
        "threads must be an integer or None, got True", ConfigError),
    api("config-eval-subset-fraction", fn(lambda: SMOKE.replace(eval_subset=1.5)),
        "eval_subset must be an integer or None", ConfigError),
    api("config-from-list", fn(lambda: ExperimentConfig.from_dict([("eps", 0.1)])),  # type: ignore
        "a config must be a dict of fields", ConfigError),
    api("config-threads-environment", lambda sb, mp: (mp.setenv("MAILVIZ_THREADS", "two"),
        train_mod.train(SMOKE.replace(threads=None), cache_dir=sb.root / "cache")),
        "MAILVIZ_THREADS must be an integer >= 1, got 'two'", ConfigError),  # fmt: skip
    api("objectives-step-size-inf", fn(lambda: objectives.AttackSettings(eps=0.1,
        step_size=math.inf, steps=1, loss="ce")), "step_size must be > 0 and finite, got inf",
        ConfigError),  # fmt: skip
    api("config-param-nan", fn(lambda: get_profile("smoke", method="mail_at",
        params={"beta": math.nan})), "mail_at: beta must be finite, got nan", ConfigError),
    # attacks: labels, NaN / inf inputs, NaN logits, mistyped arguments
    api("attacks-pgd-label-out-of-range", _pgd(y=Y_BAD),
        "y must hold class labels in [0, 3) for 3-class logits, got values in [0, 3]"),
    api("attacks-pgd-negative-label", _pgd(y=Y_NEG), "y must hold class labels in [0, 3)"),
    api("attacks-pgd-float-labels", _pgd(y=Y.float()), "y must hold integer class labels"),
    api("attacks-pgd-nan-pixel", _pgd(x=_x(math.nan)), "x holds NaN or inf values"),
    api("attacks-pgd-inf-pixel", _pgd(x=_x(math.inf)), "x holds NaN or inf values"),
    api("attacks-pgd-pixel-above-one", _pgd(x=_x(1.5)), "x must lie in [0, 1]"),
    api("attacks-pgd-nan-logits", _pgd(model=_nan_model()), "the model's logits hold NaN or inf"),
    api("attacks-pgd-kl-nan-logits", _pgd(model=_nan_model(), loss="kl", start="normal"),
        "the model's logits hold NaN or inf"),
    api("attacks-pgd-eps-nan", _pgd(eps=math.nan), "eps must be in (0, 1], got nan"),
    api("attacks-pgd-eps-tensor-nan", _pgd(eps=torch.tensor([0.1, math.nan, 0.1, 0.1])),
        "eps must be in (0, 1], got nan"),
    api("attacks-pgd-step-inf", _pgd(step_size=math.inf), "step_size must be > 0, got inf"),
    api("attacks-pgd-steps-float", _pgd(steps=2.0), "steps must be an integer ≥ 1, got 2.0"),
    api("attacks-pgd-restarts-bool", _pgd(restarts=True), "restarts must be an integer ≥ 1"),
    api("attacks-pgd-confidence-nan", _pgd(loss="cw", confidence=math.nan),
        "confidence must be a float ≥ 0, got nan"),
    api("attacks-fgsm-label-out-of-range", fn(lambda: attacks.fgsm(_linear(), _x(), Y_BAD, 0.1)),
        "y must hold class labels in [0, 3)"),
    api("attacks-weighted-pgd-nan-logits",
        fn(lambda: attacks.weighted_pgd(_nan_model(), _x(), Y, 0.1, 0.05, 2, alpha=1.0)),
        "the model's logits hold NaN or inf"),
    api("attacks-weighted-pgd-alpha-inf",
        fn(lambda: attacks.weighted_pgd(_linear(), _x(), Y, 0.1, 0.05, 2, alpha=math.inf)),
        "alpha must be finite, got inf"),
    api("attacks-lm-pgd-nan-pixel", fn(lambda: attacks.lm_pgd(_linear(), _x(math.nan), Y, 0.1,
        steps=2)), "x holds NaN or inf values"),  # fmt: skip
    api("attacks-lm-pgd-label-out-of-range", fn(lambda: attacks.lm_pgd(_linear(), _x(), Y_BAD,
        0.1, steps=2)), "y must hold class labels in [0, 3)"),  # fmt: skip
    api("attacks-autoattack-label-out-of-range",
        fn(lambda: attacks.autoattack(_linear(), _x(), Y_BAD, 0.1, version="fast")),
        "y must hold class labels in [0, 3)"),
    api("attacks-friendly-pgd-nan-logits", fn(lambda: objectives.friendly_pgd(_nan_model(), _x(),
        Y, 0.1, 0.05, 2, tau=0)), "the model's logits hold NaN or inf"),  # fmt: skip
    api("attacks-checks-skipped-only-inside-the-block", _nan_logits_with_checks_skipped,
        "the model's logits hold NaN or inf"),
    # margins
    api("margins-pm-label-out-of-range", fn(lambda: margins.probabilistic_margin(LOGITS, Y_BAD)),
        "y must hold class labels in [0, 3)"),
    api("margins-pm-negative-label", fn(lambda: margins.probabilistic_margin(LOGITS, Y_NEG)),
        "y must hold class labels in [0, 3)"),
    api("margins-pm-nan-logits", fn(lambda: margins.probabilistic_margin(
        LOGITS.clone().fill_(math.nan), Y)), "logits hold NaN or inf"),  # fmt: skip
    api("margins-mm-inf-logits", fn(lambda: margins.logit_margin(
        torch.where(LOGITS > 1.5, math.inf, LOGITS), Y)), "logits hold NaN or inf"),  # fmt: skip
    api("margins-pm-float-labels", fn(lambda: margins.probabilistic_margin(LOGITS, Y.double())),
        "y must hold integer class labels"),
    api("margins-mm-bool-logits", fn(lambda: margins.logit_margin(LOGITS > 0, Y)),
        "logits must be a real tensor"),
    # objectives
    api("objectives-at-label-out-of-range",
        fn(lambda: _objective("at").loss(_linear(), _x(), Y_BAD, epoch=0)),
        "y must hold class labels in [0, 3)"),
    api("objectives-clean-label-out-of-range",
        fn(lambda: _objective("clean").loss(_linear(), _x(), Y_BAD, epoch=0)),
        "y must hold class labels in [0, 3)"),
    api("objectives-clean-nan-pixel",
        fn(lambda: _objective("clean").loss(_linear(), _x(math.nan), Y, epoch=0)),
        "x holds NaN or inf values"),
    api("objectives-mail-at-nan-logits",
        fn(lambda: _objective("mail_at").loss(_nan_model(), _x(), Y, epoch=0)),
        "the model's logits hold NaN or inf"),
    api("objectives-labels-wrong-shape",
        fn(lambda: _objective("trades").loss(_linear(), _x(), Y[:3], epoch=0)),
        "y must be a label tensor of shape [4]"),
    # weights
    api("weights-sigmoid-nan-pm", fn(lambda: weights.sigmoid(torch.tensor([0.1, math.nan]), 10.0,
        -0.5)), "pm holds NaN or inf"),  # fmt: skip
    api("weights-exp-kernel-inf-margin", fn(lambda: weights.exp_kernel(
        torch.tensor([math.inf, 0.0]), 1.0)), "margin holds NaN or inf"),  # fmt: skip
    api("weights-step-nan-pm", fn(lambda: weights.step(torch.tensor([math.nan]), 0.0)),
        "pm holds NaN or inf"),
    api("weights-normalize-nan", fn(lambda: weights.normalize(torch.tensor([1.0, math.nan]))),
        "weights must be finite and >= 0"),
    api("weights-importance-2d", fn(lambda: weights.importance(torch.zeros(2, 2), 1.0)),
        "margins must be a non-empty 1-D tensor"),
    # metrics: only the shapes and dtypes they document
    api("metrics-correct-as-ints", fn(lambda: evaluate.nonuniform_accuracy([1, 0, 5],
        [0.1, -0.2, 0.3], 0.0)), "correct must be a boolean 1-D array"),  # fmt: skip
    api("metrics-correct-2d", fn(lambda: evaluate.nonuniform_accuracy(torch.ones(2, 2).bool(),
        torch.zeros(2, 2), 1.0)), "correct must be a non-empty 1-D array"),  # fmt: skip
    api("metrics-margins-nan", fn(lambda: evaluate.nonuniform_accuracy([True, False],
        [0.1, math.nan], 0.0)), "margins must be finite"),  # fmt: skip
    api("metrics-alpha-inf", fn(lambda: evaluate.nonuniform_accuracy([True, False], [0.1, -0.1],
        math.inf)), "alpha_test must be a finite float"),  # fmt: skip
    api("metrics-lengths-differ", fn(lambda: evaluate.nonuniform_accuracy([True, False],
        [0.1, -0.1, 0.2], 1.0)), "correct and margins must have the same shape"),  # fmt: skip
    api("metrics-dro-losses-2d", fn(lambda: evaluate.dro_chi2(np.ones((2, 3)), 0.1)),
        "losses must be a non-empty 1-D array"),
    api("metrics-dro-losses-nan", fn(lambda: evaluate.dro_chi2([1.0, math.nan], 0.1)),
        "losses must be finite"),
    api("metrics-dro-correct-as-floats", fn(lambda: evaluate.dro_chi2([1.0, 2.0], 0.1,
        correct=[1.0, 0.0])), "correct must be a boolean 1-D array"),  # fmt: skip
    api("metrics-dro-rho-nan", fn(lambda: evaluate.dro_chi2([1.0, 2.0], math.nan)),
        "rho must be a float >= 0"),
    api("metrics-dro-losses-bool", fn(lambda: evaluate.dro_curve(np.array([True, False]), [0.1])),
        "losses must hold real numbers"),
    api("metrics-evaluate-nan-model", fn(lambda: evaluate.evaluate(_nan_model(), (_x(), Y),
        ("nat",))), "the model's logits hold NaN or inf"),  # fmt: skip
    api("metrics-evaluate-label-out-of-range", fn(lambda: evaluate.evaluate(_linear(),
        (_x(), Y_BAD), ("nat",))), "y must hold class labels in [0, 3)"),  # fmt: skip
    api("metrics-nonuniform-report-nan-model", fn(lambda: evaluate.nonuniform_report(
        _nan_model(), (_x(), Y), 0.1, [0.0, 1.0], steps=1)), "logits hold NaN or inf"),  # fmt: skip
    # files
    api("files-truncated-checkpoint", lambda sb, mp: load_checkpoint(sb.root / "out" / "c.pt"),
        "c.pt is truncated or not a torch checkpoint", CheckpointError, _truncated_checkpoint),
    api("files-missing-checkpoint", lambda sb, mp: load_checkpoint(sb.root / "out" / "x.pt"),
        "no checkpoint at", CheckpointError),
    api("files-broken-config-json", lambda sb, mp: train_mod.load_model_file(
        sb.root / "broken-run"), "config.json is not valid JSON", CheckpointError),  # fmt: skip
    api("files-write-fails-on-a-full-disk", _write_fails, "No space left on device", OSError),
    api("files-results-under-a-file", lambda sb, mp: evaluate.save_results(
        pd.DataFrame({"a": [1]}), sb.root / "blocker" / "run", "r"), "Not a directory",
        OSError),  # fmt: skip
    # train: a run that meets a non-finite loss stops and caches nothing
    api("train-diverges", _train_tiny(lr=1e30, epochs=2),
        "training diverged: the model's logits are NaN or inf at epoch 1, step 2 of 2",
        train_mod.NonFiniteLossError),
    api("train-nan-loss-at-step-two", _train_nan_at_step_two,
        "the loss is nan at epoch 1, step 2 of 2", train_mod.NonFiniteLossError),
    api("train-not-a-config", lambda sb, mp: train_mod.train({"method": "at"}),  # type: ignore
        "train expects an ExperimentConfig", ConfigError),
    # threads: recorded with the run; a resume at another count is refused
    api("threads-resume-at-another-count", _resume_at_two_threads,
        "was written with 1 CPU thread(s), this run has 2", CheckpointError,
        _checkpoint_at_one_thread),
    api("threads-zero", fn(lambda: SMOKE.replace(threads=0)), "threads must be >= 1", ConfigError),
    # zoo: damaged or crafted files are one line and never executed
    api("zoo-html-page", _zoo_load, "an HTML page, as a failed Google-Drive download leaves",
        RuntimeError, _zoo_file("html")),
    api("zoo-truncated-file", _zoo_load, "is not a loadable PyTorch checkpoint", RuntimeError,
        _zoo_file("truncated")),
    api("zoo-crafted-pickle-with-unsafe-env", _zoo_load, "nothing in it was executed",
        RuntimeError, _zoo_file("crafted")),
]


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.id)
def test_api_bad_input_is_one_line_and_writes_nothing(
    case: ApiCase, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.prepare is not None:  # files the case needs (a checkpoint to resume, a zoo file)
        case.prepare(sandbox, monkeypatch)
    before = sandbox.snapshot()
    with pytest.raises(case.error) as info:
        case.call(sandbox, monkeypatch)
    monkeypatch.undo()
    message = str(info.value)
    assert message and "\n" not in message, message
    assert case.needle in message, message
    assert sandbox.snapshot() == before, "a bad input left or changed files"
    assert checks.enabled()


# --------------------------------------------------------------------------------------------
# real processes: no traceback ever reaches the terminal


def _cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full["PYTHONPATH"] = str(ROOT) + os.pathsep + full.get("PYTHONPATH", "")
    full.update(OMP_NUM_THREADS="1", MAILVIZ_THREADS="1", **(env or {}))
    full.pop("MAILVIZ_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "mailviz.cli", *argv], env=full,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


# (train --set lr=nan in a real process is test_train_lr_nan_exits_2_and_caches_nothing below)
SUBPROCESS_CASES = [
    ("subprocess-eval-steps-zero", [*EVAL, "--steps", "0"], "expected an integer >= 1"),
    ("subprocess-cache-dir-under-a-file", t(cache="{blocker}/c"), "Not a directory"),
    ("subprocess-figures-parameter-typo", ["figures", "--only", "00", "-p", "SEDD", "1"],
     "unknown notebook parameter(s) SEDD"),
]


@pytest.mark.parametrize(("id_", "argv", "needle"), SUBPROCESS_CASES,
                         ids=[c[0] for c in SUBPROCESS_CASES])  # fmt: skip
def test_real_process_prints_one_line_no_traceback(
    id_: str, argv: list[str], needle: str, sandbox: Sandbox
) -> None:
    before = sandbox.snapshot()
    env = {"MAILVIZ_CACHE": str(sandbox.root / "cache")}
    proc = _cli(*[a.format(**sandbox.paths) for a in argv], env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("mailviz: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr and needle in proc.stderr
    assert sandbox.snapshot() == before


def test_train_lr_nan_exits_2_and_caches_nothing(sandbox: Sandbox) -> None:
    """Acceptance: `mailviz train --set lr=nan …` exits 2 with one line; the cache holds
    nothing for it (checked in the default cache, $MAILVIZ_CACHE, as well)."""
    cache = sandbox.root / "cache"
    proc = _cli("train", "--profile", "smoke", "--quiet", "--set", "lr=nan",
                env={"MAILVIZ_CACHE": str(cache)})  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == (
        "mailviz: error: lr must be a finite number, got nan — e.g. lr=0.05\n"
    )
    assert list(cache.iterdir()) == []


def test_the_table_covers_every_kind() -> None:
    ids = [c.id for c in CLI_CASES] + [c.id for c in API_CASES] + [c[0] for c in SUBPROCESS_CASES]
    assert len(ids) == len(set(ids))
    kinds = Counter(i.split("-", 1)[0] for i in ids)
    assert len(ids) >= 60, len(ids)
    for kind in ("cli", "config", "attacks", "margins", "objectives", "weights", "metrics",
                 "files", "train", "threads", "zoo", "subprocess"):  # fmt: skip
        assert kinds[kind] >= 1, kind
    print(f"\n{len(ids)} bad inputs: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
