r"""The claims of the MAIL lessons: 01 path dependency, 02 PM vs MM, 03 weights, 06 tables.

Each claim's statistic is computed per replicate on the test (or training) examples and
re-computed on paired bootstrap resamples of them (:func:`mailviz.claims.core.replicate_estimates`).
The published numbers beside the claims come from ``mailviz/paper_numbers/mail.json``
(:func:`mailviz.paper.paper_table`); MAIL's appendix Table 4 covers SVHN and CIFAR-100, both are
shown.

Layout: :mod:`~mailviz.claims.mail_tables` (06 and 02's Table 5: accuracies of
MAIL and its baselines) and :mod:`~mailviz.claims.mail_margins` (01 path dependency, 02 PM vs MM,
03 weight functions). Every name is importable from here (``claims.mail.path_claims``).
"""

from __future__ import annotations

from mailviz.claims.mail_margins import (  # noqa: F401
    _spearman_mean,
    margin_claims,
    path_claims,
    tilt_claims,
    weight_function_claims,
)
from mailviz.claims.mail_tables import (  # noqa: F401
    _COLUMN,
    _MAIL,
    _paper_gap,
    accuracy_claims,
    correct_matrix,
    cw_confidence_claims,
    plateau_claims,
    table4_claims,
    table5_claims,
    table6_claims,
    table7_claims,
)

__all__ = [
    "correct_matrix",
    "accuracy_claims",
    "path_claims",
    "margin_claims",
    "weight_function_claims",
    "tilt_claims",
    "table4_claims",
    "table5_claims",
    "table6_claims",
    "table7_claims",
    "cw_confidence_claims",
    "plateau_claims",
]
