"""Analyses behind the MAIL notebooks: path dependency of κ, PM vs MM, weights, results tables.

The other modules compute one thing each (an attack, a margin, a weight, an accuracy); the
questions of the MAIL appendix need a few of them put side by side. This module holds those
combinations, so the notebooks only call them:

* **Path dependency (notebook 01).** GAIRAT's least PGD steps
  ``κ_i = Σ_{t=0}^{K−1} 1[f(x_i^{(t)}) = y_i]`` counts how long a PGD path stays correct, so it
  depends on the start and the step size; MAIL's probabilistic margin
  ``PM_i = p_{y_i}(x′_i) − max_{j≠y_i} p_j(x′_i)`` (Def. 1) reads only the end point.
  :func:`kappa_pm_table` attacks one fixed set under several :class:`AttackSetting` s;
  :func:`rank_agreement` gives Spearman's ρ between every pair of settings, :func:`changed_fraction`
  the share of examples whose κ moves, :func:`path_dependency_summary` both measures at once;
  :func:`path_examples` and :func:`setting_paths` pick and replay a few paths for
  :func:`mailviz.plots.lps_paths`.
* **PM vs MM (notebook 02).** With ``j*`` the best other class and ``r = 1 − p_y − p_{j*}`` the
  probability left on the remaining classes, the two margins are tied by the identity

      ``PM = (1 − r) · tanh(MM / 2)``,  ``MM = f_y − max_{j≠y} f_j`` (MAIL appendix eq. 15),

  so they agree in sign and disagree in rank only through ``r`` and the saturation of tanh, i.e.
  through the scale of the logits. :func:`margin_table` returns every term per example
  (:func:`adversarial_margins` for a PGD-attacked set), :func:`margin_disagreement` the sign and
  rank statistics, :func:`pm_envelope` the ``r = 0`` curve, and :func:`scale_sweep` what a
  rescaling of the logits does to MAIL's sigmoid weights on either margin.
* **Training weights (notebook 06).** :func:`objective_weights` runs a method's own
  :class:`~mailviz.objectives.Objective` (without a backward pass) over a data set and returns
  the per-example weights ``ω`` it assigns to the adversarial examples: nothing re-implemented.
  :func:`weight_summary` says how concentrated they are (effective sample size, share of the
  weight mass on misclassified examples).
* **Results tables (notebooks 02 and 06).** :func:`mail_table_specs` lists the rows of MAIL's
  Tables 4–7, :func:`train_specs` trains (or loads) them for every replicate seed (one cache for
  all notebooks and :func:`mailviz.catalogue.prepare`), :func:`per_example_runs` attacks them
  with the profile's :func:`evaluation_plan` and keeps every example's result (cached next to
  each model; :mod:`mailviz.claims` needs the pairs), :func:`accuracies` / :func:`evaluate_runs`
  give the table's numbers, :func:`summarize` numeric mean ± std over replicates, and
  :func:`paper_columns` the seeds' published numbers for :func:`mailviz.plots.results_table`.
  Whether a difference is real is :mod:`mailviz.claims`' question.

The code lives in :mod:`mailviz.studies`, one concept per module
(:mod:`~mailviz.studies.path_dependency`, :mod:`~mailviz.studies.path_rankings`,
:mod:`~mailviz.studies.pm_vs_mm`, :mod:`~mailviz.studies.training_weights`,
:mod:`~mailviz.studies.mail_runs`, :mod:`~mailviz.studies.mail_tables`); this module keeps the
names importable where the lessons and tests use them (``from mailviz.analysis import X``).
"""

from __future__ import annotations

from mailviz.studies._frames import (  # noqa: F401
    _as_xy,
    _check_batch_size,
    _device_of,
    _subset,
)
from mailviz.studies.mail_runs import (  # noqa: F401
    ATTACK_LOSS_LABELS,
    MAIL_TABLES,
    METHOD_LABELS,
    QUICK_AA_N,
    EvaluationPlan,
    RunSpec,
    evaluation_plan,
    mail_table_specs,
    train_specs,
)
from mailviz.studies.mail_tables import (  # noqa: F401
    _bar,
    accuracies,
    evaluate_runs,
    paper_columns,
    per_example_runs,
    summarize,
)
from mailviz.studies.path_dependency import (  # noqa: F401
    AttackSetting,
    _check_settings,
    _kappa,
    _run_setting,
    cached_kappa_pm_table,
    kappa_pm_table,
    path_settings,
    setting_paths,
)
from mailviz.studies.path_rankings import (  # noqa: F401
    _wide,
    changed_fraction,
    mean_rank_agreement,
    path_dependency_summary,
    path_examples,
    rank_agreement,
)
from mailviz.studies.pm_vs_mm import (  # noqa: F401
    adversarial_logits,
    adversarial_margins,
    envelope_curve,
    margin_disagreement,
    margin_table,
    pm_envelope,
    scale_sweep,
)
from mailviz.studies.training_weights import (  # noqa: F401
    _run_seeds,
    cached_objective_weights,
    objective_weights,
    weight_summary,
    weights_by,
    weights_of_runs,
)

__all__ = [
    "METHOD_LABELS",
    "ATTACK_LOSS_LABELS",
    "AttackSetting",
    "path_settings",
    "kappa_pm_table",
    "cached_kappa_pm_table",
    "rank_agreement",
    "mean_rank_agreement",
    "changed_fraction",
    "path_dependency_summary",
    "margin_table",
    "pm_envelope",
    "envelope_curve",
    "path_examples",
    "setting_paths",
    "margin_disagreement",
    "adversarial_logits",
    "adversarial_margins",
    "scale_sweep",
    "objective_weights",
    "weights_by",
    "weight_summary",
    "EvaluationPlan",
    "evaluation_plan",
    "RunSpec",
    "MAIL_TABLES",
    "mail_table_specs",
    "train_specs",
    "weights_of_runs",
    "cached_objective_weights",
    "per_example_runs",
    "evaluate_runs",
    "accuracies",
    "summarize",
    "paper_columns",
]
