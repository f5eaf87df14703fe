"""Adversarial attacks in an L∞ ball: FGSM, PGD (CE / CW / KL), LM-PGD, weighted PGD, AutoAttack.

Every attack searches ``x′ = x + δ`` with ``‖δ‖∞ ≤ ε`` and ``x′ ∈ [0, 1]`` that makes a loss
``ℓ(f(x′), y)`` large. The common building block is one signed-gradient step followed by the
projection onto the ε-ball and the clamp to the image box (MAIL appendix eq. 11)::

    x^{(t+1)} = clip_[0,1]( Π_{B∞(x, ε)}( x^{(t)} + α · sign(∇_{x^{(t)}} Σ_i ℓ_i(x^{(t)})) ) )

Conventions shared by all functions here:

* Batched. ``eps`` and ``step_size`` are floats or per-example tensors ``[B]`` (broadcast over
  the other dimensions); a float and a tensor filled with that float give identical results.
* The input ``x`` is never modified; the result satisfies ``‖x_adv − x‖∞ ≤ ε`` and
  ``x_adv ∈ [0, 1]`` (the projection and the clamp are applied after every step and to the
  random start).
* The model runs in eval mode during the attack (BatchNorm uses its running statistics, dropout
  is off, so every example is attacked independently of the rest of the batch); every module's
  ``training`` flag is restored afterwards, also when the attack raises.
* Gradients are taken with ``torch.autograd.grad`` with respect to the input only: parameter
  ``.grad`` fields are never touched, and the attacks work inside ``torch.no_grad()``.
* The loss is summed over the batch, so the gradient of example ``i`` does not depend on the
  batch size (the sign step is scale-free anyway; the sum matters for the reported loss).
* Bad content is one ``ValueError`` line, never a silently wrong ``x_adv``: ``x`` must be
  finite and in [0, 1], labels in ``[0, classes)`` and the model's logits finite. These checks
  cost one host sync per call, taken after the first forward (before the loss reads the labels),
  and are skipped inside :func:`mailviz.checks.skip_host_syncs` (trusted inputs only).
* Randomness (uniform / normal starts) comes from ``generator`` when given (it must live on
  ``x.device``), else from torch's global RNG.

Cost, in passes through the model for a batch: :func:`pgd` and :func:`weighted_pgd` take
``restarts × K`` forward+backward passes, plus one forward per restart for the final logits when
they are needed (``return_result=True`` with ``final_logits=True``, ``record=True`` or
``restarts > 1``); ``loss="kl"`` adds one clean forward. :func:`lm_pgd` takes ``K``
forward+backward passes and ``K`` forwards of ``n_candidates × B`` inputs (the line search).

One algorithm per module: :mod:`~mailviz.attacks.fast_gradient` (FGSM),
:mod:`~mailviz.attacks.projected_gradient` (PGD, eq. 11), :mod:`~mailviz.attacks.least_margin`
(LM-PGD, eq. 12-14), :mod:`~mailviz.attacks.importance_weighted` (weighted PGD, Zeng Alg. 1),
:mod:`~mailviz.attacks.friendly` (FAT's early-stopped PGD) and
:mod:`~mailviz.attacks.autoattack_wrapper` (AutoAttack); the shared checks, losses and start points
live in :mod:`~mailviz.attacks._common`, the signed ascent loop in :mod:`~mailviz.attacks._ascent`.
Every name is importable from here (``mailviz.attacks.pgd``, ``mailviz.attacks._start_point``).
"""

from __future__ import annotations

from mailviz.attacks._ascent import (  # noqa: F401
    _sign_ascent,
    _stronger,
)
from mailviz.attacks._common import (  # noqa: F401
    AA_FAST_ITERATIONS,
    AA_FAST_TARGET_CLASSES,
    AA_VERSIONS,
    ATTACKS,
    LM_STEP_MAX_FRACTION,
    LM_STEP_MIN_FRACTION,
    LOSSES,
    NORMAL_START_STD,
    STARTS,
    WEIGHTED_LOSSES,
    AttackResult,
    Objective,
    _check_bool,
    _check_choice,
    _check_common,
    _check_inputs,
    _check_int,
    _cross_entropy,
    _eps,
    _eval_mode,
    _Guard,
    _kl,
    _objective,
    _per_example,
    _positive,
    _start_point,
    _weighted_ce,
)
from mailviz.attacks.autoattack_wrapper import (  # noqa: F401
    AA_STAGES,
    AA_STAGES_FEW_CLASSES,
    _aa_inputs,
    _aa_session,
    _autoattack_quiet,
    _frozen_parameters,
    _guarded_classes,
    _single_eps,
    _standard_autoattack,
    autoattack,
)
from mailviz.attacks.fast_gradient import (  # noqa: F401
    fgsm,
)
from mailviz.attacks.friendly import (  # noqa: F401
    friendly_pgd,
)
from mailviz.attacks.importance_weighted import (  # noqa: F401
    weighted_pgd,
)
from mailviz.attacks.least_margin import (  # noqa: F401
    lm_pgd,
)
from mailviz.attacks.projected_gradient import (  # noqa: F401
    pgd,
)

__all__ = [
    "ATTACKS",
    "AA_VERSIONS",
    "AA_STAGES",
    "AA_STAGES_FEW_CLASSES",
    "LOSSES",
    "WEIGHTED_LOSSES",
    "STARTS",
    "AttackResult",
    "fgsm",
    "pgd",
    "lm_pgd",
    "weighted_pgd",
    "autoattack",
    "friendly_pgd",
]
