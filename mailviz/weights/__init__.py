"""Instance weights: from a robustness measure (PM, κ, margin) to a per-example weight.

Instance-reweighted adversarial training multiplies each example's loss by a weight that grows as
the example gets closer to (or further across) the decision boundary. This module holds the weight
*assignment* functions and the *normalisations*, as pure batched tensor functions:

* PM-based (MAIL, Wang et al., 2021): :func:`sigmoid` (the method, Alg. 2–4 line 9) and the two
  alternatives of the appendix's Table 6, :func:`hinge` (as printed) and :func:`step`; plus
  :func:`hinge_mirrored`, the hinge that points the same way as the sigmoid.
  :data:`WEIGHT_FUNCTIONS` and :func:`pm_weights` select one by name.
* κ-based (GAIRAT, Zhang et al., 2021): :func:`gairat_tanh`, :func:`gairat_sigmoid`,
  :func:`gairat_discrete`.
* margin-based (Zeng et al., 2021): :func:`exp_kernel` ``exp(−α·margin)`` (their eq. 7) for
  training and :func:`importance` ``s̃`` (their "Evaluation" paragraph) for the weighted accuracy
  metrics.
* :func:`normalize`: the paper's ``ω_i = M·w_i/Σ_j w_j`` (Alg. 2–4 line 11), the authors' code's
  ``3·w``, GAIRAT's mean-one rescaling, or nothing.

Weights never see the attack or the model: detach the margin yourself where the method treats the
weight as a constant (MAIL, GAIRAT) and keep the graph where it does not (Zeng et al.).

Precision and bad input: weights are computed in the dtype of the margins they are given (float64
stays float64; half and bfloat16 are computed in float32). A NaN or inf margin is refused with
one ``ValueError`` line (one host sync, skipped inside :func:`mailviz.checks.skip_host_syncs`).

Layout: :mod:`~mailviz.weights.margin_functions` (MAIL's sigmoid, hinge, step; Table 6),
:mod:`~mailviz.weights.gairat` (GAIRAT's weights of κ), :mod:`~mailviz.weights.zeng_kernel`
(``exp(−α·margin)`` and s̃), :mod:`~mailviz.weights.normalization`; argument checks in
:mod:`~mailviz.weights._checks`. Every name is importable from here.
"""

from __future__ import annotations

from mailviz.weights._checks import (  # noqa: F401
    Scalar,
    _as_float_tensor,
    _check_gamma,
    _check_range,
    _check_steps,
    _finite_input,
    _kappa,
    _param,
)
from mailviz.weights.gairat import (  # noqa: F401
    _gairat_argument,
    gairat_discrete,
    gairat_sigmoid,
    gairat_tanh,
)
from mailviz.weights.margin_functions import (  # noqa: F401
    WEIGHT_FUNCTIONS,
    hinge,
    hinge_mirrored,
    pm_weights,
    sigmoid,
    step,
)
from mailviz.weights.normalization import (  # noqa: F401
    NORMALIZE_MODES,
    normalize,
)
from mailviz.weights.zeng_kernel import (  # noqa: F401
    exp_kernel,
    importance,
)

__all__ = [
    "sigmoid",
    "hinge",
    "hinge_mirrored",
    "step",
    "gairat_tanh",
    "gairat_sigmoid",
    "gairat_discrete",
    "exp_kernel",
    "normalize",
    "importance",
    "pm_weights",
    "WEIGHT_FUNCTIONS",
    "NORMALIZE_MODES",
]
