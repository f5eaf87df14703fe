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

Layout: one module per method (:mod:`~mailviz.objectives.clean`, :mod:`~mailviz.objectives.at`,
:mod:`~mailviz.objectives.trades`, :mod:`~mailviz.objectives.mart`, :mod:`~mailviz.objectives.fat`,
:mod:`~mailviz.objectives.awp`, :mod:`~mailviz.objectives.gairat`,
:mod:`~mailviz.objectives.mail_at`, :mod:`~mailviz.objectives.mail_trades`,
:mod:`~mailviz.objectives.mail_mart`, :mod:`~mailviz.objectives.weighted_minimax`), MAIL's weights
in :mod:`~mailviz.objectives.mail_weights`, the name → method table in
:mod:`~mailviz.objectives.registry`, parameter defaults and checks in
:mod:`~mailviz.objectives.params`, and the method-agnostic :class:`Objective` in
:mod:`~mailviz.objectives.objective`. Every public name is importable from here.
"""

from __future__ import annotations

from mailviz.attacks.friendly import friendly_pgd
from mailviz.objectives._common import MART_BCE_CONSTANT
from mailviz.objectives.awp import AWP_PROXY_LR
from mailviz.objectives.gairat import GAIRAT_WEIGHT_FUNCTIONS
from mailviz.objectives.mail_weights import MAIL_MARGINS, MAIL_WEIGHT_FUNCTIONS
from mailviz.objectives.objective import Objective, build_objective
from mailviz.objectives.params import (
    default_attack_loss,
    default_params,
    default_start,
    validate_params,
)
from mailviz.objectives.registry import BASE_METHOD, METHODS, REWEIGHTING_METHODS, SPECS
from mailviz.objectives.settings import STARTS, AttackSettings, LossOutput
from mailviz.objectives.spec import MethodSpec

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
    "SPECS",
    "MethodSpec",
    "AWP_PROXY_LR",
    "MART_BCE_CONSTANT",
]
