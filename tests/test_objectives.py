"""Tests of mailviz.objectives: every method's loss, weights, invariants, AWP, FAT, validation."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mailviz import attacks, weights
from mailviz.config import ConfigError, ExperimentConfig
from mailviz.margins import probabilistic_margin
from mailviz.objectives import (
    METHODS,
    REWEIGHTING_METHODS,
    AttackSettings,
    LossOutput,
    Objective,
    build_objective,
    default_attack_loss,
    default_params,
    default_start,
    friendly_pgd,
    validate_params,
)

torch.set_num_threads(1)

B = 16
EPS, STEP, STEPS = 0.2, 0.07, 4


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10)
    )


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor, dict]:
    """A fixed batch of 8×8 "images" and a tiny MLP fitted to it a little (mixed margins)."""
    g = torch.Generator().manual_seed(0)
    protos = torch.rand(10, 1, 8, 8, generator=g)
    y = torch.arange(B) % 10
    x = (0.7 * protos[y] + 0.3 * torch.rand(B, 1, 8, 8, generator=g)).clamp(0, 1)
    torch.manual_seed(0)
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(15):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return x, y, copy.deepcopy(net.state_dict())


def make_model(data) -> nn.Module:
    net = _net()
    net.load_state_dict(data[2])
    return net


def settings(loss: str = "ce", start: str = "uniform", seed: int = 0, steps: int = STEPS):
    return AttackSettings(
        eps=EPS, step_size=STEP, steps=steps, loss=loss, start=start,
        generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip


def run(data, method, params=None, *, loss=None, start="uniform", epoch=5, burn_in=0, seed=0):
    """One objective evaluation on a fresh copy of the fixed model; returns (out, model, obj)."""
    x, y, _ = data
    model = make_model(data)
    loss = loss if loss is not None else default_attack_loss(method)
    obj = Objective(method, params, settings(loss, start, seed), epochs=10, burn_in=burn_in)
    return obj.loss(model, x, y, epoch=epoch), model, obj


def grads(model: nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters()]


def assert_same(data, a: tuple, b: tuple, tol: float = 1e-6) -> None:
    """Two (method, params, kwargs) runs give the same loss and the same parameter gradients."""
    out_a, model_a, _ = run(data, a[0], a[1], **a[2])
    out_b, model_b, _ = run(data, b[0], b[1], **b[2])
    assert torch.allclose(out_a.loss, out_b.loss, atol=tol, rtol=0), (out_a.loss, out_b.loss)
    out_a.loss.backward()
    out_b.loss.backward()
    for ga, gb in zip(grads(model_a), grads(model_b), strict=True):
        assert torch.allclose(ga, gb, atol=tol, rtol=0)


# --------------------------------------------------------------------------------------------
# Every method
# --------------------------------------------------------------------------------------------


def test_fixture_has_mixed_outcomes(data):
    """The fixed batch is neither all robust nor all broken, so weights and κ vary."""
    out, _, _ = run(data, "gairat")
    assert 0 < out.stats["correct"].sum() < B
    assert out.stats["kappa"].unique().numel() > 1
    assert out.stats["weight"].std() > 0.1


@pytest.mark.parametrize("method", METHODS)
def test_every_method_loss_grad_and_stats(data, method):
    x, y, _ = data
    x_before = x.clone()
    out, model, obj = run(data, method, start="auto")
    assert isinstance(out, LossOutput)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert model.training  # the loss forward ran in train mode and the mode stays
    out.loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{method}: no gradient reaches {name}"
    obj.after_step(model)
    for key in ("margin", "weight", "correct"):
        assert key in out.stats
    for key, value in out.stats.items():
        assert value.shape == (B,), key
        assert not value.requires_grad, key
    assert out.stats["correct"].dtype == torch.bool
    assert (out.stats["margin"].abs() <= 1).all()
    assert torch.equal(x, x_before)
    if method in ("clean", "at", "trades", "mart", "fat", "awp"):
        assert torch.equal(out.stats["weight"], torch.ones(B))


def test_stats_describe_the_training_forward(data):
    """margin/correct come from the train-mode logits on x′: recompute them from the same x′."""
    x, y, _ = data
    model = make_model(data)
    obj = Objective("at", None, settings(), epochs=10)
    out = obj.loss(model, x, y, epoch=0)
    reference = make_model(data)
    x_adv = attacks.pgd(reference, x, y, EPS, STEP, STEPS, generator=settings().generator)
    reference.train()
    logits = reference(x_adv)
    assert torch.allclose(out.stats["margin"], probabilistic_margin(logits, y), atol=1e-6)
    assert torch.equal(out.stats["correct"], logits.argmax(1) == y)
    assert torch.allclose(out.loss, F.cross_entropy(logits, y), atol=1e-6)


def test_trades_and_mart_match_their_papers_formulas(data):
    """TRADES: CE(x) + β·KLDiv(sum)/B; MART: the MART code's argsort BCE + β·Σ KL·(1 − p_y)/B."""
    x, y, _ = data
    for method, loss_name, start in (("trades", "kl", "normal"), ("mart", "ce", "normal")):
        out, _, obj = run(data, method, loss=loss_name, start=start)
        ref = make_model(data)
        gen = torch.Generator().manual_seed(0)
        x_adv = attacks.pgd(ref, x, y, EPS, STEP, STEPS, loss=loss_name, start=start, generator=gen)
        ref.train()
        nat, adv = ref(x), ref(x_adv)
        kl_sum = nn.KLDivLoss(reduction="sum")
        if method == "trades":
            expected = (
                F.cross_entropy(nat, y) + 6.0 * kl_sum(F.log_softmax(adv, 1), F.softmax(nat, 1)) / B
            )
        else:
            adv_probs = F.softmax(adv, 1)
            top2 = torch.argsort(adv_probs, 1)[:, -2:]
            new_y = torch.where(top2[:, -1] == y, top2[:, -2], top2[:, -1])
            bce = F.cross_entropy(adv, y) + F.nll_loss(torch.log(1.0001 - adv_probs), new_y)
            nat_probs = F.softmax(nat, 1)
            true_probs = nat_probs.gather(1, y[:, None]).squeeze(1)
            kl_rows = nn.KLDivLoss(reduction="none")(F.log_softmax(adv, 1), nat_probs).sum(1)
            expected = bce + 5.0 * (kl_rows * (1 - true_probs)).sum() / B
        assert torch.allclose(out.loss, expected, atol=1e-5), method


