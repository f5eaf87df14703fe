"""The analyses the lessons run, one concept per module.

MAIL (Wang et al., 2021): :mod:`~mailviz.studies.path_dependency` and
:mod:`~mailviz.studies.path_rankings` (κ depends on the PGD path, notebook 01),
:mod:`~mailviz.studies.pm_vs_mm` (PM vs the logit margin, notebook 02),
:mod:`~mailviz.studies.training_weights` (the weights an objective assigns),
:mod:`~mailviz.studies.mail_runs` and :mod:`~mailviz.studies.mail_tables` (Tables 4–7,
notebooks 02 and 06).

Zeng et al. (AAAI 2021): :mod:`~mailviz.studies.zeng_models` (the model catalogue),
:mod:`~mailviz.studies.nonuniform_runs` (evaluation plan and cached attack runs),
:mod:`~mailviz.studies.nonuniform_metrics` (A_rob / A_sa / A_tr tables),
:mod:`~mailviz.studies.weight_spread` (spread of s̃), :mod:`~mailviz.studies.dro` (DRO χ²) and
:mod:`~mailviz.studies.zeng_tables` (the published tables beside ours).

The lessons import them through :mod:`mailviz.analysis` (MAIL) and :mod:`mailviz.nonuniform`
(Zeng), which re-export every name. This package imports nothing itself, so importing one
concept does not import the others.
"""
