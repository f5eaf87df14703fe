"""Evaluation: accuracy under attack, non-uniform accuracies, DRO χ², weight distributions → pandas.

Everything here attacks a whole test set (or its first ``n`` examples) in mini-batches through one
internal routine, collects the logits of the final inputs, and turns them into tidy
``pandas.DataFrame`` rows that the notebooks plot (:mod:`mailviz.plots`) and cache
(:func:`save_results`, :func:`cached_eval`).

* :func:`evaluate` — NAT / PGD-k / CW-k / AutoAttack accuracy (%), the columns of MAIL's tables.
* :func:`nonuniform_accuracy` — Zeng et al.'s weighted accuracy ``Σ_i s̃_i·1[correct_i]`` (%).
* :func:`nonuniform_report` — ``A_rob``, ``A_sa``, ``A_tr`` (Zeng et al. eq. 17–19) per α_test.
* :func:`weight_distribution` — the per-example ``s̃`` behind Zeng et al.'s Figs. 5–7.
* :func:`per_example` — margins, losses and correctness of every example after an attack.
* :func:`dro_chi2`, :func:`dro_curve` — the worst-case χ²-reweighted loss of Zeng et al. eq. 28
  (their Fig. 4), solved exactly.
* :func:`save_results`, :func:`load_results`, :func:`cached_eval` — CSV + JSON results keyed by a
  hash of the evaluation settings, written atomically.

Conventions: accuracies are percentages in [0, 100]; margins are probabilistic margins
``PM = p_y − max_{j≠y} p_j`` of the evaluated model at the final (adversarial) input; the model is
evaluated in eval mode and every module's ``training`` flag is restored afterwards.

Default PGD step size: ``2.5·ε / steps`` (Madry et al.'s rule: K steps can travel 2.5·ε). For
Zeng et al.'s ε = 0.031 and 20 steps this is 0.0039 (they used 0.0031, ε/10); MAIL's code used
0.003. Pass ``step_size`` to reproduce a paper exactly.

Layout: :mod:`~mailviz.evaluate.attack_specs` (``pgd20`` / ``cw20`` / ``aa`` specs and the
attacks they run), :mod:`~mailviz.evaluate.accuracy` (accuracy under attack, per-example results),
:mod:`~mailviz.evaluate.weighted_accuracy` (A_rob / A_sa / A_tr, weight distributions),
:mod:`~mailviz.evaluate.dro` (exact χ² DRO), :mod:`~mailviz.evaluate.cache` (result files); the
argument checks in :mod:`~mailviz.evaluate._checks`. Every name is importable from here.
"""

from __future__ import annotations

from mailviz.evaluate._checks import (  # noqa: F401
    _as_array,
    _as_bool,
    _as_real,
    _as_tensor,
    _check_alphas,
    _check_eps,
    _check_loss,
    _check_positive_int,
    _check_step_size,
    _generator,
    _is_real,
    _model_device,
    _values,
)
from mailviz.evaluate.accuracy import (  # noqa: F401
    _batches,
    _collect,
    _Collected,
    evaluate,
    per_example,
)
from mailviz.evaluate.attack_specs import (  # noqa: F401
    _SPEC_RE,
    ATTACK_GRAMMAR,
    CW_CONFIDENCE,
    AttackFn,
    AttackSpec,
    _aa_attack,
    _pgd_attack,
    default_step_size,
    parse_attack,
)
from mailviz.evaluate.cache import (  # noqa: F401
    _MODEL_SUFFIXES,
    _jsonable,
    _results_dir,
    _stem,
    cached_eval,
    load_results,
    results_hash,
    save_results,
)
from mailviz.evaluate.dro import (  # noqa: F401
    DROResult,
    _check_correct,
    _ChiSquareDRO,
    dro_chi2,
    dro_curve,
)
from mailviz.evaluate.weighted_accuracy import (  # noqa: F401
    _nonuniform_runs,
    nonuniform_accuracy,
    nonuniform_report,
    weight_distribution,
)

__all__ = [
    "ATTACK_GRAMMAR",
    "CW_CONFIDENCE",
    "AttackSpec",
    "DROResult",
    "parse_attack",
    "default_step_size",
    "evaluate",
    "nonuniform_accuracy",
    "nonuniform_report",
    "weight_distribution",
    "per_example",
    "dro_chi2",
    "dro_curve",
    "results_hash",
    "save_results",
    "load_results",
    "cached_eval",
]