# --------------------------------------------------------------------------------------------
# MAIL
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mail", "base"), [("mail_at", "at"), ("mail_trades", "trades"), ("mail_mart", "mart")]
)
def test_mail_with_gamma_zero_is_its_base_method(data, mail, base):
    kwargs = {"start": "normal", "epoch": 5}
    assert_same(data, (mail, {"gamma": 0.0, "normalize": "batch"}, kwargs), (base, None, kwargs))


@pytest.mark.parametrize(
    ("mail", "base"), [("mail_at", "at"), ("mail_trades", "trades"), ("mail_mart", "mart")]
)
def test_burn_in_runs_the_base_method(data, mail, base):
    during = {"start": "auto", "epoch": 2, "burn_in": 3}
    assert default_start(mail) == default_start(base)
    assert_same(data, (mail, None, during), (base, None, during))
    out, _, _ = run(data, mail, start="auto", epoch=2, burn_in=3)
    assert torch.equal(out.stats["weight"], torch.ones(B))
    after, _, _ = run(data, mail, start="auto", epoch=3, burn_in=3)
    plain, _, _ = run(data, base, start="auto", epoch=3, burn_in=3)
    assert not torch.allclose(after.loss, plain.loss)


@pytest.mark.parametrize("method", ["mail_at", "mail_trades", "mail_mart"])
def test_mail_weights_enter_the_right_term(data, method):
    """AT: mean ω·CE(x′); TRADES: CE(x) + β·mean ω·KL; MART: mean ω·BCE + β·mean KL·(1 − p_y(x))."""
    x, y, _ = data
    loss_name = default_attack_loss(method)
    out, _, _ = run(data, method, loss=loss_name, start="normal")
    omega = out.stats["weight"]
    assert not torch.allclose(omega, torch.ones(B))
    ref = make_model(data)
    gen = torch.Generator().manual_seed(0)
    x_adv = attacks.pgd(ref, x, y, EPS, STEP, STEPS, loss=loss_name, start="normal", generator=gen)
    ref.train()
    nat, adv = ref(x), ref(x_adv)
    p_nat = F.softmax(nat, 1)
    kl = (p_nat * (F.log_softmax(nat, 1) - F.log_softmax(adv, 1))).sum(1)
    if method == "mail_at":
        expected = (omega * F.cross_entropy(adv, y, reduction="none")).mean()
    elif method == "mail_trades":
        expected = F.cross_entropy(nat, y) + 6.0 * (omega * kl).mean()
    else:
        p_adv = F.softmax(adv, 1)
        other = p_adv.scatter(1, y[:, None], 0.0).amax(1)
        bce = F.cross_entropy(adv, y, reduction="none") - torch.log(1.0001 - other)
        p_true = p_nat.gather(1, y[:, None]).squeeze(1)
        expected = (omega * bce).mean() + 5.0 * (kl * (1 - p_true)).mean()
    assert torch.allclose(out.loss, expected, atol=1e-5)


