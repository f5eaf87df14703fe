"""benchmarks/gpu_check.py (dry-run on the CPU) and the host-sync switch in mailviz.checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mailviz import attacks, checks, objectives, weights
from mailviz.config import get_profile
from mailviz.train import SKIP_CHECKS_ENV, train

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
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        attacks._check_inputs(model, x_bad, y)
    with pytest.raises(ValueError, match="finite and >= 0"):
        weights.normalize(torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="kappa must lie"):
        weights.gairat_tanh(torch.tensor([0, 11]), steps=10, lam=-1.0)
    with pytest.raises(ValueError, match="eps must be"):
        attacks._eps(torch.tensor([0.1, 2.0]), x_bad)
    with checks.skip_host_syncs():
        assert torch.equal(attacks._check_inputs(model, x_bad, y), y)
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
