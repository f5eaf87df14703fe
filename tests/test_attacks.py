"""Tests of mailviz.attacks: invariants (property tests), closed forms, κ, restarts, LM-PGD, AA.

Models are tiny and defined here (float64 where exact batch/one-by-one agreement is checked, so
summation order inside a matmul cannot flip the sign of a gradient component).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from mailviz.attacks import (
    ATTACKS,
    AttackResult,
    autoattack,
    fgsm,
    lm_pgd,
    pgd,
    weighted_pgd,
)
from mailviz.margins import kappa_from_predictions, logit_margin, probabilistic_margin

torch.set_num_threads(1)

PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
GRADIENT_ATTACKS = ("fgsm", "pgd", "weighted_pgd", "lm_pgd")


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed the global RNG inside the block without leaking the state to other tests."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def tiny_cnn(classes: int = 3, seed: int = 0) -> nn.Module:
    """Conv-BN-ReLU-dropout-linear on [B, 1, 4, 4], float64.

    BatchNorm (with non-trivial running statistics) and dropout make train-mode forwards depend
    on the batch and on randomness, so any attack that forgot eval mode fails the batch tests.
    """
    with seeded(seed):
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(64, classes),
        ).double()
        bn = model[1]
        assert isinstance(bn, nn.BatchNorm2d)
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    return model


def linear_model(weight: Tensor, bias: Tensor) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0]).to(weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


def images(batch: int, seed: int) -> Tensor:
    """[B, 1, 4, 4] float64 images with some pixels exactly at 0 and 1 (box edges)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 1, 4, 4, generator=g, dtype=torch.float64)
    x[:, 0, 0, 0] = 0.0
    x[:, 0, 0, 1] = 1.0
    return x


def run(name: str, model: nn.Module, x: Tensor, y: Tensor, eps, step, steps: int, **kw):
    """Call attack ``name`` with the arguments it understands."""
    if name == "fgsm":
        return fgsm(model, x, y, eps)
    if name == "pgd":
        return pgd(model, x, y, eps, step, steps, **kw)
    if name == "weighted_pgd":
        kw["loss"] = "kl" if kw.get("loss") == "kl" else "ce"
        return weighted_pgd(model, x, y, eps, step, steps, kw.pop("alpha", 1.5), **kw)
    if name == "lm_pgd":
        kw.pop("restarts", None)
        return lm_pgd(model, x, y, eps, steps=steps, n_candidates=3, min_until=2, **kw)
    raise AssertionError(name)


# --------------------------------------------------------------------------------------------
# Invariants
# --------------------------------------------------------------------------------------------


@PROPERTY
@given(
    name=st.sampled_from(GRADIENT_ATTACKS),
    batch=st.integers(1, 4),
    eps=st.floats(0.01, 0.5),
    step=st.floats(0.005, 0.3),
    steps=st.integers(1, 4),
    loss=st.sampled_from(["ce", "cw", "kl"]),
    start=st.sampled_from(["uniform", "normal", "none"]),
    restarts=st.integers(1, 2),
    training=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_invariants(name, batch, eps, step, steps, loss, start, restarts, training, seed):
    model = tiny_cnn()
    model.train(training)
    params = list(model.parameters())
    params[0].grad = torch.full_like(params[0], 0.5)
    grad_before = params[0].grad.clone()
    x = images(batch, seed)
    x_before = x.clone()
    y = torch.arange(batch) % 3
    if loss == "kl" and start == "none":
        start = "normal"
    gen = torch.Generator().manual_seed(seed)

    x_adv = run(
        name, model, x, y, eps, step, steps, loss=loss, start=start, restarts=restarts,
        generator=gen,
    )  # fmt: skip

    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert (x_adv - x).abs().max().item() <= eps + 1e-6
    assert x_adv.min().item() >= 0.0 and x_adv.max().item() <= 1.0
    assert torch.equal(x, x_before)
    assert all(m.training == training for m in model.modules())
    assert torch.equal(params[0].grad, grad_before)
    assert all(p.grad is None for p in params[1:])
    assert not x_adv.requires_grad


def test_mixed_module_modes_restored_even_on_error():
    model = tiny_cnn()
    model.train()
    model[1].eval()  # a frozen BatchNorm inside a training model
    flags = [m.training for m in model.modules()]
    x, y = images(2, 0), torch.tensor([0, 1])
    pgd(model, x, y, 0.1, 0.05, 2)
    assert [m.training for m in model.modules()] == flags

    def broken_forward(inp: Tensor) -> Tensor:
        assert not model.training
        raise RuntimeError("boom")

    model.forward = broken_forward  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="boom"):
        pgd(model, x, y, 0.1, 0.05, 2)
    assert [m.training for m in model.modules()] == flags