def _raw_sigmoid(out: LossOutput, params: dict) -> torch.Tensor:
    return torch.sigmoid(-params["gamma"] * (out.stats["margin"] - params["beta"]))


@pytest.mark.parametrize("method", ["mail_at", "mail_trades", "mail_mart"])
def test_mail_normalisations(data, method):
    params = default_params(method)
    batch, _, _ = run(data, method, {"normalize": "batch"})
    assert torch.allclose(batch.stats["weight"].sum(), torch.tensor(float(B)), atol=1e-4)
    w = _raw_sigmoid(batch, params)
    assert torch.allclose(batch.stats["weight"], B * w / w.sum(), atol=1e-5)
    const, _, _ = run(data, method, {"normalize": "constant"})
    assert torch.allclose(const.stats["weight"], 3.0 * _raw_sigmoid(const, params), atol=1e-6)
    none, _, _ = run(data, method, {"normalize": "none"})
    assert torch.allclose(none.stats["weight"], _raw_sigmoid(none, params), atol=1e-6)
    mean1, _, _ = run(data, method, {"normalize": "mean1"})
    assert torch.allclose(mean1.stats["weight"].mean(), torch.tensor(1.0), atol=1e-5)


def test_mail_weights_decrease_with_the_margin(data):
    out, _, _ = run(data, "mail_at")
    order = torch.argsort(out.stats["margin"])
    assert (out.stats["weight"][order].diff() <= 1e-6).all()


@pytest.mark.parametrize("weight_fn", ["hinge", "hinge_mirrored", "step"])
def test_mail_weight_function_switch(data, weight_fn):
    out, _, _ = run(data, "mail_trades", {"weight_fn": weight_fn, "normalize": "none"})
    pm = out.stats["margin"]
    expected = weights.pm_weights(weight_fn, pm, gamma=2.0, beta=0.0, alpha=0.2)
    assert torch.allclose(out.stats["weight"], expected, atol=1e-6)


def test_mail_logit_margin_switch(data):
    """margin='mm' weighs by f_y − max f_k; β may then leave [−1, 1]."""
    x, y, _ = data
    out, _, _ = run(
        data, "mail_at", {"margin": "mm", "beta": 2.0, "gamma": 1.0, "normalize": "none"}
    )
    reference = make_model(data)
    gen = torch.Generator().manual_seed(0)
    x_adv = attacks.pgd(reference, x, y, EPS, STEP, STEPS, generator=gen)
    reference.train()
    logits = reference(x_adv)
    top_other = logits.scatter(1, y[:, None], float("-inf")).amax(1)
    mm = logits.gather(1, y[:, None]).squeeze(1) - top_other
    assert torch.allclose(out.stats["weight"], torch.sigmoid(-(mm - 2.0)), atol=1e-5)


def test_hinge_all_zero_batch_gives_finite_loss(data):
    out, model, _ = run(data, "mail_at", {"weight_fn": "hinge", "beta": 1.0})
    assert torch.equal(out.stats["weight"], torch.zeros(B))
    assert torch.isfinite(out.loss) and out.loss.item() == 0.0
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("attack_loss", ["ce", "cw", "kl"])
def test_mail_attack_switch(data, attack_loss):
    out, _, obj = run(data, "mail_at", loss=attack_loss, start="normal")
    assert obj.attack.loss == attack_loss
    assert torch.isfinite(out.loss)


