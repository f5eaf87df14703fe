r"""The claims of the Zeng et al. lessons: 04 spread, 05 non-uniform attacks, 07 DRO, 08 zoo.

Every claim reads the per-example attack runs of :mod:`mailviz.nonuniform` (cached next to each
model), so its statistic can be recomputed on a bootstrap resample of the test examples — the
same resample for every model and replicate (paired) — and averaged over the replicates
(:func:`mailviz.claims.core.replicate_estimates`). The weighted accuracies are ratio estimators,
``A = 100·Σ_i w_i c_i / Σ_i w_i`` with ``w_i = exp(−α·PM_i)``, recomputed on each resample (s̃
is renormalised over the resampled set, as it is over the test set).

The paper's number beside each claim is read from ``mailviz/paper_numbers/zeng.json``
(:func:`mailviz.nonuniform.paper_reference`), never typed.

Layout: :mod:`~mailviz.claims.zeng_metrics` (05: A_rob / A_sa / A_tr, Tables 2, 9,
the metric invariants) and :mod:`~mailviz.claims.zeng_distributions` (04 spread of s̃, 07 DRO,
08 stand-ins); shared readers in :mod:`~mailviz.claims._zeng_runs`. Every name is importable
from here (``claims.zeng.nonuniform_claims``).
"""

from __future__ import annotations

from mailviz.claims._zeng_runs import (  # noqa: F401
    _ZENG,
    _entries_by_model,
    _metric_invariants,
    _pair,
    _pair_seeds,
    _paper_value,
    _runs,
    weighted_accuracy,
)
from mailviz.claims.zeng_distributions import (  # noqa: F401
    _deficit,
    dro_claims,
    spread_claims,
    standin_claims,
)
from mailviz.claims.zeng_metrics import (  # noqa: F401
    _rob_cost,
    _table2,
    _table9,
    _tr_below_sa,
    nonuniform_claims,
)

__all__ = [
    "weighted_accuracy",
    "spread_claims",
    "nonuniform_claims",
    "dro_claims",
    "standin_claims",
]