@PROPERTY
@given(
    name=st.sampled_from(GRADIENT_ATTACKS),
    batch=st.integers(2, 4),
    steps=st.integers(1, 4),
    loss=st.sampled_from(["ce", "cw", "kl"]),
    seed=st.integers(0, 2**16),
)
def test_batch_equals_one_by_one_with_per_example_eps(name, batch, steps, loss, seed):
    """A batch with per-example ε and an explicit random start equals each example alone."""
    model = tiny_cnn()
    x, y = images(batch, seed), torch.arange(batch) % 3
    g = torch.Generator().manual_seed(seed)
    eps = 0.02 + 0.3 * torch.rand(batch, generator=g, dtype=torch.float64)
    step = eps / 3
    init = (2 * torch.rand(x.shape, generator=g, dtype=torch.float64) - 1) * eps.view(-1, 1, 1, 1)
    kw = {} if name == "fgsm" else {"loss": loss, "init": init}

    together = run(name, model, x, y, eps, step, steps, **kw)
    for i in range(batch):
        kw_i = {} if name == "fgsm" else {"loss": loss, "init": init[i : i + 1]}
        alone = run(
            name, model, x[i : i + 1], y[i : i + 1], eps[i].item(), step[i].item(), steps, **kw_i
        )
        torch.testing.assert_close(together[i : i + 1], alone, rtol=0, atol=1e-12)