# --------------------------------------------------------------------------------------------
# GAIRAT, Zeng et al.
# --------------------------------------------------------------------------------------------


def test_gairat_kappa_and_mean_one_weights(data):
    x, y, _ = data
    out, _, obj = run(data, "gairat", epoch=4, burn_in=2)
    kappa = out.stats["kappa"]
    assert kappa.dtype == torch.int64 and (kappa >= 0).all() and (kappa <= STEPS).all()
    gen = torch.Generator().manual_seed(0)
    res = attacks.pgd(make_model(data), x, y, EPS, STEP, STEPS, generator=gen, return_result=True)
    assert torch.equal(kappa, res.kappa)
    expected = weights.normalize(weights.gairat_tanh(kappa, STEPS, -1.0), "mean1")
    assert torch.allclose(out.stats["weight"], expected, atol=1e-6)
    assert torch.allclose(out.stats["weight"].mean(), torch.tensor(1.0), atol=1e-5)
    before, _, _ = run(data, "gairat", epoch=1, burn_in=2)
    assert torch.equal(before.stats["weight"], torch.ones(B))


@pytest.mark.parametrize("weight_fn", ["sigmoid", "discrete"])
def test_gairat_weight_variants(data, weight_fn):
    out, _, _ = run(data, "gairat", {"weight_fn": weight_fn, "lam": 0.0})
    kappa = out.stats["kappa"]
    raw = (
        weights.gairat_sigmoid(kappa, STEPS, 0.0)
        if weight_fn == "sigmoid"
        else weights.gairat_discrete(kappa, STEPS)
    )
    assert torch.allclose(out.stats["weight"], weights.normalize(raw, "mean1"), atol=1e-6)


def test_weighted_at_alpha_zero_is_at(data):
    assert_same(data, ("weighted_at", {"alpha_train": 0.0}, {}), ("at", None, {}), tol=0.0)


def test_weighted_trades_alpha_zero_is_trades(data):
    kwargs = {"start": "normal"}
    assert_same(data, ("weighted_trades", {"alpha_train": 0.0}, kwargs), ("trades", None, kwargs))


def test_weighted_at_weight_is_not_detached(data):
    """loss = mean(s·CE) with s = exp(−α·PM(f(x′))) carrying gradient (Zeng's code)."""
    x, y, _ = data
    alpha = 1.5
    out, model, _ = run(data, "weighted_at", {"alpha_train": alpha})
    out.loss.backward()
    reference = make_model(data)
    gen = torch.Generator().manual_seed(0)
    x_adv = attacks.weighted_pgd(reference, x, y, EPS, STEP, STEPS, alpha, generator=gen)
    reference.train()
    logits = reference(x_adv)
    s = torch.exp(-alpha * probabilistic_margin(logits, y))
    ce = F.cross_entropy(logits, y, reduction="none")
    assert torch.allclose(out.stats["weight"], s.detach(), atol=1e-6)
    (s * ce).mean().backward(retain_graph=True)
    attached = grads(reference)
    reference.zero_grad()
    (s.detach() * ce).mean().backward()
    detached = grads(reference)
    for got, want in zip(grads(model), attached, strict=True):
        assert torch.allclose(got, want, atol=1e-6)
    assert any(not torch.allclose(a, b, atol=1e-6) for a, b in zip(attached, detached, strict=True))


def test_weighted_kl_attack_ascends_the_weighted_kl(data):
    """With α > 0 the weighted KL attack differs from KL-PGD and stays in the ε-ball."""
    x, y, _ = data
    a, _, _ = run(data, "weighted_trades", {"alpha_train": 2.0}, start="normal")
    b, _, _ = run(data, "trades", start="normal")
    assert not torch.allclose(a.stats["margin"], b.stats["margin"])


# --------------------------------------------------------------------------------------------
# AWP
# --------------------------------------------------------------------------------------------


