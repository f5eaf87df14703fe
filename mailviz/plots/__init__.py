"""One function per figure type; each returns a matplotlib ``Figure`` (headless-safe).

=========================  ====================================================================
function                   figure
=========================  ====================================================================
:func:`weight_histograms`  histograms of the importance ``s̃`` (Zeng et al. Figs. 5–7)
:func:`nonuniform_curves`  ``A_sa`` / ``A_tr`` vs α_test per α_train (Zeng et al. Fig. 3)
:func:`dro_curves`         worst-case χ² loss and accuracy vs ρ (Zeng et al. Fig. 4)
:func:`weight_functions`   sigmoid / hinge / step / GAIRAT / exp weights vs margin (MAIL Table 6)
:func:`pm_vs_mm`           probabilistic vs logit margin, with Spearman rank agreement
:func:`lps_paths`          PGD iterates over a 2-D model's decision regions (GAIRAT's κ)
:func:`results_table`      a pandas ``Styler`` in the layout of MAIL's Tables 4–7
:func:`save`               PNG + SVG under ``figures/<notebook>/``, byte-identical on rerun
=========================  ====================================================================

All figures share one look, :func:`style` (seaborn "whitegrid", slide-sized fonts, the
colour-blind-safe Okabe–Ito colours of :mod:`mailviz.plots.colors`); it is a context manager
that also works as a decorator. Lesson 00 adds :func:`adversarial_examples` (clean digits, the
perturbation δ, attacked digits) and :func:`robustness_curve` (accuracy against the budget ε).
Figures are made with ``pyplot`` so that notebooks show them inline (once, at the end of the
cell); close them with ``plt.close(fig)`` in loops.

Example:
    >>> from mailviz import evaluate, plots
    >>> frame = evaluate.dro_curve(losses, rhos=[0, 0.1, 1, 10])  # doctest: +SKIP
    >>> fig = plots.dro_curves(frame.assign(model="AT"))  # doctest: +SKIP
    >>> plots.save(fig, "dro", notebook="05_dro")  # doctest: +SKIP
    (PosixPath('.../figures/05_dro/dro.png'), PosixPath('.../figures/05_dro/dro.svg'))

Layout, one module per figure family: :mod:`~mailviz.plots.zeng_figures` (Zeng et al.
Figs. 3–7), :mod:`~mailviz.plots.mail_figures` (weight functions, PM vs MM, LPS paths),
:mod:`~mailviz.plots.results` (accuracy error bars, MAIL's tables), :mod:`~mailviz.plots.overview`
(data samples, training curves), :mod:`~mailviz.plots.output` (deterministic files); the shared
look in :mod:`~mailviz.plots._style`. Every name is importable from here.
"""

from __future__ import annotations

from mailviz.plots._style import (  # noqa: F401
    _ATTACK_RE,
    _SUPERSCRIPT,
    PALETTE,
    SVG_HASHSALT,
    WEIGHT_CURVES,
    _fmt,
    _group_label,
    _is_baseline,
    _np,
    _ordered_groups,
    _rc,
    _replicate_stats,
    _replicates_note,
    _require,
    _select,
    _single_eps,
    _subplots,
    attack_label,
    palette,
    style,
)
from mailviz.plots.attack_demo import (  # noqa: F401
    adversarial_examples,
    robustness_curve,
)
from mailviz.plots.mail_figures import (  # noqa: F401
    lps_paths,
    pm_vs_mm,
    weight_functions,
)
from mailviz.plots.output import (  # noqa: F401
    save,
)
from mailviz.plots.overview import (  # noqa: F401
    dataset_samples,
    training_curves,
)
from mailviz.plots.results import (  # noqa: F401
    accuracy_errorbars,
    results_table,
)
from mailviz.plots.zeng_figures import (  # noqa: F401
    dro_curves,
    nonuniform_curves,
    spread_curves,
    weight_histograms,
)

__all__ = [
    "PALETTE",
    "WEIGHT_CURVES",
    "style",
    "palette",
    "weight_histograms",
    "nonuniform_curves",
    "dro_curves",
    "weight_functions",
    "pm_vs_mm",
    "lps_paths",
    "results_table",
    "accuracy_errorbars",
    "spread_curves",
    "attack_label",
    "dataset_samples",
    "training_curves",
    "adversarial_examples",
    "robustness_curve",
    "save",
]