@PROPERTY
@given(
    name=st.sampled_from(GRADIENT_ATTACKS),
    batch=st.integers(1, 4),
    eps=st.floats(0.01, 0.5),
    step=st.floats(0.005, 0.3),
    start=st.sampled_from(["uniform", "normal", "none"]),
    restarts=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_scalar_equals_per_example_tensor(name, batch, eps, step, start, restarts, seed):
    model = tiny_cnn()
    x, y = images(batch, seed), torch.arange(batch) % 3
    kw = {"start": start, "restarts": restarts}
    a = run(name, model, x, y, eps, step, 3, generator=torch.Generator().manual_seed(seed), **kw)
    b = run(
        name, model, x, y, torch.full((batch,), eps, dtype=torch.float64),
        torch.full((batch,), step, dtype=torch.float64), 3,
        generator=torch.Generator().manual_seed(seed), **kw,
    )  # fmt: skip
    assert torch.equal(a, b)


def test_weighted_alpha_scalar_equals_per_example():
    model = tiny_cnn()
    x, y = images(4, 1), torch.tensor([0, 1, 2, 0])
    a = weighted_pgd(model, x, y, 0.2, 0.05, 4, 2.0, generator=torch.Generator().manual_seed(3))
    b = weighted_pgd(
        model, x, y, 0.2, 0.05, 4, torch.full((4,), 2.0), generator=torch.Generator().manual_seed(3)
    )
    assert torch.equal(a, b)


def test_works_inside_no_grad_and_same_result():
    model = tiny_cnn()
    x, y = images(3, 2), torch.tensor([0, 1, 2])
    a = pgd(model, x, y, 0.1, 0.03, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        b = pgd(model, x, y, 0.1, 0.03, 3, generator=torch.Generator().manual_seed(0))
        c = lm_pgd(model, x, y, 0.1, steps=3)
    assert torch.equal(a, b)
    assert c.shape == x.shape


# --------------------------------------------------------------------------------------------
# Closed forms on linear classifiers
# --------------------------------------------------------------------------------------------


def _binary_linear(dim: int = 6, batch: int = 16, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(2, dim, generator=g, dtype=torch.float64)
    bias = torch.randn(2, generator=g, dtype=torch.float64)
    x = 0.5 + 0.1 * (2 * torch.rand(batch, dim, generator=g, dtype=torch.float64) - 1)
    y = torch.randint(0, 2, (batch,), generator=g)
    return linear_model(weight, bias), weight, x, y


@pytest.mark.parametrize(("loss", "confidence"), [("ce", 0.0), ("cw", 50.0)])
def test_pgd_reaches_linear_worst_case(loss, confidence):
    """Binary f(x) = Wx + b: min_{‖δ‖∞≤ε} margin = margin(x) − ε‖w_y − w_other‖₁ at
    δ* = −ε·sign(w_y − w_other); x lies in the interior, so the box does not interfere."""
    model, weight, x, y = _binary_linear()
    eps = 0.05
    w_diff = weight[y] - weight[1 - y]  # [B, D]
    x_adv = pgd(
        model, x, y, eps, eps / 4, 10, loss=loss, confidence=confidence,
        generator=torch.Generator().manual_seed(1),
    )  # fmt: skip
    with torch.no_grad():
        achieved = logit_margin(model(x_adv), y).double()
        expected = logit_margin(model(x), y).double() - eps * w_diff.abs().sum(dim=1)
    torch.testing.assert_close(achieved, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(x_adv, x - eps * w_diff.sign(), rtol=0, atol=1e-12)


def test_fgsm_is_the_linear_worst_case_in_one_step():
    model, weight, x, y = _binary_linear(seed=4)
    x_adv = fgsm(model, x, y, 0.05)
    torch.testing.assert_close(x_adv, x - 0.05 * (weight[y] - weight[1 - y]).sign())


def test_cw_without_confidence_stops_at_the_boundary():
    """With κ_c = 0 the CW loss min(−MM, 0) is flat once misclassified: no overshoot."""
    _, weight, x, y = _binary_linear(seed=2, batch=32)
    model = linear_model(weight, -0.5 * weight.sum(dim=1))  # boundary through the centre 0.5
    eps, step = 0.3, 0.002
    res = pgd(model, x, y, eps, step, 300, loss="cw", start="none", return_result=True)
    assert res.loss is not None and res.logits is not None
    with torch.no_grad():
        before = logit_margin(model(x), y)
    after = logit_margin(res.logits, y)
    one_step = step * (weight[y] - weight[1 - y]).abs().sum(dim=1)  # margin change per step
    assert (res.loss <= 0).all()
    flipped = (before > 0) & (after <= 0)
    assert flipped.sum() >= 4
    assert (after[flipped] > -one_step[flipped] - 1e-6).all()
    assert torch.equal(res.x_adv[before < 0], x[before < 0])  # already wrong: never moved


def test_weighted_pgd_one_step_matches_algorithm_1():
    """One step of Alg. 1 (start none): sign of ∇ Σ exp(−α·PM)·CE with the weight not detached."""
    model = tiny_cnn()
    x, y = images(5, 7), torch.tensor([0, 1, 2, 0, 1])
    alpha, eta, eps = 3.0, 0.04, 0.1
    model.eval()
    xr = x.clone().requires_grad_(True)
    logits = model(xr)
    objective = torch.exp(-alpha * probabilistic_margin(logits, y)) * F.cross_entropy(
        logits, y, reduction="none"
    )
    (grad,) = torch.autograd.grad(objective.sum(), xr)
    expected = torch.clamp(x + eta * grad.sign(), (x - eps).clamp(min=0), (x + eps).clamp(max=1))
    got = weighted_pgd(model, x, y, eps, eta, 1, alpha, start="none")
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


# --------------------------------------------------------------------------------------------
# κ and recording
# --------------------------------------------------------------------------------------------


def test_kappa_counts_correct_iterates_before_each_step():
    """1-D threshold classifier at c: example j starts 0.025 inside its class, j steps of 0.05
    from the boundary, so it is correct for exactly min(j, K) of the iterates x^(0)…x^(K−1)."""
    c, step, steps = 0.6, 0.05, 5
    model = linear_model(
        torch.tensor([[-4.0], [4.0]], dtype=torch.float64),
        torch.tensor([4.0 * c, -4.0 * c], dtype=torch.float64),
    )  # class 1 iff x > c
    js = torch.arange(0, steps + 3)
    x0 = torch.cat([c - step * js + 0.025, c + step * js - 0.025]).view(-1, 1).double()
    y = torch.cat([torch.zeros_like(js), torch.ones_like(js)])
    res = pgd(model, x0, y, 1.0, step, steps, start="none", record=True, return_result=True)
    expected = torch.cat([js, js]).clamp(max=steps)
    assert torch.equal(res.kappa, expected)
    assert res.path is not None and res.path_pred is not None
    assert res.path.shape == (steps + 1, *x0.shape) and res.path_pred.shape == (steps + 1, len(y))
    assert torch.equal(kappa_from_predictions(res.path_pred[:steps], y), res.kappa)
    assert torch.equal(res.path_pred[steps], res.logits.argmax(dim=1))
    assert torch.equal(res.path[0], x0) and torch.equal(res.path[steps], res.x_adv)
    direction = torch.where(y == 0, 1.0, -1.0).double().view(-1, 1)
    torch.testing.assert_close(
        res.path[1:] - res.path[:-1], (step * direction).expand(steps, -1, 1)
    )


def test_kappa_and_path_follow_the_kept_restart():
    model = tiny_cnn()
    x, y = images(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    res = pgd(
        model, x, y, 0.3, 0.1, 4, restarts=3, record=True, return_result=True,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert torch.equal(res.path[-1], res.x_adv)
    assert torch.equal(kappa_from_predictions(res.path_pred[:4], y), res.kappa)
    with torch.no_grad():
        model.eval()
        torch.testing.assert_close(
            model(res.path.flatten(0, 1)).argmax(1).view(5, 6), res.path_pred
        )


def test_record_false_and_final_logits_false():
    model = tiny_cnn()
    x, y = images(3, 5), torch.tensor([0, 1, 2])
    full = pgd(model, x, y, 0.2, 0.05, 3, return_result=True, generator=torch.Generator())
    assert isinstance(full, AttackResult)
    assert full.path is None and full.path_pred is None
    assert full.logits is not None and full.loss is not None and full.kappa is not None
    lean = pgd(
        model, x, y, 0.2, 0.05, 3, return_result=True, final_logits=False,
        generator=torch.Generator(),
    )  # fmt: skip
    assert lean.logits is None and lean.loss is None and lean.path is None
    assert torch.equal(lean.x_adv, full.x_adv) and torch.equal(lean.kappa, full.kappa)
    lm = lm_pgd(model, x, y, 0.2, steps=3, return_result=True)
    assert lm.path is None and lm.kappa is None and lm.logits is not None


def test_lm_pgd_record():
    model = tiny_cnn()
    x, y = images(4, 9), torch.tensor([0, 1, 2, 0])
    res = lm_pgd(model, x, y, 0.2, steps=6, record=True, return_result=True)
    assert res.path.shape == (7, *x.shape) and res.path_pred.shape == (7, 4)
    assert torch.equal(res.path[-1], res.x_adv)
    model.eval()
    with torch.no_grad():
        pred = model(res.path.flatten(0, 1)).argmax(1).view(7, 4)
        torch.testing.assert_close(F.cross_entropy(model(res.x_adv), y, reduction="none"), res.loss)
    assert torch.equal(pred, res.path_pred)


def lm_pgd_reference(model, x, y, eps, steps, gamma, step_max, step_min, min_until, n):
    """LM-PGD for ONE example, written out loop by loop (CE loss, start "none")."""
    low, high = (x - eps).clamp(min=0), (x + eps).clamp(max=1)
    x_adv, x_prev, v = x.clone(), x.clone(), torch.zeros_like(x)
    for t in range(steps):
        look = torch.clamp(x_adv + gamma * (x_adv - x_prev), low, high).requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(model(look), y), look)
        v = gamma * v + g.sign()
        lower = step_min if t < min_until else 0.0
        best, best_loss = None, -float("inf")
        for k in range(n):
            alpha = lower + (step_max - lower) * k / (n - 1)
            candidate = torch.clamp(x_adv + alpha * v.sign(), low, high)
            with torch.no_grad():
                value = F.cross_entropy(model(candidate), y).item()
            if value > best_loss:
                best, best_loss = candidate, value
        x_prev, x_adv = x_adv, best
    return x_adv


class Bowl(nn.Module):
    """Logits ``[−a·‖x − c‖², 0]``: for label 1 the CE loss peaks inside the box at ``x = c``, so
    gradient signs oscillate around the peak and the momentum changes the path."""

    def __init__(self, centre: Tensor, a: float = 20.0) -> None:
        super().__init__()
        self.register_buffer("centre", centre)
        self.a = a

    def forward(self, x: Tensor) -> Tensor:
        d = (x - self.centre).pow(2).flatten(1).sum(dim=1)
        return torch.stack([-self.a * d, torch.zeros_like(d)], dim=1)


@pytest.mark.parametrize("which", ["cnn", "bowl"])
def test_lm_pgd_matches_the_written_out_algorithm(which):
    x = images(4, 21)
    if which == "cnn":
        model, y = tiny_cnn(), torch.tensor([0, 1, 2, 1])
    else:
        model, y = Bowl(images(1, 5)[0] * 0.5 + 0.25), torch.ones(4, dtype=torch.int64)
    model.eval()
    eps = torch.tensor([0.3, 0.1, 0.2, 0.25], dtype=torch.float64)
    got = lm_pgd(
        model, x, y, eps, steps=12, momentum=0.8, min_until=3, n_candidates=5, start="none"
    )
    for i in range(4):
        e = eps[i].item()
        expected = lm_pgd_reference(
            model, x[i : i + 1], y[i : i + 1], e, 12, 0.8, 0.75 * e, 0.5 * e, 3, 5
        )
        torch.testing.assert_close(got[i : i + 1], expected, rtol=0, atol=1e-10)


def test_lm_pgd_step_defaults_scale_with_eps_and_step_max():
    """Defaults ε·6/8 and ε·4/8 (the paper's 6/255, 4/255 at 8/255); a step_max alone sets
    step_min to step_max·4/6, so a small step_max is never below the default step_min."""
    model = tiny_cnn()
    model.eval()
    x, y = images(2, 4), torch.tensor([0, 2])
    a = lm_pgd(model, x, y, 8 / 255, steps=3, start="none")
    b = lm_pgd(model, x, y, 8 / 255, steps=3, start="none", step_max=6 / 255, step_min=4 / 255)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    c = lm_pgd(model, x, y, 0.3, steps=3, start="none", step_max=0.03)
    d = lm_pgd(model, x, y, 0.3, steps=3, start="none", step_max=0.03, step_min=0.02)
    torch.testing.assert_close(c, d, rtol=0, atol=1e-12)


def test_random_starts_have_the_documented_spread():
    model = tiny_cnn()
    x, y = images(64, 2), torch.arange(64) % 3
    x = 0.25 + 0.5 * x  # interior, so the clamp does not cut the start
    uniform = pgd(model, x, y, 0.2, 0.01, 1, record=True, return_result=True,
                  generator=torch.Generator().manual_seed(0)).path[0] - x  # fmt: skip
    assert uniform.abs().max() <= 0.2 + 1e-12 and uniform.abs().max() > 0.19
    assert abs(uniform.mean().item()) < 0.01 and abs(uniform.std().item() - 0.2 / 3**0.5) < 0.01
    normal = pgd(model, x, y, 0.2, 0.01, 1, start="normal", record=True, return_result=True,
                 generator=torch.Generator().manual_seed(0)).path[0] - x  # fmt: skip
    assert abs(normal.std().item() - 0.001) < 1e-4


# --------------------------------------------------------------------------------------------
# On a small trained network (sklearn digits)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_net():
    """A 64-64-10 MLP trained for a fraction of a second on sklearn digits (float32)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(data.target, dtype=torch.int64)
    with seeded(0):
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(150):
            opt.zero_grad()
            F.cross_entropy(model(x[:1500]), y[:1500]).backward()
            opt.step()
    model.zero_grad(set_to_none=True)
    return model, x[1500:1628], y[1500:1628]


def _accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def test_digits_net_is_trained(digits_net):
    model, x, y = digits_net
    assert _accuracy(model, x, y) > 0.8  # 0.875 with these seeds


def test_restarts_never_weaker(digits_net):
    model, x, y = digits_net
    one = pgd(model, x, y, 0.1, 0.025, 5, return_result=True, generator=torch.Generator())
    four = pgd(
        model, x, y, 0.1, 0.025, 5, restarts=4, return_result=True, generator=torch.Generator()
    )
    wrong_one, wrong_four = one.pred != y, four.pred != y
    assert (wrong_four | ~wrong_one).all()  # misclassified with 1 restart ⇒ with 4
    both_right = ~wrong_one & ~wrong_four
    assert (four.loss[both_right] >= one.loss[both_right]).all()
    assert wrong_four.float().mean() >= wrong_one.float().mean()


@pytest.mark.parametrize("restarts", [1, 3])
def test_weighted_alpha_zero_is_pgd_ce(digits_net, restarts):
    model, x, y = digits_net
    a = pgd(
        model, x, y, 0.05, 0.01, 6, restarts=restarts, return_result=True,
        generator=torch.Generator().manual_seed(11),
    )  # fmt: skip
    b = weighted_pgd(
        model, x, y, 0.05, 0.01, 6, 0.0, restarts=restarts, return_result=True,
        generator=torch.Generator().manual_seed(11),
    )  # fmt: skip
    assert torch.equal(a.x_adv, b.x_adv)
    assert torch.equal(a.kappa, b.kappa)
    assert torch.equal(a.loss, b.loss)
    c = weighted_pgd(model, x, y, 0.05, 0.01, 6, 3.0, generator=torch.Generator().manual_seed(11))
    assert not torch.equal(a.x_adv, c)


def test_weighted_kl_alpha_zero_is_pgd_kl(digits_net):
    model, x, y = digits_net
    kw = {"start": "normal", "return_result": True}
    a = pgd(model, x, y, 0.1, 0.02, 5, loss="kl", generator=torch.Generator(), **kw)
    b = weighted_pgd(model, x, y, 0.1, 0.02, 5, 0.0, loss="kl", generator=torch.Generator(), **kw)
    assert torch.equal(a.x_adv, b.x_adv) and torch.equal(a.loss, b.loss)
    c = weighted_pgd(model, x, y, 0.1, 0.02, 5, 2.0, loss="kl", generator=torch.Generator(), **kw)
    with torch.no_grad():
        p = F.softmax(model(x), dim=1)
        kl = F.kl_div(F.log_softmax(model(c.x_adv), dim=1), p, reduction="none").sum(1)
        weight = torch.exp(-2.0 * probabilistic_margin(model(c.x_adv), y))
    torch.testing.assert_close(c.loss, weight * kl)


def test_lm_pgd_at_least_as_strong_as_pgd(digits_net):
    model, x, y = digits_net
    eps, steps = 0.1, 10
    x_pgd = pgd(model, x, y, eps, 2.5 * eps / steps, steps, generator=torch.Generator())
    x_lm = lm_pgd(model, x, y, eps, steps=steps, generator=torch.Generator())
    with torch.no_grad():
        loss_pgd = F.cross_entropy(model(x_pgd), y)
        loss_lm = F.cross_entropy(model(x_lm), y)
    assert loss_lm >= loss_pgd
    assert _accuracy(model, x_lm, y) <= _accuracy(model, x_pgd, y)


def test_lm_pgd_loss_never_decreases_once_zero_step_is_a_candidate(digits_net):
    model, x, y = digits_net
    res = lm_pgd(model, x, y, 0.1, steps=8, min_until=3, record=True, return_result=True)
    with torch.no_grad():
        losses = F.cross_entropy(model(res.path.flatten(0, 1)), y.repeat(9), reduction="none")
    losses = losses.view(9, -1)
    assert (losses[4:] - losses[3:-1] >= -1e-5).all()  # iterations 4..8 include α = 0
    assert losses[8].mean() > losses[3].mean() + 1e-3  # ... and still climb


def test_autoattack_fast_is_stronger_than_pgd(digits_net, capsys):
    model, x, y = digits_net
    x, y = x[:64], y[:64]
    eps = 0.1
    model.train()
    state = torch.get_rng_state()
    x_before = x.clone()
    x_aa = autoattack(model, x, y, eps, version="fast")
    assert torch.equal(torch.get_rng_state(), state)
    assert model.training and torch.equal(x, x_before)
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    assert capsys.readouterr().out == ""
    assert (x_aa - x).abs().max().item() <= eps + 1e-6
    assert 0.0 <= x_aa.min().item() and x_aa.max().item() <= 1.0
    x_pgd = pgd(model, x, y, eps, eps / 4, 10, generator=torch.Generator())
    model.eval()
    clean, robust_pgd, robust_aa = (_accuracy(model, v, y) for v in (x, x_pgd, x_aa))
    assert robust_aa <= robust_pgd <= clean
    assert robust_aa < clean


def test_autoattack_standard_small(digits_net):
    model, x, y = digits_net
    x, y = x[:16], y[:16]
    begin = time.perf_counter()
    x_aa = autoattack(model, x, y, 0.03, version="standard", batch_size=16)
    assert time.perf_counter() - begin < 15.0
    x_fast = autoattack(model, x, y, 0.03, version="fast")
    model.eval()
    assert _accuracy(model, x_aa, y) <= _accuracy(model, x_fast, y)


def test_autoattack_two_classes_finds_the_linear_worst_case():
    """Binary linear model (float32): AA (APGD-CE only, as "fast" with 2 classes) misclassifies
    exactly the examples whose closed-form worst-case margin is negative."""
    model, weight, x, y = _binary_linear(seed=3, batch=64)
    model, x, eps = model.float(), x.float(), 0.2
    x_aa = autoattack(model, x, y, eps, version="fast")
    assert (x_aa - x).abs().max().item() <= eps + 1e-6
    with torch.no_grad():
        worst = logit_margin(model(x), y) - eps * (weight[y] - weight[1 - y]).abs().sum(1).float()
        robust = model(x_aa).argmax(1) == y
    assert 0 < robust.sum() < len(y)  # the case is not trivial
    assert torch.equal(robust, worst > 0)


# --------------------------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------------------------


def _bad_calls():
    model = tiny_cnn()
    x, y = images(2, 0), torch.tensor([0, 1])
    return [
        (lambda: pgd(model, x, y, 0.0, 0.1, 3), "eps must be in"),
        (lambda: pgd(model, x, y, 1.5, 0.1, 3), "eps must be in"),
        (lambda: pgd(model, x, y, torch.tensor([0.1, -0.1]), 0.1, 3), "eps must be in"),
        (lambda: pgd(model, x, y, torch.full((3,), 0.1), 0.1, 3), r"shape \[2\]"),
        (lambda: pgd(model, x, y, 0.1, 0.0, 3), "step_size must be > 0"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 0), "steps must be an integer"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 2.5), "steps must be an integer"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 3, loss="mse"), "ce, cw, kl"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 3, start="zero"), "uniform, normal, none"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 3, restarts=0), "restarts"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 3, record=True), "return_result=True"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 3, loss="kl", start="none"), "start='normal'"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 3, confidence=-1.0), "confidence"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 3, init=x[:1]), "init"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 3, init=x, restarts=2), "restarts must be 1"),
        (lambda: pgd(model, x, y[:1], 0.1, 0.1, 3), r"shape \[2\]"),
        (lambda: pgd(model, x, y.float(), 0.1, 0.1, 3), "integer class labels"),
        (lambda: pgd(model, x * 2 - 0.5, y, 0.1, 0.1, 3), r"\[0, 1\]"),
        (lambda: pgd(model, x, y, 0.1, 0.1, 3, generator=object()), "torch.Generator"),
        (lambda: weighted_pgd(model, x, y, 0.1, 0.1, 3, float("nan")), "alpha must be finite"),
        (lambda: weighted_pgd(model, x, y, 0.1, 0.1, 3, 1.0, loss="cw"), "ce, kl"),
        (lambda: weighted_pgd(model, x, y, 0.1, 0.1, 3, 1.0, loss="kl", start="none"), "normal"),
        (lambda: lm_pgd(model, x, y, 0.1, momentum=1.0), "momentum"),
        (lambda: lm_pgd(model, x, y, 0.1, n_candidates=1), "n_candidates"),
        (lambda: lm_pgd(model, x, y, 0.1, step_max=0.01, step_min=0.02), "step_min"),
        (lambda: fgsm(model, x, y, 2.0), "eps must be in"),
        (lambda: autoattack(model, x, y, 0.1, version="plus"), "standard, fast"),
        (lambda: autoattack(model, x, y, torch.tensor([0.1, 0.2])), "one eps"),
        (lambda: autoattack(model, x, y, 0.1), "float32"),
    ]


@pytest.mark.parametrize("index", range(len(_bad_calls())))
def test_bad_arguments_raise_one_line_value_error(index):
    call, match = _bad_calls()[index]
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_attack_names():
    assert ATTACKS == ("fgsm", "pgd", "lm_pgd", "weighted_pgd", "autoattack")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_invariants_and_generator_device():
    model = tiny_cnn().float().cuda()
    x, y = images(8, 0).float().cuda(), (torch.arange(8) % 3).cuda()
    gen = torch.Generator(device="cuda").manual_seed(0)
    for name in GRADIENT_ATTACKS:
        x_adv = run(name, model, x, y, 0.1, 0.03, 5, generator=gen)
        assert x_adv.device == x.device
        assert (x_adv - x).abs().max().item() <= 0.1 + 1e-6
    with pytest.raises(ValueError, match="generator"):
        pgd(model, x, y, 0.1, 0.03, 5, generator=torch.Generator())