class Wrapper(nn.Module):
    """Stands in for DistributedDataParallel: the network lives in ``.module``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


@pytest.mark.parametrize("wrapped", [False, True])
def test_awp_perturbs_relative_and_restores_exactly(data, wrapped):
    x, y, _ = data
    net = make_model(data)
    model = Wrapper(net) if wrapped else net
    original = {n: p.detach().clone() for n, p in net.named_parameters()}
    gamma = 0.05
    obj = Objective("awp", {"awp_gamma": gamma}, settings(), epochs=10)
    out = obj.loss(model, x, y, epoch=0)
    for name, p in net.named_parameters():
        assert p.grad is None  # the proxy, not the network, took the weight gradient
        delta = p.detach() - original[name]
        if p.dim() > 1:
            ratio = delta.norm() / original[name].norm()
            assert torch.allclose(ratio, torch.tensor(gamma), rtol=1e-3), name
        else:
            assert torch.equal(delta, torch.zeros_like(delta)), name
    out.loss.backward()
    obj.after_step(model)
    for name, p in net.named_parameters():
        assert torch.allclose(p.detach(), original[name], atol=1e-7, rtol=0), name
    obj.after_step(model)  # a second call is a no-op
    for name, p in net.named_parameters():
        assert torch.allclose(p.detach(), original[name], atol=1e-7, rtol=0), name


def test_awp_loss_is_ce_on_the_perturbed_weights(data):
    x, y, _ = data
    obj = Objective("awp", None, settings(), epochs=10)
    model = make_model(data)
    out = obj.loss(model, x, y, epoch=0)
    gen = torch.Generator().manual_seed(0)
    x_adv = attacks.pgd(make_model(data), x, y, EPS, STEP, STEPS, generator=gen)
    perturbed = copy.deepcopy(model).train()  # holds w + v right now
    assert torch.allclose(out.loss, F.cross_entropy(perturbed(x_adv), y), atol=1e-6)
    obj.after_step(model)


def test_awp_warmup_and_persistent_proxy(data):
    x, y, _ = data
    model = make_model(data)
    original = [p.detach().clone() for p in model.parameters()]
    obj = Objective("awp", {"awp_warmup": 2}, settings(), epochs=10)
    obj.loss(model, x, y, epoch=1)
    obj.after_step(model)
    assert obj._proxy is None  # no proxy before the warm-up ends
    state = copy.deepcopy(model.state_dict())
    obj.loss(model, x, y, epoch=2)
    proxy = obj._proxy
    assert proxy is not None
    obj.after_step(model)
    obj.loss(model, x, y, epoch=3)
    assert obj._proxy is proxy  # reused, not re-allocated
    obj.after_step(model)
    for p, q in zip(model.parameters(), original, strict=True):
        assert torch.allclose(p.detach(), q, atol=1e-6)
    other = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    obj.loss(other, x, y, epoch=3)
    assert obj._proxy is not proxy  # a different network gets its own proxy
    obj.after_step(other)
    assert state.keys() == model.state_dict().keys()


# --------------------------------------------------------------------------------------------
# FAT
# --------------------------------------------------------------------------------------------


def test_friendly_pgd_bounds_input_and_mode(data):
    x, y, _ = data
    model = make_model(data).train()
    x_before = x.clone()
    gen = torch.Generator().manual_seed(3)
    x_adv, taken = friendly_pgd(
        model, x, y, EPS, STEP, 10, 0, omega=0.001, generator=gen, return_steps=True
    )
    assert torch.equal(x, x_before)
    assert model.training and all(m.training for m in model.modules())
    assert ((x_adv - x).abs() <= EPS + 1e-6).all()
    assert (x_adv >= 0).all() and (x_adv <= 1).all()
    assert taken.dtype == torch.int64 and ((taken >= 0) & (taken <= 10)).all()


def test_friendly_pgd_large_tau_is_pgd(data):
    x, y, _ = data
    model = make_model(data)
    for loss, start in (("ce", "uniform"), ("kl", "normal"), ("cw", "uniform")):
        g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        fat = friendly_pgd(model, x, y, EPS, STEP, 6, 6, loss=loss, start=start, generator=g1)
        ref = attacks.pgd(model, x, y, EPS, STEP, 6, loss=loss, start=start, generator=g2)
        assert torch.equal(fat, ref), loss


def test_friendly_pgd_stops_at_misclassification(data):
    x, y, _ = data
    model = make_model(data).eval()
    steps = 10
    results = {}
    for tau in (0, 2):
        gen = torch.Generator().manual_seed(1)
        results[tau] = friendly_pgd(
            model, x, y, 0.3, 0.05, steps, tau, start="none", generator=gen, return_steps=True
        )
    x0, taken0 = results[0]
    _, taken2 = results[2]
    stopped = taken0 < steps
    assert stopped.any()
    with torch.no_grad():
        assert (model(x0[stopped]).argmax(1) != y[stopped]).all()
    assert (taken0 <= taken2).all() and (taken2 > taken0).any()
    # per-example eps/step tensors give the same result as floats
    gen = torch.Generator().manual_seed(1)
    x_t = friendly_pgd(
        model, x, y, torch.full((B,), 0.3), torch.full((B,), 0.05), steps, 0, start="none",
        generator=gen,
    )  # fmt: skip
    assert torch.equal(x_t, x0)


@pytest.mark.parametrize("tau", [0, 1, 2])
def test_friendly_pgd_follows_the_pgd_path_and_stops_at_wrong_check_tau_plus_one(data, tau):
    """Example i stops at the (τ+1)-th misclassified iterate among x^{(0)}..x^{(K−1)}."""
    x, y, _ = data
    model = make_model(data).eval()
    steps = 8
    rec = attacks.pgd(model, x, y, 0.3, 0.05, steps, start="none", record=True, return_result=True)
    wrong = (rec.path_pred[:steps] != y).to(torch.int64)  # [K, B]
    hit = wrong.cumsum(0) == tau + 1
    # the cumulative count first reaches τ+1 at a misclassified check: argmax finds that check
    expected_taken = torch.where(hit.any(0), hit.to(torch.int64).argmax(0), steps)
    assert (expected_taken < steps).any()
    x_adv, taken = friendly_pgd(model, x, y, 0.3, 0.05, steps, tau, start="none", return_steps=True)
    assert torch.equal(taken, expected_taken)
    assert torch.equal(x_adv, rec.path[taken, torch.arange(B)])


def test_fat_dynamic_tau_schedule():
    obj = Objective("fat", {"dynamic_tau": True}, settings(), epochs=120)
    assert [obj.fat_tau(e) for e in (0, 49, 50, 89, 90, 119)] == [0, 0, 1, 1, 2, 2]
    fixed = Objective("fat", {"tau": 3}, settings(), epochs=120)
    assert fixed.fat_tau(100) == 3


# --------------------------------------------------------------------------------------------
# Parameters, settings, config
# --------------------------------------------------------------------------------------------


def test_default_tables():
    assert default_params("mail_at") == {
        "beta": -0.5, "gamma": 10.0, "weight_fn": "sigmoid", "margin": "pm",
        "normalize": "batch", "step_alpha": 0.2,
    }  # fmt: skip
    assert default_params("mail_trades")["beta"] == 0.0
    assert default_params("mail_trades")["gamma"] == 2.0
    assert default_params("trades") == {"beta_trades": 6.0}
    assert default_params("mart") == {"beta_mart": 5.0}
    assert default_params("weighted_trades") == {"alpha_train": 2.0, "beta_trades": 6.0}
    assert default_params("gairat")["lam"] == -1.0
    assert default_params("awp") == {"awp_gamma": 5e-3, "awp_warmup": 0}
    d = default_params("trades")
    d["beta_trades"] = 1.0
    assert default_params("trades")["beta_trades"] == 6.0  # a copy
    assert [default_attack_loss(m) for m in ("trades", "mail_trades", "weighted_trades")] == [
        "kl"
    ] * 3
    assert default_attack_loss("mart") == "ce"
    assert set(REWEIGHTING_METHODS) == {
        "gairat", "mail_at", "mail_trades", "mail_mart", "weighted_at", "weighted_trades"
    }  # fmt: skip


def test_validate_params_merges_and_coerces():
    p = validate_params("mail_trades", {"gamma": 4, "beta_trades": 1})
    assert p["gamma"] == 4.0 and isinstance(p["gamma"], float)
    assert p["beta_trades"] == 1.0 and p["beta"] == 0.0
    assert validate_params("fat", {"tau": 2.0})["tau"] == 2
    assert validate_params("clean", {}, attack_loss="anything") == {}
    assert validate_params("mail_at", {"margin": "mm", "beta": 3.0})["beta"] == 3.0


@pytest.mark.parametrize(
    ("method", "params", "attack_loss", "match"),
    [
        ("madry", {}, None, r"unknown method 'madry'; valid: clean, at, trades"),
        ("trades", {"beta": 1.0}, None, r"unknown parameter\(s\) \['beta'\].*valid: beta_trades"),
        ("at", {"gamma": 1.0}, None, r"valid: none \(at takes no parameters\)"),
        ("trades", {"beta_trades": 0}, None, r"beta_trades must be > 0, got 0"),
        ("mart", {"beta_mart": -1.0}, None, r"beta_mart must be > 0"),
        ("mail_trades", {"beta_trades": -6}, None, r"beta_trades must be > 0"),
        ("mail_at", {"gamma": -1.0}, None, r"gamma must be finite and >= 0"),
        ("mail_at", {"beta": 1.5}, None, r"beta must be in \[-1, 1\] with margin='pm'"),
        ("mail_at", {"weight_fn": "relu"}, None, r"unknown weight_fn 'relu'; valid: sigmoid"),
        ("mail_at", {"margin": "lm"}, None, r"unknown margin 'lm'; valid: pm, mm"),
        ("mail_at", {"normalize": "sum"}, None, r"unknown normalize 'sum'; valid: batch"),
        ("mail_at", {"step_alpha": 1.5}, None, r"step_alpha must be in \[0, 1\]"),
        ("gairat", {"weight_fn": "sigmoid2"}, None, r"valid: tanh, sigmoid, discrete"),
        ("gairat", {"lam": float("nan")}, None, r"lam must be finite"),
        ("fat", {"tau": -1}, None, r"tau must be an integer >= 0"),
        ("fat", {"tau": 1.5}, None, r"tau must be an integer >= 0"),
        ("fat", {"tau": 1, "dynamic_tau": True}, None, r"either tau or dynamic_tau"),
        ("awp", {"awp_gamma": -0.1}, None, r"awp_gamma must be finite and >= 0"),
        ("weighted_at", {"alpha_train": -1.0}, None, r"alpha_train must be in \[0, 80\]"),
        ("weighted_at", {"alpha_train": True}, None, r"alpha_train must be"),
        ("weighted_at", {}, "kl", r"attack_loss 'kl' does not suit method 'weighted_at'"),
        ("weighted_trades", {}, "ce", r"valid: kl"),
        ("at", {}, "pgd", r"attack_loss 'pgd' does not suit"),
    ],
)
def test_validate_params_errors(method, params, attack_loss, match):
    with pytest.raises(ConfigError, match=match) as info:
        validate_params(method, params, attack_loss=attack_loss)
    assert "\n" not in str(info.value)


def test_attack_settings_and_objective_errors():
    with pytest.raises(ConfigError, match=r"eps must be in \(0, 1\]"):
        AttackSettings(eps=0.0, step_size=0.1, steps=3, loss="ce")
    with pytest.raises(ConfigError, match=r"steps must be an integer >= 1"):
        AttackSettings(eps=0.1, step_size=0.1, steps=0, loss="ce")
    with pytest.raises(ConfigError, match=r"unknown attack loss 'mse'"):
        AttackSettings(eps=0.1, step_size=0.1, steps=3, loss="mse")
    with pytest.raises(ConfigError, match=r"unknown start 'zero'"):
        AttackSettings(eps=0.1, step_size=0.1, steps=3, loss="ce", start="zero")
    with pytest.raises(ConfigError, match=r"start='none' never moves"):
        Objective("trades", None, settings("kl", "none"), epochs=5)
    with pytest.raises(ConfigError, match=r"burn_in must be an integer in \[0, epochs=5\]"):
        Objective("mail_at", None, settings(), epochs=5, burn_in=6)
    with pytest.raises(ConfigError, match=r"gairat needs steps >= 2"):
        Objective("gairat", None, settings(steps=1), epochs=5)
    obj = Objective("trades", None, settings("kl", "auto"), epochs=5)
    assert obj.attack.start == "normal"
    assert Objective("at", None, settings("ce", "auto"), epochs=5).attack.start == "uniform"


def test_state_dict_roundtrip_and_mismatch():
    obj = Objective("mail_at", None, settings(), epochs=5)
    obj.load_state_dict(obj.state_dict())
    with pytest.raises(ValueError, match=r"objective state is for method 'at'"):
        obj.load_state_dict({"method": "at"})


def test_build_objective_from_config():
    cfg = ExperimentConfig(method="mail_trades", params={"gamma": 3.0}, eps=0.25, steps=4)
    gen = torch.Generator().manual_seed(0)
    obj = build_objective(cfg, generator=gen)
    assert obj.method == "mail_trades" and obj.attack.loss == "kl"
    assert obj.params["gamma"] == 3.0 and obj.params["beta_trades"] == 6.0
    assert obj.attack.eps == 0.25 and obj.attack.steps == 4 and obj.attack.generator is gen
    assert build_objective(ExperimentConfig(method="mail_at", attack_loss="cw")).attack.loss == "cw"
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['tau'\]"):
        build_objective(ExperimentConfig(method="at", params={"tau": 1}))


@pytest.mark.parametrize("method", ["at", "trades", "weighted_at", "fat"])
def test_eps_warmup_ramps_the_training_budget(data, method):
    """ε_e = ε·(e + 1)/(W + 1) for e < W: the same loss as an objective built with that ε."""
    x, y, _ = data
    loss = default_attack_loss(method)
    obj = Objective(method, None, settings(loss, "auto"), epochs=10, eps_warmup=3)
    assert [obj.attack_at(e).eps for e in range(5)] == pytest.approx(
        [EPS / 4, EPS / 2, 3 * EPS / 4, EPS, EPS])
    assert obj.attack_at(1).step_size == pytest.approx(STEP / 2)
    assert obj.attack_at(3) is obj.attack and obj.attack_at(1).steps == STEPS
    small = AttackSettings(eps=EPS / 2, step_size=STEP / 2, steps=STEPS, loss=loss, start="auto",
                           generator=torch.Generator().manual_seed(0))  # fmt: skip

    def loss_at(epoch: int, attack: AttackSettings, warmup: int) -> torch.Tensor:
        fresh = Objective(method, None, attack, epochs=10, eps_warmup=warmup)  # fresh generator
        return fresh.loss(make_model(data), x, y, epoch=epoch).loss

    ramped = loss_at(1, settings(loss, "auto"), 3)
    assert torch.allclose(ramped, loss_at(1, small, 0), atol=1e-6, rtol=0)
    assert not torch.allclose(ramped, loss_at(1, settings(loss, "auto"), 0))
    assert torch.equal(loss_at(3, settings(loss, "auto"), 3), loss_at(3, settings(loss, "auto"), 0))
    with pytest.raises(ConfigError, match=r"eps_warmup must be an integer in \[0, epochs=10\)"):
        Objective(method, None, settings(loss, "auto"), epochs=10, eps_warmup=10)


@pytest.mark.parametrize("method", ["at", "trades", "fat"])
def test_cw_confidence_reaches_the_training_attack(data, method):
    """κ_c = 0 stops at the boundary; a large κ_c keeps pushing x′: a different (higher) loss."""
    x, y, _ = data

    def loss_with(confidence: float) -> torch.Tensor:
        attack = AttackSettings(eps=EPS, step_size=STEP, steps=STEPS, loss="cw", start="uniform",
                                generator=torch.Generator().manual_seed(0), confidence=confidence)
        params = {"tau": 3} if method == "fat" else None  # τ = 0 stops at the boundary anyway
        obj = Objective(method, params, attack, epochs=10)
        assert obj.attack_at(0).confidence == confidence
        return obj.loss(make_model(data), x, y, epoch=5).loss

    assert not torch.allclose(loss_with(0.0), loss_with(50.0))
    with pytest.raises(ConfigError, match="applies to the 'cw' attack loss only"):
        AttackSettings(eps=EPS, step_size=STEP, steps=STEPS, loss="ce", confidence=50.0)
    with pytest.raises(ConfigError, match="cw_confidence must be a finite number"):
        AttackSettings(eps=EPS, step_size=STEP, steps=STEPS, loss="cw", confidence=-1.0)
