r"""Zeng et al.'s non-uniform attacks in notebooks: models, cached attacks, tables, spread, DRO.

The notebooks ``04_weight_distributions``, ``05_nonuniform_attacks`` and ``07_dro`` reproduce
Zeng et al. (AAAI 2021) §5 and appendix A.3–A.6 on the profile's dataset. Everything they compute
goes through this module, so the three notebooks share one set of trained models and one set of
attack runs:

* **catalogue** — :class:`ZengModel`, :func:`zeng_catalogue`, :func:`train_catalogue`: baseline
  TRADES, TRADES+ours with α_train ∈ {0.1, 1, 1.5, 2} (Tables 8/11, Figs. 5–7), PGD (AT) and
  PGD+ours (α_train = 0.1, Tables 4/7/11), configured by :func:`mailviz.experiments.method_config`;
* **plan** — :class:`NonuniformPlan`, :func:`plan_for`: the evaluation grid of a profile (ε_test
  as fractions of ε_train, α_test, steps, the 100-step subset, the ρ grid);
* **attack runs** — :func:`attack_run`: the per-example result of one attack on one model
  (:func:`mailviz.evaluate.per_example`), cached next to the model. One unweighted PGD run per
  (model, ε_test) serves ``A_rob``, ``A_sa`` for every α_test, the histograms of ``s̃`` and the
  DRO curves; weighted PGD (Alg. 1) runs once per α_test for ``A_tr``;
* **tables** — :func:`nonuniform_table` (Tables 1–3, 7, 8, 10–12, Fig. 3), :func:`attack_table`
  (Table 9), :func:`uniform_table` (Tables 4–6), with the published numbers beside them
  (:func:`paper_reference`, :func:`beside_paper`);
* **spread of s̃** — :func:`weight_spread`, :func:`importance_frame`, :func:`spread_table`
  (Figs. 5–7), :func:`rank_trend`;
* **DRO** — :func:`dro_table` (Fig. 4, eq. 28);
* **checks** — :func:`ordering_violations` (``A_tr ≤ A_sa ≤ A_rob``).

Metrics (eq. 17–19): ``A_rob = (100/N)·Σ_i 1[correct_i]`` after unweighted PGD;
``A_sa = 100·Σ_i s̃_i·1[correct_i]`` on the same adversarial inputs with
``s̃ = softmax(−α_test·PM)``; ``A_tr`` the same on the inputs of weighted PGD with α = α_test.
Because s̃ is renormalised over the evaluated set, a table computed on the first ``n`` test
examples is *not* the first ``n`` rows of the full-set table; :func:`first` recomputes on a prefix.

The code lives in :mod:`mailviz.studies`, one concept per module
(:mod:`~mailviz.studies.zeng_models`, :mod:`~mailviz.studies.nonuniform_runs`,
:mod:`~mailviz.studies.nonuniform_metrics`, :mod:`~mailviz.studies.weight_spread`,
:mod:`~mailviz.studies.dro`, :mod:`~mailviz.studies.zeng_tables`); this module keeps the names
importable where the lessons and tests use them (``from mailviz.nonuniform import Y``).
"""

from __future__ import annotations

from mailviz.studies.dro import (  # noqa: F401
    dro_losses,
    dro_table,
)
from mailviz.studies.nonuniform_metrics import (  # noqa: F401
    _accuracy,
    _bar,
    _check_alpha_list,
    attack_table,
    gain_over_baseline,
    nonuniform_metrics,
    nonuniform_table,
    ordering_violations,
    strong_attacks,
    strong_run,
    uniform_table,
)
from mailviz.studies.nonuniform_runs import (  # noqa: F401
    _ATTACKS,
    _PLANS,
    _RUN_VERSION,
    NonuniformPlan,
    _dataset_id,
    attack_run,
    first,
    plan_for,
)
from mailviz.studies.weight_spread import (  # noqa: F401
    importance_frame,
    rank_trend,
    spread_table,
    weight_spread,
)
from mailviz.studies.zeng_models import (  # noqa: F401
    _METHODS,
    FAMILIES,
    HEADLINE_ALPHA,
    PGD_ALPHA,
    TRADES_ALPHAS,
    ZengModel,
    _attack_seed,
    _entries,
    _fmt,
    _label,
    _model_columns,
    catalogue_summary,
    headline,
    train_catalogue,
    zeng_catalogue,
)
from mailviz.studies.zeng_tables import (  # noqa: F401
    _KEYS,
    _PROFILE_REFERENCE,
    _REFERENCE_TABLES,
    beside_paper,
    evaluate_models,
    paper_reference,
    standin_tables,
)

__all__ = [
    "FAMILIES",
    "TRADES_ALPHAS",
    "PGD_ALPHA",
    "ZengModel",
    "zeng_catalogue",
    "train_catalogue",
    "headline",
    "catalogue_summary",
    "NonuniformPlan",
    "plan_for",
    "attack_run",
    "first",
    "nonuniform_metrics",
    "nonuniform_table",
    "attack_table",
    "uniform_table",
    "ordering_violations",
    "gain_over_baseline",
    "weight_spread",
    "importance_frame",
    "spread_table",
    "rank_trend",
    "dro_table",
    "dro_losses",
    "strong_attacks",
    "strong_run",
    "paper_reference",
    "beside_paper",
    "evaluate_models",
    "standin_tables",
]
