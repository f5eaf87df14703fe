"""Training objectives: the outer minimisation of every adversarial-training method in mailviz.

One :class:`Objective` per run. Each step it generates the training attack (the inner
maximisation, :mod:`mailviz.attacks`), runs the model in train mode on what the loss needs, and
returns the scalar loss with per-example diagnostics (:class:`LossOutput`)::

    objective = Objective("mail_at", {}, AttackSettings(eps=0.2, step_size=0.05, steps=10,
                                                        loss="ce"), epochs=20, burn_in=5)
    out = objective.loss(model, x, y, epoch=epoch)
    optimizer.zero_grad(); out.loss.backward(); optimizer.step()
    objective.after_step(model)            # AWP removes its weight perturbation; others no-op

Methods (``B`` = batch size, ``x′`` = adversarial example, ``p = softmax(f)``, ``ω`` = weight):

===================  ===============================================================================
``clean``            ``mean CE(f(x), y)`` — no attack (baseline).
``at``               Madry et al.: ``mean CE(f(x′), y)``, ``x′`` from PGD on CE.
``trades``           Zhang et al. 2019: ``mean CE(f(x), y) + β_t·(1/B)·Σ KL(p(x) ‖ p(x′))``,
                     ``x′`` from KL-PGD.
``mart``             Wang et al. 2020: ``mean BCE(x′, y) + β_m·(1/B)·Σ KL(p(x)‖p(x′))·(1 − p_y(x))``
                     with ``BCE = CE − log(1.0001 − max_{k≠y} p_k(x′))`` (MAIL eq. 16–17).
``fat``              Friendly AT (Zhang et al. 2020): ``mean CE(f(x′), y)`` with ``x′`` from the
                     early-stopped PGD :func:`friendly_pgd` (stop τ steps after misclassification).
``awp``              AT-AWP (Wu et al. 2020): ``mean CE(f_{w+v}(x′), y)`` with the adversarial
                     weight perturbation ``v_l = γ_awp·‖w_l‖·d_l/‖d_l‖``;
                     :meth:`Objective.after_step` subtracts ``v`` after the optimiser step.
``gairat``           Zhang et al. 2021: ``mean ω·CE(f(x′), y)``, ``ω`` = GAIRAT's tanh weight of κ
                     (least PGD steps) rescaled to mean one in the mini-batch.
``mail_at``          MAIL Alg. 2: ``mean ω·CE(f(x′), y)``.
``mail_trades``      MAIL Alg. 3: ``mean CE(f(x), y) + β_t·(1/B)·Σ ω_i·KL(p(x_i) ‖ p(x′_i))``.
``mail_mart``        MAIL Alg. 4: ``mean ω·BCE(x′, y) + β_m·(1/B)·Σ KL(p(x)‖p(x′))·(1 − p_y(x))``.
``weighted_at``      Zeng et al. "PGD+ours" (eq. 7): ``mean s·CE(f(x′), y)``,
                     ``s = exp(−α·PM(x′))`` not detached, not normalised; ``x′`` from weighted PGD
                     (Alg. 1).
``weighted_trades``  Zeng et al. "TRADES+ours": ``mean CE(f(x), y) + β_t·mean s·KL(p(x)‖p(x′))``
                     with ``x′`` from weighted PGD on ``s·KL``.
===================  ===============================================================================

MAIL weights (Alg. 2–4, lines 9–11): ``PM_i = p_y(x′_i) − max_{k≠y} p_k(x′_i)`` from the logits
of the *training* forward on ``x′`` (train mode, the forward that feeds the loss — no extra pass),
detached; ``w_i = sigmoid(−γ·(PM_i − β))``; ``ω_i = M·w_i/Σ_j w_j``. Every switch of the appendix
is a parameter: ``weight_fn`` (sigmoid / hinge / hinge_mirrored / step, Table 6), ``margin``
(pm / mm, Table 5), ``normalize`` (batch = paper, constant = authors' code ``3·w``, mean1, none)
and the training attack's loss through :class:`AttackSettings` ``loss`` (ce / cw / kl, Table 7).
With ``γ = 0`` and ``normalize="batch"`` every ``ω`` is exactly 1 and MAIL-X *is* X.

Burn-in: the reweighting methods (``gairat``, ``mail_*``, ``weighted_*``) run their base method
(``at``, ``trades``, ``mart``) while ``epoch < burn_in``. ``awp`` has its own ``awp_warmup``.

Start of the training attack: :class:`AttackSettings` ``start`` is used as given; ``"auto"``
picks each method's own: ``"normal"`` (``x + 0.001·N(0, I)``, the TRADES and MART code, Zeng's
Alg. 1) for trades, mart, mail_trades, mail_mart and weighted_trades; ``"uniform"`` (Madry; GAIRAT,
FAT, AWP code, Zeng's released PGD code, MAIL Alg. 2) for at, mail_at, fat, awp, gairat and
weighted_at. A MAIL variant always starts like its base method, so the two stay comparable (the
MAIL code itself starts every attack from ``"normal"``).

**Weights under DDP.** Batch normalisation of the weights (``normalize="batch"``, GAIRAT's mean
one) is *per local mini-batch*: with world size ``R`` and global batch ``M``, each rank computes
``ω_i = M_local·w_i / Σ_{j ∈ local} w_j`` over its own ``M_local = M/R`` examples, and DDP's
gradient averaging makes the global objective the mean of the per-rank normalised losses. That is
the authors' single-GPU code applied per shard; it equals the single-process result only when each
rank's batch is the batch a single process would normalise over (e.g. ``R = 1``). Unnormalised
weights (``constant``, ``none``, Zeng's ``s``) are unaffected. The attack and AWP's proxy run on
the unwrapped network (``attack_model``, DDP's ``.module``) so they trigger no gradient all-reduce.
AWP's ``v`` is per rank too (from the local batch); every rank subtracts its own ``v`` after the
same averaged optimiser step, so the ranks' weights stay identical.

Cost per step, in passes through the network for a batch with a ``K``-step attack: ``at``,
``mail_at``, ``gairat``, ``weighted_at``, ``fat``: ``K`` forward+backward (input gradient) + 1
training forward+backward. ``trades``/``mail_trades``/``weighted_trades`` (KL attack): + 1 clean
eval forward for ``p(x)`` (computed once, not every step) + 1 more training forward (natural).
``mart``/``mail_mart``: + 1 training forward (natural). ``awp``: + 1 proxy forward+backward.
MAIL's weights come from the logits the loss already computed, so MAIL-X costs what X costs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz import attacks, checks, weights
from mailviz.config import ConfigError
from mailviz.margins import mm_unchecked, pm_unchecked

if TYPE_CHECKING:
    from mailviz.config import ExperimentConfig

__all__ = [
    "METHODS",
    "BASE_METHOD",
    "REWEIGHTING_METHODS",
    "MAIL_WEIGHT_FUNCTIONS",
    "MAIL_MARGINS",
    "GAIRAT_WEIGHT_FUNCTIONS",
    "STARTS",
    "default_params",
    "default_attack_loss",
    "default_start",
    "validate_params",
    "AttackSettings",
    "LossOutput",
    "Objective",
    "build_objective",
    "friendly_pgd",
]

METHODS: tuple[str, ...] = (
    "clean", "at", "trades", "mart", "fat", "awp", "gairat", "mail_at",
    "mail_trades", "mail_mart", "weighted_at", "weighted_trades",
)  # fmt: skip

#: The method a reweighting method runs during burn-in (and equals when every weight is 1).
BASE_METHOD: dict[str, str] = {
    "gairat": "at",
    "mail_at": "at",
    "mail_trades": "trades",
    "mail_mart": "mart",
    "weighted_at": "at",
    "weighted_trades": "trades",
}
REWEIGHTING_METHODS: tuple[str, ...] = tuple(BASE_METHOD)

MAIL_WEIGHT_FUNCTIONS: tuple[str, ...] = tuple(weights.WEIGHT_FUNCTIONS)  # sigmoid, hinge, ...
MAIL_MARGINS: tuple[str, ...] = ("pm", "mm")
GAIRAT_WEIGHT_FUNCTIONS: tuple[str, ...] = ("tanh", "sigmoid", "discrete")
#: Accepted ``AttackSettings.start`` values: the attacks' starts plus ``"auto"`` (method's own).
STARTS: tuple[str, ...] = (*attacks.STARTS, "auto")

#: AWP's proxy learning rate (Wu et al.'s code). ``v`` is rescaled per layer, so it only enters
#: through the ``1e-20`` guard of ``‖d_l‖``.
AWP_PROXY_LR = 0.01
_AWP_EPS = 1e-20
#: MART's constant in ``log(1.0001 − max_{k≠y} p_k)`` (keeps the log finite when max → 1).
MART_BCE_CONSTANT = 1.0001
#: FAT's dynamic τ (code default for 120 epochs: τ = 0 up to epoch 50, 1 up to 90, then 2).
_FAT_DYNAMIC_TAU = ((50 / 120, 0), (90 / 120, 1), (1.0, 2))
#: ``exp(α·1)`` overflows float32 for α > 88.
_ALPHA_TRAIN_MAX = 80.0

_MAIL_COMMON: dict[str, Any] = {
    "weight_fn": "sigmoid",
    "margin": "pm",
    "normalize": "batch",
    "step_alpha": 0.2,
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "clean": {},
    "at": {},
    "trades": {"beta_trades": 6.0},
    "mart": {"beta_mart": 5.0},
    "fat": {"tau": 0, "dynamic_tau": False, "omega": 0.001},
    "awp": {"awp_gamma": 5e-3, "awp_warmup": 0},
    "gairat": {"lam": -1.0, "weight_fn": "tanh"},
    "mail_at": {"beta": -0.5, "gamma": 10.0, **_MAIL_COMMON},
    "mail_trades": {"beta": 0.0, "gamma": 2.0, "beta_trades": 6.0, **_MAIL_COMMON},
    "mail_mart": {"beta": -0.5, "gamma": 10.0, "beta_mart": 5.0, **_MAIL_COMMON},
    "weighted_at": {"alpha_train": 0.1},
    "weighted_trades": {"alpha_train": 2.0, "beta_trades": 6.0},
}
_ATTACK_LOSS_DEFAULT: dict[str, str] = {
    "clean": "ce", "at": "ce", "trades": "kl", "mart": "ce", "fat": "ce", "awp": "ce",
    "gairat": "ce", "mail_at": "ce", "mail_trades": "kl", "mail_mart": "ce",
    "weighted_at": "ce", "weighted_trades": "kl",
}  # fmt: skip
_ATTACK_LOSS_ALLOWED: dict[str, tuple[str, ...]] = {
    **{m: attacks.LOSSES for m in METHODS},
    "weighted_at": ("ce",),
    "weighted_trades": ("kl",),
}
_START_DEFAULT: dict[str, str] = {
    "clean": "uniform", "at": "uniform", "trades": "normal", "mart": "normal", "fat": "uniform",
    "awp": "uniform", "gairat": "uniform", "mail_at": "uniform", "mail_trades": "normal",
    "mail_mart": "normal", "weighted_at": "uniform", "weighted_trades": "normal",
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def _check_method(method: object) -> str:
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    return str(method)


def default_params(method: str) -> dict[str, Any]:
    """The hyper-parameters ``method`` uses when ``params`` does not set them (a fresh copy).

    ========================  ======================================================================
    ``trades``                ``beta_trades=6`` (TRADES, CIFAR; their MNIST recipe uses 1)
    ``mart``                  ``beta_mart=5`` (MART ResNet-18; 6 for WRN)
    ``fat``                   ``tau=0, dynamic_tau=False, omega=0.001`` (FAT code; its default run
                              uses ``dynamic_tau=True``: τ = 0, 1, 2 over the epochs)
    ``awp``                   ``awp_gamma=5e-3, awp_warmup=0`` (AT-AWP code)
    ``gairat``                ``lam=-1, weight_fn="tanh"`` (GAIRAT code, fixed λ after burn-in)
    ``mail_at``               ``beta=-0.5, gamma=10`` (MAIL README) + MAIL switches
    ``mail_trades``           ``beta=0, gamma=2, beta_trades=6`` (MAIL README; MAIL's own recipe
                              used TRADES β = 5) + switches
    ``mail_mart``             ``beta=-0.5, gamma=10, beta_mart=5`` (no published MAIL-MART values;
                              MAIL-AT's, since the CE-based term is the weighted one) + switches
    MAIL switches             ``weight_fn="sigmoid", margin="pm", normalize="batch",``
                              ``step_alpha=0.2``
    ``weighted_at``           ``alpha_train=0.1`` (Zeng Table 4's best PGD+ours; Table 2 lists 2.0)
    ``weighted_trades``       ``alpha_train=2, beta_trades=6`` (Zeng Tables 2/4)
    ========================  ======================================================================

    Example:
        >>> default_params("mail_trades")["gamma"]
        2.0
    """
    return dict(_DEFAULTS[_check_method(method)])


def default_attack_loss(method: str) -> str:
    """The training attack's default loss: ``"kl"`` for the TRADES family, else ``"ce"``.

    ``clean`` runs no attack; it reports ``"ce"``.

    Example:
        >>> default_attack_loss("trades"), default_attack_loss("mail_at")
        ('kl', 'ce')
    """
    return _ATTACK_LOSS_DEFAULT[_check_method(method)]


def default_start(method: str) -> str:
    """The training attack's start that ``start="auto"`` resolves to (see the module docstring).

    Example:
        >>> default_start("trades")
        'normal'
    """
    return _START_DEFAULT[_check_method(method)]


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(method: str, name: str, v: object, rule: str, ok: Callable[[float], bool]) -> float:
    if not _is_number(v) or not math.isfinite(float(v)) or not ok(float(v)):
        raise ConfigError(
            f"{method}: {name} must be {rule}, got {v!r} (default {_DEFAULTS[method][name]!r})"
        )
    return float(v)


def _integer(method: str, name: str, v: object, minimum: int) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ConfigError(
            f"{method}: {name} must be an integer >= {minimum}, got {v!r} "
            f"(default {_DEFAULTS[method][name]!r})"
        )
    return v


def _choice(method: str, name: str, v: object, choices: tuple[str, ...]) -> str:
    if v not in choices:
        raise ConfigError(f"{method}: unknown {name} {v!r}; valid: {', '.join(choices)}")
    return str(v)


def validate_params(
    method: str, params: Mapping[str, Any] | None = None, attack_loss: str | None = None
) -> dict[str, Any]:
    """``params`` merged over :func:`default_params`, checked; raises :class:`ConfigError` (1 line).

    Checks: unknown names (the message lists the valid ones for ``method``), ranges
    (``gamma ≥ 0``; ``beta_trades, beta_mart > 0``; MAIL's ``beta`` in [−1, 1] when
    ``margin="pm"`` since PM ∈ [−1, 1], finite for ``"mm"``; ``step_alpha`` in [0, 1];
    ``tau``/``awp_warmup`` integers ≥ 0; ``lam`` finite; ``0 ≤ alpha_train ≤ 80``;
    ``awp_gamma, omega ≥ 0``), names (``weight_fn``, ``margin``, ``normalize``), and whether the
    training attack's loss suits the method (``weighted_at`` needs ``"ce"``, ``weighted_trades``
    ``"kl"``; the others take ce, cw or kl; ``clean`` ignores it). ``attack_loss=None`` means the
    method's default.

    Args:
        method: one of :data:`METHODS`.
        params: method hyper-parameters (``None`` = all defaults).
        attack_loss: the training attack's loss, or ``None``.

    Returns:
        The full, validated parameter dict (numbers as float / int).

    Example:
        >>> validate_params("mail_at", {"gamma": 5})["gamma"]
        5.0
        >>> validate_params("trades", {"beta_trades": 0})
        Traceback (most recent call last):
        ...
        mailviz.config.ConfigError: trades: beta_trades must be > 0, got 0 (default 6.0)
    """
    method = _check_method(method)
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"params must be a dict of {method} parameters, got {type(params)}")
    defaults = _DEFAULTS[method]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        valid = ", ".join(defaults) if defaults else f"none ({method} takes no parameters)"
        raise ConfigError(f"unknown parameter(s) {unknown} for method {method!r}; valid: {valid}")
    if method != "clean" and attack_loss is not None:
        allowed = _ATTACK_LOSS_ALLOWED[method]
        if attack_loss not in allowed:
            raise ConfigError(
                f"attack_loss {attack_loss!r} does not suit method {method!r}; "
                f"valid: {', '.join(allowed)} (default {_ATTACK_LOSS_DEFAULT[method]!r})"
            )
    p = {**defaults, **params}
    out: dict[str, Any] = {}
    for name, v in p.items():
        if name in ("beta_trades", "beta_mart"):
            out[name] = _number(method, name, v, "> 0", lambda t: t > 0)
        elif name == "gamma":
            out[name] = _number(method, name, v, "finite and >= 0", lambda t: t >= 0)
        elif name == "beta":
            out[name] = _number(method, name, v, "finite", lambda t: True)
        elif name == "step_alpha":
            out[name] = _number(method, name, v, "in [0, 1]", lambda t: 0 <= t <= 1)
        elif name == "weight_fn":
            choices = GAIRAT_WEIGHT_FUNCTIONS if method == "gairat" else MAIL_WEIGHT_FUNCTIONS
            out[name] = _choice(method, name, v, choices)
        elif name == "margin":
            out[name] = _choice(method, name, v, MAIL_MARGINS)
        elif name == "normalize":
            out[name] = _choice(method, name, v, weights.NORMALIZE_MODES)
        elif name in ("tau", "awp_warmup"):
            out[name] = _integer(method, name, v, 0)
        elif name == "dynamic_tau":
            if not isinstance(v, bool):
                raise ConfigError(f"{method}: dynamic_tau must be true or false, got {v!r}")
            out[name] = v
        elif name in ("omega", "awp_gamma"):
            out[name] = _number(method, name, v, "finite and >= 0", lambda t: t >= 0)
        elif name == "lam":
            out[name] = _number(method, name, v, "finite", lambda t: True)
        elif name == "alpha_train":
            out[name] = _number(
                method, name, v, f"in [0, {_ALPHA_TRAIN_MAX:g}]", lambda t: 0 <= t <= 80
            )
        else:  # pragma: no cover - every default above has a rule
            raise AssertionError(f"no validation rule for {name}")
    if out.get("margin") == "pm" and not -1.0 <= out["beta"] <= 1.0:
        raise ConfigError(
            f"{method}: beta must be in [-1, 1] with margin='pm' (PM lies in [-1, 1]), "
            f"got {out['beta']:g}"
        )
    if method == "fat" and out["dynamic_tau"] and "tau" in params:
        raise ConfigError("fat: pass either tau or dynamic_tau=True (which sets tau to 0, 1, 2)")
    return out


# --------------------------------------------------------------------------------------------
# Settings and outputs
# --------------------------------------------------------------------------------------------


@dataclass
class AttackSettings:
    """The training attack (inner maximisation): L∞ budget, PGD step and loss.

    Attributes:
        eps: ε in pixel scale (0, 1] (float or per-example ``[B]`` tensor).
        step_size: α > 0 of each signed step (float or ``[B]``).
        steps: K ≥ 1.
        loss: ``"ce"``, ``"cw"`` or ``"kl"`` (:func:`default_attack_loss` gives each method's).
        start: ``"uniform"``, ``"normal"``, ``"none"`` or ``"auto"`` (the method's own,
            :func:`default_start`).
        generator: random source for starts and FAT's noise; must live on the data's device.
        confidence: κ_c ≥ 0 of the ``"cw"`` loss ``−max(MM, −κ_c)`` (:func:`mailviz.attacks.pgd`);
            0 stops ascending once ``x′`` is misclassified, MAIL's evaluation CW uses 50.
    """

    eps: float | Tensor
    step_size: float | Tensor
    steps: int
    loss: str
    start: str = "uniform"
    generator: torch.Generator | None = None
    confidence: float = 0.0

    def __post_init__(self) -> None:
        if _is_number(self.eps) and not 0 < self.eps <= 1:
            raise ConfigError(f"eps must be in (0, 1] (pixel scale), got {self.eps} — e.g. 8/255")
        if _is_number(self.step_size) and not 0 < self.step_size < math.inf:
            raise ConfigError(
                f"step_size must be > 0 and finite, got {self.step_size} — e.g. eps/4"
            )
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ConfigError(f"steps must be an integer >= 1, got {self.steps!r} — e.g. 10")
        if self.loss not in attacks.LOSSES:
            raise ConfigError(
                f"unknown attack loss {self.loss!r}; valid: {', '.join(attacks.LOSSES)}"
            )
        if self.start not in STARTS:
            raise ConfigError(f"unknown start {self.start!r}; valid: {', '.join(STARTS)}")
        if self.generator is not None and not isinstance(self.generator, torch.Generator):
            raise ConfigError(f"generator must be a torch.Generator, got {type(self.generator)}")
        c = self.confidence
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 <= c < math.inf:
            raise ConfigError(f"cw_confidence must be a finite number >= 0, got {c!r} — e.g. 50")
        if c and self.loss != "cw":
            raise ConfigError(
                f"cw_confidence applies to the 'cw' attack loss only, not {self.loss!r}; "
                "set attack_loss='cw' or cw_confidence=0"
            )


@dataclass
class LossOutput:
    """What one training step's objective returns.

    Attributes:
        loss: scalar with its graph, ready for ``backward()``.
        stats: per-example ``[B]`` detached tensors: ``"margin"`` (PM of the example the loss is
            computed on — ``x′``, or ``x`` for ``clean`` — from the training forward),
            ``"weight"`` (the ``ω`` actually used; ones when unweighted), ``"correct"`` (bool,
            that forward predicts ``y``), plus ``"kappa"`` (gairat) and ``"steps"`` (fat: PGD steps
            taken).
    """

    loss: Tensor
    stats: dict[str, Tensor] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Loss pieces (per example)
# --------------------------------------------------------------------------------------------


def _kl_rows(logits_nat: Tensor, logits_adv: Tensor) -> Tensor:
    """``KL(p(x) ‖ p(x′))`` per example; gradient flows into both (TRADES/MART code)."""
    log_nat = F.log_softmax(logits_nat.float(), dim=1)
    log_adv = F.log_softmax(logits_adv.float(), dim=1)
    return F.kl_div(log_adv, log_nat, reduction="none", log_target=True).sum(dim=1)


def _boosted_ce(logits_adv: Tensor, y: Tensor) -> Tensor:
    """MART's BCE (MAIL eq. 16): ``CE(f(x′), y) − log(1.0001 − max_{k≠y} p_k(x′))`` per example."""
    probs = F.softmax(logits_adv.float(), dim=1)
    best_other = probs.scatter(1, y.view(-1, 1), 0.0).amax(dim=1)
    ce = F.cross_entropy(logits_adv.float(), y, reduction="none")
    return ce - torch.log(MART_BCE_CONSTANT - best_other)


def _true_prob(logits: Tensor, y: Tensor) -> Tensor:
    return F.softmax(logits.float(), dim=1).gather(1, y.view(-1, 1)).squeeze(1)


def _stats(logits: Tensor, y: Tensor, weight: Tensor | None, **extra: Tensor) -> dict[str, Tensor]:
    logits = logits.detach()
    stats = {
        "margin": pm_unchecked(logits, y),
        "weight": (
            torch.ones(y.shape[0], device=logits.device) if weight is None else weight.detach()
        ),
        "correct": logits.argmax(dim=1) == y,
    }
    stats.update({k: v.detach() for k, v in extra.items()})
    return stats


def _unwrap(model: nn.Module) -> nn.Module:
    """DDP / DataParallel keep the network in ``.module``."""
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, nn.Module) else model


# --------------------------------------------------------------------------------------------
# Attacks that attacks.py does not provide
# --------------------------------------------------------------------------------------------


def friendly_pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    step_size: float | Tensor,
    steps: int,
    tau: int,
    *,
    loss: str = "ce",
    confidence: float = 0.0,
    start: str = "uniform",
    omega: float = 0.0,
    generator: torch.Generator | None = None,
    return_steps: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Early-stopped PGD of Friendly Adversarial Training (Zhang et al., 2020, Alg. 1).

    PGD (MAIL appendix eq. 11) where each example stops on its own: before each of the ``K``
    steps, iterate ``x^{(t)}`` is classified; if it is misclassified and its budget ``τ_i`` is
    spent, the example is frozen at ``x^{(t)}``; if it is misclassified with budget left, the
    budget drops by one and the example steps on; if it is correct it steps on::

        x^{(t+1)} = clip_[0,1](Π_{B∞(x,ε)}(x^{(t)} + α·sign(∇ℓ(x^{(t)})) + ω·ξ)),  ξ ~ N(0, I)

    for every still-active example. ``τ = 0`` returns the first misclassified iterate, which is
    the "friendly" adversarial example; ``τ ≥ K`` never stops early and, with ``ω = 0``, equals
    :func:`mailviz.attacks.pgd` from the same start. The final iterate is not checked (as in the
    FAT code). Batched: a per-example active mask replaces the code's re-indexing, so every step
    runs one forward+backward of the whole batch and no host sync happens.

    Args:
        model: classifier on inputs in [0, 1]; run in eval mode, its flags restored afterwards.
        x: ``[B, ...]`` clean inputs in [0, 1] (not modified).
        y: ``[B]`` labels.
        eps: ε in (0, 1], float or ``[B]``.
        step_size: α > 0, float or ``[B]``.
        steps: K ≥ 1 (maximum number of steps).
        tau: τ ≥ 0, how many extra steps an example takes after it is first misclassified.
        loss: attack loss ``"ce"`` (FAT), ``"kl"`` (FAT for TRADES) or ``"cw"``.
        confidence: κ_c ≥ 0 of the ``"cw"`` loss (as in :func:`mailviz.attacks.pgd`).
        start: ``"uniform"`` (FAT code), ``"normal"`` or ``"none"``.
        omega: std of the Gaussian noise added to every step (FAT code: 0.001).
        generator: random source for the start and the noise, on ``x.device``.
        return_steps: also return how many steps each example took.

    Returns:
        ``x_adv`` ``[B, ...]``, or ``(x_adv, steps_taken [B] int64)``.

    Shape:
        ``x``: ``[B, ...]`` → ``[B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> x_adv, taken = friendly_pgd(model, x, y, 0.1, 0.025, 10, tau=0, return_steps=True)
        >>> bool(((x_adv - x).abs() <= 0.1 + 1e-6).all()), taken.shape
        (True, torch.Size([8]))
    """
    y = attacks._check_inputs(model, x, y)
    guard = attacks._Guard(x, y)
    eps_b = attacks._eps(eps, x)
    step_b = attacks._positive(step_size, "step_size", x, "e.g. step_size=eps/4")
    attacks._check_int(steps, "steps", 1, "FAT uses steps=10")
    attacks._check_int(tau, "tau", 0, "FAT uses tau in {0, 1, 2, 3}")
    attacks._check_choice(loss, "loss", attacks.LOSSES)
    attacks._check_common(x, start, 1, False, False, generator, None)
    if not _is_number(omega) or not 0 <= omega < math.inf:
        raise ValueError(f"omega must be a float >= 0, got {omega!r} — the FAT code uses 0.001")
    if loss == "kl" and start == "none":
        raise ValueError("the KL loss has zero gradient at x′ = x; use start='normal' (TRADES)")
    x = x.detach()
    low = (x - eps_b).clamp(min=0.0)
    high = (x + eps_b).clamp(max=1.0)
    batch = x.shape[0]
    view = (batch, *([1] * (x.dim() - 1)))
    with attacks._eval_mode(model):
        objective, ref = attacks._objective(loss, float(confidence), model, x)
        x_adv = attacks._start_point(x, eps_b, low, high, start, None, generator)
        active = torch.ones(batch, dtype=torch.bool, device=x.device)
        budget = torch.full((batch,), tau, dtype=torch.int64, device=x.device)
        taken = torch.zeros(batch, dtype=torch.int64, device=x.device)
        for _ in range(steps):
            with torch.enable_grad():
                x_adv.requires_grad_(True)
                logits = model(x_adv)
                guard.logits(logits)
                (grad,) = torch.autograd.grad(objective(logits, y, ref).sum(), x_adv)
            x_adv = x_adv.detach()
            wrong = logits.detach().argmax(dim=1) != y
            active = active & ~(wrong & (budget == 0))
            budget = budget - (active & wrong).to(torch.int64)
            moved = torch.addcmul(x_adv, step_b, grad.sign())
            if omega > 0:
                noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                moved = moved + omega * noise
            x_adv = torch.where(active.view(view), moved.clamp(low, high), x_adv)
            taken = taken + active.to(torch.int64)
    return (x_adv, taken) if return_steps else x_adv


# --------------------------------------------------------------------------------------------
# The objective
# --------------------------------------------------------------------------------------------


class Objective:
    """A training method's loss for one run: attack + outer loss + per-example diagnostics.

    Args:
        method: one of :data:`METHODS`.
        params: method hyper-parameters (merged over :func:`default_params` and validated).
        attack: the training attack; its ``loss`` must suit the method (:func:`validate_params`).
        epochs: total epochs of the run (FAT's dynamic τ reads it).
        burn_in: epochs (0-based ``epoch < burn_in``) in which a reweighting method runs its
            :data:`BASE_METHOD`.
        eps_warmup: epochs ``W`` over which the training budget ramps up linearly: at 0-based
            ``epoch < W`` the attack uses ``ε_e = ε·(epoch + 1)/(W + 1)`` and a step size scaled
            by the same factor; from epoch ``W`` on the full ε (:meth:`attack_at`).

    Raises:
        ConfigError: bad method, parameter, attack settings, epochs or burn-in (one line).

    Example:
        >>> obj = Objective("mail_at", {"gamma": 10.0},
        ...                 AttackSettings(eps=0.2, step_size=0.05, steps=3, loss="ce"),
        ...                 epochs=10, burn_in=2)
        >>> obj.params["beta"], obj.attack.start
        (-0.5, 'uniform')
    """

    def __init__(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        attack: AttackSettings,
        *,
        epochs: int,
        burn_in: int = 0,
        eps_warmup: int = 0,
    ) -> None:
        self.method = _check_method(method)
        if not isinstance(attack, AttackSettings):
            raise ConfigError(f"attack must be an AttackSettings, got {type(attack).__name__}")
        self.params = validate_params(method, params, attack_loss=attack.loss)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"epochs must be an integer >= 1, got {epochs!r}")
        if isinstance(burn_in, bool) or not isinstance(burn_in, int) or not 0 <= burn_in <= epochs:
            raise ConfigError(
                f"burn_in must be an integer in [0, epochs={epochs}], got {burn_in!r}"
            )
        if (isinstance(eps_warmup, bool) or not isinstance(eps_warmup, int)
                or not 0 <= eps_warmup < epochs):  # fmt: skip
            raise ConfigError(
                f"eps_warmup must be an integer in [0, epochs={epochs}), got {eps_warmup!r}"
            )
        start = default_start(method) if attack.start == "auto" else attack.start
        self.attack = AttackSettings(
            attack.eps, attack.step_size, attack.steps, attack.loss, start, attack.generator,
            attack.confidence,
        )
        if method != "clean" and attack.loss == "kl" and start == "none":
            raise ConfigError(
                f"{method}: the KL attack has zero gradient at x′ = x, so start='none' never "
                "moves; use start='normal' (TRADES)"
            )
        if method == "gairat" and attack.steps < 2:
            raise ConfigError(f"gairat needs steps >= 2 (κ's K′ = ⌊K/2⌋ ≥ 1), got {attack.steps}")
        self.epochs = epochs
        self.burn_in = burn_in
        self.eps_warmup = eps_warmup
        self._now = self.attack  # the attack of the epoch being trained (set by loss())
        self._proxy: nn.Module | None = None
        self._proxy_key: tuple[Any, ...] | None = None
        self._pending: list[tuple[Tensor, Tensor]] | None = None

    def __repr__(self) -> str:
        return (
            f"Objective({self.method!r}, {self.params}, {self.attack!r}, epochs={self.epochs}, "
            f"burn_in={self.burn_in}, eps_warmup={self.eps_warmup})"
        )

    # -- schedule --------------------------------------------------------------------------
    def attack_at(self, epoch: int) -> AttackSettings:
        """The training attack at 0-based ``epoch``, with the ε warm-up applied.

        ``ε_e = ε·min(1, (epoch + 1)/(W + 1))`` with ``W = eps_warmup`` (and the step size scaled
        alike, so PGD keeps its ε/step ratio); the configured attack itself once ``epoch ≥ W``.
        """
        if epoch >= self.eps_warmup:
            return self.attack
        f = (epoch + 1) / (self.eps_warmup + 1)
        a = self.attack
        return AttackSettings(a.eps * f, a.step_size * f, a.steps, a.loss, a.start, a.generator,
                              a.confidence)  # fmt: skip

    def reweighting_active(self, epoch: int) -> bool:
        """Whether a reweighting method uses its weights at ``epoch`` (False during burn-in)."""
        return self.method in REWEIGHTING_METHODS and epoch >= self.burn_in

    def fat_tau(self, epoch: int) -> int:
        """FAT's τ at 0-based ``epoch``: ``tau``, or the code's 0/1/2 schedule when dynamic.

        The FAT code (120 epochs) uses τ = 0 while ``epoch + 1 ≤ 50``, 1 while ``≤ 90``, then 2;
        mailviz scales those boundaries to ``epochs``.
        """
        if not self.params.get("dynamic_tau", False):
            return int(self.params.get("tau", 0))
        for fraction, tau in _FAT_DYNAMIC_TAU:
            if epoch + 1 <= fraction * self.epochs:
                return tau
        return _FAT_DYNAMIC_TAU[-1][1]

    # -- public API ------------------------------------------------------------------------
    def loss(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        *,
        epoch: int,
        attack_model: nn.Module | None = None,
    ) -> LossOutput:
        """The training loss of one mini-batch at 0-based ``epoch``; leaves ``model`` in train mode.

        Args:
            model: the network being trained (may be DDP-wrapped); run in train mode.
            x: ``[B, ...]`` inputs in [0, 1].
            y: ``[B]`` labels.
            epoch: 0-based epoch (burn-in, ε warm-up, AWP warm-up and FAT's dynamic τ read it).
            attack_model: the network the attack (and AWP's proxy) differentiates — the
                un-wrapped ``model.module`` under DDP; default: ``model`` un-wrapped.

        Returns:
            :class:`LossOutput` with the scalar loss and ``[B]`` stats.

        Shape:
            ``x``: ``[B, ...]``, ``y``: ``[B]`` → loss ``[]``, every stat ``[B]``.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a 0-based integer >= 0, got {epoch!r}")
        y = attacks._check_inputs(model, x, y)  # types and shapes; the attack checks content
        net = attack_model if attack_model is not None else _unwrap(model)
        if self._pending is not None:  # a previous perturbation was never removed
            self.after_step(net)
        self._now = self.attack_at(epoch)
        method = self.method
        if method in REWEIGHTING_METHODS and epoch < self.burn_in:
            method = BASE_METHOD[method]
        return getattr(self, f"_loss_{method}")(model, net, x, y, epoch)

    def after_step(self, model: nn.Module) -> None:
        """Call after ``optimizer.step()``: AWP subtracts its perturbation ``v``; others no-op.

        ``model`` is accepted for symmetry with :meth:`loss` (the perturbed tensors are
        remembered), so a DDP wrapper or its ``.module`` both work.
        """
        if self._pending is None:
            return
        with torch.no_grad():
            for param, v in self._pending:
                param.sub_(v)
        self._pending = None

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs: nothing but the method (AWP's ``v`` lives for one step)."""
        return {"method": self.method}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Check a saved objective state belongs to this method."""
        saved = state.get("method", self.method)
        if saved != self.method:
            raise ValueError(
                f"objective state is for method {saved!r}, not {self.method!r} — "
                "resume with the config that produced the checkpoint"
            )

    # -- attacks ---------------------------------------------------------------------------
    def _pgd(self, net: nn.Module, x: Tensor, y: Tensor) -> attacks.AttackResult:
        a = self._now
        result = attacks.pgd(
            net, x, y, a.eps, a.step_size, a.steps, loss=a.loss, confidence=a.confidence,
            start=a.start, generator=a.generator, return_result=True, final_logits=False,
        )  # fmt: skip
        assert isinstance(result, attacks.AttackResult)
        return result

    # -- methods ---------------------------------------------------------------------------
    def _loss_clean(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
    ) -> LossOutput:
        guard = attacks._Guard(x, y)  # no attack here to check x, y and the logits
        model.train()
        logits = model(x)
        guard.logits(logits)
        loss = F.cross_entropy(logits, y)
        return LossOutput(loss, _stats(logits, y, None))

    def _ce_on(self, model: nn.Module, x_adv: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        model.train()
        logits = model(x_adv)
        return logits, F.cross_entropy(logits, y, reduction="none")

    def _loss_at(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
    ) -> LossOutput:
        x_adv = self._pgd(net, x, y).x_adv
        logits, ce = self._ce_on(model, x_adv, y)
        return LossOutput(ce.mean(), _stats(logits, y, None))

    def _mail_weights(self, logits_adv: Tensor, y: Tensor) -> Tensor:
        """MAIL Alg. 2–4 lines 9–11: ``ω = normalize(w(margin(x′)))``, margin detached."""
        p = self.params
        logits_adv = logits_adv.detach()
        if p["margin"] == "pm":
            margin = pm_unchecked(logits_adv, y)
        else:
            margin = mm_unchecked(logits_adv, y)
        # the margin comes from the training forward: a NaN there makes the loss NaN, which the
        # training loop reports, so no extra host sync for the weight function's input check
        with checks.skip_host_syncs():
            w = weights.pm_weights(
                p["weight_fn"], margin, gamma=p["gamma"], beta=p["beta"], alpha=p["step_alpha"]
            )
        return weights.normalize(w, p["normalize"])

    def _loss_mail_at(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
    ) -> LossOutput:
        x_adv = self._pgd(net, x, y).x_adv
        logits, ce = self._ce_on(model, x_adv, y)
        omega = self._mail_weights(logits, y)
        return LossOutput((omega * ce).mean(), _stats(logits, y, omega))

    def _trades_forward(
        self, model: nn.Module, x: Tensor, x_adv: Tensor, y: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Natural CE ``[B]``, ``KL(p(x)‖p(x′))`` ``[B]`` and the adversarial logits (train)."""
        model.train()
        logits_nat = model(x)
        logits_adv = model(x_adv)
        ce_nat = F.cross_entropy(logits_nat, y, reduction="none")
        return ce_nat, _kl_rows(logits_nat, logits_adv), logits_adv

    def _loss_trades(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
    ) -> LossOutput:
        x_adv = self._pgd(net, x, y).x_adv
        ce_nat, kl, logits_adv = self._trades_forward(model, x, x_adv, y)
        loss = ce_nat.mean() + self.params["beta_trades"] * kl.mean()
        return LossOutput(loss, _stats(logits_adv, y, None))

    def _loss_mail_trades(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch
    ) -> LossOutput:
        x_adv = self._pgd(net, x, y).x_adv
        ce_nat, kl, logits_adv = self._trades_forward(model, x, x_adv, y)
        omega = self._mail_weights(logits_adv, y)
        loss = ce_nat.mean() + self.params["beta_trades"] * (omega * kl).mean()
        return LossOutput(loss, _stats(logits_adv, y, omega))

    def _mart_forward(
        self, model: nn.Module, x: Tensor, x_adv: Tensor, y: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """BCE ``[B]`` (eq. 16), MKL ``[B]`` (eq. 17, KL(p(x)‖p(x′))) and the adversarial logits."""
        model.train()
        logits_nat = model(x)
        logits_adv = model(x_adv)
        bce = _boosted_ce(logits_adv, y)
        mkl = _kl_rows(logits_nat, logits_adv) * (1.0 - _true_prob(logits_nat, y))
        return bce, mkl, logits_adv

    def _loss_mart(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
    ) -> LossOutput:
        x_adv = self._pgd(net, x, y).x_adv
        bce, mkl, logits_adv = self._mart_forward(model, x, x_adv, y)
        loss = bce.mean() + self.params["beta_mart"] * mkl.mean()
        return LossOutput(loss, _stats(logits_adv, y, None))

    def _loss_mail_mart(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
    ) -> LossOutput:
        x_adv = self._pgd(net, x, y).x_adv
        bce, mkl, logits_adv = self._mart_forward(model, x, x_adv, y)
        omega = self._mail_weights(logits_adv, y)
        loss = (omega * bce).mean() + self.params["beta_mart"] * mkl.mean()
        return LossOutput(loss, _stats(logits_adv, y, omega))

    def _loss_fat(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
    ) -> LossOutput:
        a = self._now
        x_adv, taken = friendly_pgd(
            net, x, y, a.eps, a.step_size, a.steps, self.fat_tau(epoch), loss=a.loss,
            confidence=a.confidence, start=a.start, omega=self.params["omega"],
            generator=a.generator, return_steps=True,
        )  # fmt: skip
        logits, ce = self._ce_on(model, x_adv, y)
        return LossOutput(ce.mean(), _stats(logits, y, None, steps=taken))

    def _loss_gairat(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
    ) -> LossOutput:
        result = self._pgd(net, x, y)
        assert result.kappa is not None
        kappa, steps, lam = result.kappa, self.attack.steps, self.params["lam"]
        name = self.params["weight_fn"]
        if name == "tanh":
            w = weights.gairat_tanh(kappa, steps, lam)
        elif name == "sigmoid":
            w = weights.gairat_sigmoid(kappa, steps, lam)
        else:
            w = weights.gairat_discrete(kappa, steps)
        omega = weights.normalize(w, "mean1")
        logits, ce = self._ce_on(model, result.x_adv, y)
        return LossOutput((omega * ce).mean(), _stats(logits, y, omega, kappa=kappa))

    def _loss_weighted_at(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch
    ) -> LossOutput:
        a, alpha = self._now, self.params["alpha_train"]
        x_adv = attacks.weighted_pgd(
            net, x, y, a.eps, a.step_size, a.steps, alpha, start=a.start, generator=a.generator
        )
        assert isinstance(x_adv, Tensor)
        logits, ce = self._ce_on(model, x_adv, y)
        with checks.skip_host_syncs():  # as in _mail_weights: a NaN shows in the loss
            s = weights.exp_kernel(pm_unchecked(logits, y), alpha)  # not detached (Zeng)
        return LossOutput((s * ce).mean(), _stats(logits, y, s))

    def _loss_weighted_trades(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch
    ) -> LossOutput:
        a, alpha = self._now, self.params["alpha_train"]
        # Zeng Alg. 1 with the TRADES loss: ascend Σ_i exp(−α·PM_i(x′))·KL(p(x_i) ‖ p(x′_i))
        x_adv = attacks.weighted_pgd(
            net, x, y, a.eps, a.step_size, a.steps, alpha, loss="kl", start=a.start,
            generator=a.generator, final_logits=False,
        )
        ce_nat, kl, logits_adv = self._trades_forward(model, x, x_adv, y)
        with checks.skip_host_syncs():
            s = weights.exp_kernel(pm_unchecked(logits_adv, y), alpha)  # not detached
        loss = ce_nat.mean() + self.params["beta_trades"] * (s * kl).mean()
        return LossOutput(loss, _stats(logits_adv, y, s))

    # -- AWP -------------------------------------------------------------------------------
    def _proxy_for(self, net: nn.Module) -> nn.Module:
        """A persistent copy of ``net`` (created lazily, rebuilt when its structure changes)."""
        key = (id(net),) + tuple(
            (name, tuple(t.shape), t.dtype, t.device) for name, t in net.state_dict().items()
        )
        if self._proxy is None or self._proxy_key != key:
            self._proxy = copy.deepcopy(net)
            self._proxy_key = key
        return self._proxy

    def _awp_perturbation(
        self, net: nn.Module, x_adv: Tensor, y: Tensor
    ) -> list[tuple[Tensor, Tensor]]:
        """Wu et al.'s ``v_l = γ·‖w_l‖/(‖d_l‖ + 1e-20)·d_l`` for every weight tensor with dim > 1.

        ``d`` is one SGD step of the proxy (lr 0.01) that *maximises* ``CE(proxy(x′), y)`` in train
        mode: ``d_l = 0.01·∇_{w_l} CE``. Computed on the proxy so the network's BatchNorm
        statistics and ``.grad`` fields are untouched.
        """
        proxy = self._proxy_for(net)
        proxy.load_state_dict(net.state_dict())
        proxy.train()
        names = [
            n
            for n, p in net.named_parameters()
            if p.requires_grad and p.dim() > 1 and "weight" in n
        ]
        proxy_params = dict(proxy.named_parameters())
        net_params = dict(net.named_parameters())
        targets = [proxy_params[n] for n in names]
        with torch.enable_grad():
            for t in targets:
                t.requires_grad_(True)
            loss = F.cross_entropy(proxy(x_adv), y)
            grads = torch.autograd.grad(loss, targets, allow_unused=True)
        gamma = self.params["awp_gamma"]
        pairs = []
        with torch.no_grad():
            for name, grad in zip(names, grads, strict=True):
                if grad is None:
                    continue
                w = net_params[name]
                d = AWP_PROXY_LR * grad
                v = (gamma * w.norm() / (d.norm() + _AWP_EPS)) * d
                pairs.append((w, v.to(w.dtype)))
        return pairs

    def _loss_awp(
        self, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
    ) -> LossOutput:
        x_adv = self._pgd(net, x, y).x_adv
        if epoch >= self.params["awp_warmup"] and self.params["awp_gamma"] > 0:
            pairs = self._awp_perturbation(net, x_adv, y)
            with torch.no_grad():
                for param, v in pairs:
                    param.add_(v)
            self._pending = pairs
        logits, ce = self._ce_on(model, x_adv, y)
        return LossOutput(ce.mean(), _stats(logits, y, None))


def build_objective(cfg: ExperimentConfig, generator: torch.Generator | None = None) -> Objective:
    """The :class:`Objective` an :class:`~mailviz.config.ExperimentConfig` describes.

    ``cfg.attack_loss=None`` means :func:`default_attack_loss`; ``generator`` (on the training
    device) drives the attack's random starts.

    Example:
        >>> from mailviz.config import ExperimentConfig
        >>> build_objective(ExperimentConfig(method="trades")).attack.loss
        'kl'
    """
    method = _check_method(cfg.method)
    loss = cfg.attack_loss if cfg.attack_loss is not None else default_attack_loss(method)
    attack = AttackSettings(
        eps=cfg.eps, step_size=cfg.step_size, steps=int(cfg.steps), loss=loss, start=cfg.start,
        generator=generator, confidence=float(cfg.cw_confidence),
    )  # fmt: skip
    return Objective(method, cfg.params, attack, epochs=int(cfg.epochs), burn_in=int(cfg.burn_in),
                     eps_warmup=int(cfg.eps_warmup))
