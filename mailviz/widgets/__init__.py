"""Interactive explorers (ipywidgets) for weight functions and PGD paths.

Two explorers, each a pure compute function plus a thin widget around it:

* :func:`weight_explorer` — pick a weight function (MAIL's sigmoid, the hinge and step of MAIL's
  Table 6, the mirrored hinge, GAIRAT's tanh of κ, Zeng et al.'s ``exp(−α·margin)``), move its
  parameters, see the curve over PM ∈ [−1, 1] and, given the PMs of a real model's adversarial
  test set, the histogram of the normalised weights and the share of the weight mass that lands on
  misclassified examples. The numbers come from :func:`explorer_state`.
* :func:`pgd_playground` — PGD (or LM-PGD) paths of a handful of 2-D points over a model's
  decision regions, with each point's κ and PM. The numbers come from :func:`playground_state`.

The widgets render their figure with matplotlib's Agg backend into an ``ipywidgets.Image`` (PNG):
one figure is created per explorer and only its artists are updated on a slider move, so an update
costs one Agg draw plus one PNG encode and needs no ``%matplotlib widget`` backend; it works the
same headless, in JupyterLab and in VS Code. :func:`latency` measures slider → image time.
Every widget is an ``ipywidgets.VBox`` that exposes its controls as ``.controls`` (name → widget)
and the last computed numbers as ``.state``, so tests can move a slider by setting ``.value``.

Layout, one widget per module: :mod:`~mailviz.widgets.explorer` (with its pure
numbers in :mod:`~mailviz.widgets.weight_state`), :mod:`~mailviz.widgets.playground`, and
:mod:`~mailviz.widgets.timing`; shared constants and rendering helpers in
:mod:`~mailviz.widgets._common`. Every name is importable from here.
"""

from __future__ import annotations

from mailviz.widgets._common import (  # noqa: F401
    _ALPHA_MAX,
    DEFAULT_SETTINGS,
    PLAYGROUND_STARTS,
    WEIGHT_CHOICES,
    WEIGHT_EQUATIONS,
    WEIGHT_PARAMETERS,
    _as_1d,
    _check_choice,
    _close,
    _encode,
    _model_device,
    _nice_ceiling,
    _percent,
    _png,
    _table_html,
)
from mailviz.widgets.explorer import (  # noqa: F401
    WeightExplorer,
    weight_explorer,
)
from mailviz.widgets.playground import (  # noqa: F401
    PGDPlayground,
    pgd_playground,
    playground_points,
    playground_state,
)
from mailviz.widgets.timing import (  # noqa: F401
    _zigzag,
    latency,
)
from mailviz.widgets.weight_state import (  # noqa: F401
    explorer_state,
    pm_to_kappa,
    raw_weights,
    weight_function_table,
)

__all__ = [
    "WEIGHT_CHOICES",
    "WEIGHT_PARAMETERS",
    "WEIGHT_EQUATIONS",
    "PLAYGROUND_STARTS",
    "pm_to_kappa",
    "raw_weights",
    "explorer_state",
    "DEFAULT_SETTINGS",
    "weight_function_table",
    "WeightExplorer",
    "weight_explorer",
    "playground_points",
    "playground_state",
    "PGDPlayground",
    "pgd_playground",
    "latency",
]
