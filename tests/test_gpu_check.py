"""benchmarks/gpu_check.py (dry-run on the CPU) and the host-sync switch in mailviz.checks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
import torch

from mailviz import attacks, checks, objectives, weights
from mailviz.config import get_profile
from mailviz.train import SKIP_CHECKS_ENV, train

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"

# ------------------------------------------------------------------------------------------
# the switch


def test_switch_defaults_on_and_restores_state_also_after_errors() -> None:
    assert checks.enabled()
    with checks.skip_host_syncs():
        assert not checks.enabled()
        with checks.skip_host_syncs():  # nests
            assert not checks.enabled()
        assert not checks.enabled()
    assert checks.enabled()
    with pytest.raises(RuntimeError), checks.skip_host_syncs():
        raise RuntimeError("boom")
    assert checks.enabled()


def test_skipping_skips_the_content_checks_that_sync() -> None:
    """Inside the switch the tensor-content checks no longer run (so no host sync happens)."""
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    x_bad = torch.full((2, 1, 2, 2), 2.0)  # outside [0, 1]
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):  # the attacks' content guard
        attacks.pgd(model, x_bad, y, eps=0.1, step_size=0.05, steps=1)
    with pytest.raises(ValueError, match="finite and >= 0"):
        weights.normalize(torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="kappa must lie"):
        weights.gairat_tanh(torch.tensor([0, 11]), steps=10, lam=-1.0)
    with pytest.raises(ValueError, match="eps must be"):
        attacks._eps(torch.tensor([0.1, 2.0]), x_bad)
    with checks.skip_host_syncs():
        attacks.pgd(model, x_bad, y, eps=0.1, step_size=0.05, steps=1)  # not checked: no sync
        weights.normalize(torch.tensor([1.0, -1.0]))
        weights.gairat_tanh(torch.tensor([0, 11]), steps=10, lam=-1.0)
        attacks._eps(torch.tensor([0.1, 2.0]), x_bad)
        # shapes, dtypes and Python numbers cost no sync: still checked
        with pytest.raises(ValueError, match="shape"):
            attacks._check_inputs(model, x_bad, torch.tensor([0, 1, 2]))
        with pytest.raises(ValueError, match="eps must be in"):
            attacks._eps(2.0, x_bad)


def test_skipping_changes_no_result_on_a_valid_batch() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 10))
    x, y = torch.rand(12, 1, 4, 4), torch.randint(0, 10, (12,))
    w = torch.rand(12)

    def run() -> tuple[torch.Tensor, ...]:
        gen = torch.Generator().manual_seed(3)
        res = attacks.pgd(model, x, y, 0.1, 0.025, 5, generator=gen, return_result=True)
        eps_b = torch.full((12,), 0.1)
        per_example = attacks.pgd(model, x, y, eps_b, 0.025, 3, generator=gen)
        objective = objectives.Objective(
            "mail_at", None, objectives.AttackSettings(0.1, 0.025, 3, "ce", generator=gen),
            epochs=1,
        )
        out = objective.loss(model, x, y, epoch=0)
        return (res.x_adv, res.kappa, per_example, weights.normalize(w), out.loss,
                out.stats["weight"], weights.gairat_tanh(res.kappa, 5, -1.0))

    checked = run()
    with checks.skip_host_syncs():
        skipped = run()
    for a, b in zip(checked, skipped, strict=True):
        assert torch.equal(a, b)


def test_float_eps_is_written_by_a_fill_with_the_same_value() -> None:
    x = torch.rand(3, 2, dtype=torch.float64)
    t = attacks._eps(8 / 255, x)
    assert t.shape == (3, 1) and t.dtype == torch.float64
    assert torch.equal(t, torch.tensor(8 / 255, dtype=torch.float64).expand(3).view(3, 1))
    assert torch.equal(attacks._eps(0.1, x.float()).view(-1), torch.tensor([0.1] * 3))


def test_trainer_env_var_skips_checks_and_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    cfg = get_profile("smoke", method="mail_at", epochs=1, train_subset=64, eval_subset=32,
                      steps=2, eval_steps=2)
    seen: list[bool] = []
    original = weights.normalize

    def spy(*args, **kwargs):
        seen.append(checks.enabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(weights, "normalize", spy)
    plain = train(cfg, cache_dir=tmp_path / "a", progress=False, use_cache=False)
    assert seen and all(seen)
    seen.clear()
    monkeypatch.setenv(SKIP_CHECKS_ENV, "1")
    fast = train(cfg, cache_dir=tmp_path / "b", progress=False, use_cache=False)
    assert seen and not any(seen)
    assert checks.enabled()  # restored after training
    for key, value in plain.model.state_dict().items():
        assert torch.equal(value, fast.model.state_dict()[key]), key
    assert plain.history.drop(columns=["epoch_seconds", "eval_seconds"]).equals(
        fast.history.drop(columns=["epoch_seconds", "eval_seconds"]))


# ------------------------------------------------------------------------------------------
# benchmarks/gpu_check.py


@pytest.fixture(scope="module")
def gpu_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(MAILVIZ_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


@pytest.mark.slow
def test_dry_run_runs_every_section_and_writes_the_json(tmp_path: Path, gpu_check) -> None:
    out = tmp_path / "gpu_check.json"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--out", str(out)], env=_env(), cwd=ROOT,
        capture_output=True, text=True, timeout=600, check=False,
    )
    wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text())
    for key in ("format", "version", "created_utc", "dry_run", "budget_s", "elapsed_s",
                "environment", "sizes", "method", "tolerances", "sections", "stopped_early"):
        assert key in report, key
    assert report["dry_run"] is True and report["stopped_early"] is False
    assert report["elapsed_s"] <= wall
    for key in ("torch", "cuda", "device", "device_name", "python"):
        assert key in report["environment"], key
    assert {"warmup_rounds", "timed_rounds", "statistic"} <= set(report["method"])
    tol = report["tolerances"]["parity"]
    assert {"pm", "loss", "grad_rel_l2", "x_adv", "kappa", "tf32", "why"} <= set(tol)

    sections = report["sections"]
    assert list(sections) == list(gpu_check.SECTIONS)
    for name, section in sections.items():
        assert section["status"] == "ok", (name, section["status"], section.get("traceback"))
        assert section["seconds"] >= 0

    parity = sections["parity"]
    assert parity["all_within_tolerance"] and parity["tf32"]["matmul"] is False
    assert parity["test"] == "cpu torch.float64"  # the dry-run's stand-in for CUDA
    for check in ("pm", "pm_clean", "mail_at_loss", "mail_trades_loss", "mail_mart_loss",
                  "mail_at_grad", "pgd_x_adv", "kappa"):
        assert parity["checks"][check]["ok"], check
    assert {"nat_acc", "pgd20_acc"} <= set(sections["bf16"]["digits_accuracy"]["fp32"])
    for mode in ("fp32", "bf16_cl"):
        methods = sections["speed"]["modes"][mode]["methods"]
        assert list(methods) == list(gpu_check.SPEED_METHODS)
        assert all(m["ms_per_step"] > 0 and m["ratio_to_k1_clean"] > 0 for m in methods.values())
    for case in sections["host_sync"]["cases"].values():
        assert case["same_results"]["identical"]
        assert case["methods"]["mail_at"]["syncs_checked"] is None  # counted on CUDA only
    paper = sections["projections"]["paper_profile"]["bf16_cl"]["mail_trades"]
    assert paper["run_120_epochs_hours"] > 0
    wrn = sections["wrn"]
    assert wrn["throughput"]["fp32"]["images_per_s"] > 0
    assert wrn["largest_batch_bf16"]["pgd_attack"]["largest_fit"] == 16  # the dry-run's cap
    worker = sections["torchrun"]["worker"]
    assert sections["torchrun"]["rc"] == 0 and worker["backend"] == "gloo" and worker["ok"]
    assert sections["compile"]["methods"]["mail_trades"]["status"] == "ok"
    assert "ms per training step" in proc.stdout and "parity" in proc.stdout


def _context(gpu_check, tmp_path: Path, budget, sizes=None):
    return gpu_check.Context(
        device=torch.device("cpu"), sizes=sizes or gpu_check.DRY, budget=budget, dry_run=True,
        workdir=tmp_path, report={"sections": {}}, out=tmp_path / "report.json",
    )


def test_budget_timer_stops_a_section_keeps_its_data_and_skips_the_rest(gpu_check,
                                                                         tmp_path: Path) -> None:
    start = time.monotonic()
    budget = gpu_check.Budget(0.5, 0.0, start)
    ctx = _context(gpu_check, tmp_path, budget)

    def endless(ctx, out) -> None:
        out["measured"] = 1
        while True:
            time.sleep(0.01)

    def never(ctx, out) -> None:
        raise AssertionError("must not run")

    with budget.armed():
        gpu_check.run_section(ctx, "parity", endless)
        gpu_check.run_section(ctx, "bf16", never)
    assert time.monotonic() - start < 5
    report = json.loads(ctx.out.read_text())
    assert report["sections"]["parity"]["status"].startswith("failed(budget exhausted")
    assert report["sections"]["parity"]["measured"] == 1
    assert report["sections"]["bf16"]["status"] == "skipped(budget exhausted)"


def test_failing_or_oversized_sections_do_not_stop_the_others(gpu_check, tmp_path: Path) -> None:
    sizes = gpu_check.Sizes(**{**gpu_check.asdict(gpu_check.DRY),
                               "min_seconds": {"speed": 1e9}})
    ctx = _context(gpu_check, tmp_path, gpu_check.Budget(100, 0, time.monotonic()), sizes)

    def broken(ctx, out) -> None:
        raise ValueError("bad thing")

    def fine(ctx, out) -> None:
        out["value"] = float("nan")  # written as null: strict JSON

    gpu_check.run_section(ctx, "parity", broken)
    gpu_check.run_section(ctx, "speed", fine)
    gpu_check.run_section(ctx, "bf16", fine)
    report = json.loads(ctx.out.read_text())
    assert report["sections"]["parity"]["status"] == "failed(ValueError: bad thing)"
    assert report["sections"]["parity"]["traceback"]
    assert report["sections"]["speed"]["status"].startswith("skipped(budget:")
    assert report["sections"]["bf16"] == {"status": "ok", "value": None,
                                          "seconds": report["sections"]["bf16"]["seconds"]}


def test_largest_batch_doubles_until_out_of_memory(gpu_check) -> None:
    budget = gpu_check.Budget(100, 0, time.monotonic())
    cpu = torch.device("cpu")

    def probe(batch: int) -> None:
        if batch > 64:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    result = gpu_check.largest_batch(probe, 8, 4096, cpu, budget)
    assert (result["largest_fit"], result["first_failed"]) == (64, 128)
    assert result["stopped_by"] == "out of memory"
    assert [t["batch"] for t in result["tried"]] == [8, 16, 32, 64, 128]

    def unsupported(batch: int) -> None:
        if batch > 8:
            raise RuntimeError("cuDNN error: CUDNN_STATUS_NOT_SUPPORTED")

    result = gpu_check.largest_batch(unsupported, 8, 4096, cpu, budget)
    assert result["largest_fit"] == 8 and result["stopped_by"].startswith("error: RuntimeError")
    result = gpu_check.largest_batch(lambda b: None, 8, 32, cpu, budget)
    assert (result["largest_fit"], result["first_failed"]) == (32, None)
    assert result["stopped_by"] == "cap 32 reached"


def test_help_explains_every_option_and_host_syncs_are_counted_on_cuda_only(gpu_check) -> None:
    text = gpu_check.build_parser().format_help()
    for option in ("--out", "--dry-run", "--budget-s", "--sections", "--device", "--threads",
                   "--compile-backend", "--ddp-worker"):
        assert option in text, option
    assert gpu_check.count_host_syncs(lambda: None, torch.device("cpu")) is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_without_a_gpu_the_device_run_says_so(gpu_check, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert gpu_check.main(["--out", str(out), "--sections", "parity,wrn"]) == 2
    report = json.loads(out.read_text())
    assert set(report["sections"]) == {"parity", "wrn"}
    assert all(s["status"].startswith("skipped(no CUDA device") for s in
               report["sections"].values())
