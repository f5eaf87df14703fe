"""Claims: every statement a lesson checks, with its source, effect, interval and verdict.

The one home for what the lessons say about the papers (issue "replicated results and honest
verdicts"):

* :mod:`mailviz.claims.core` — the statistics: an effect averaged over replicates with an
  interval covering seed-to-seed variation and test-set sampling (:func:`replicate_estimate`,
  :func:`estimate`, :func:`verdict`);
* :mod:`mailviz.claims.record` — one :class:`Claim` (:func:`comparison`, :func:`invariant`,
  :func:`all_of`);
* :mod:`mailviz.claims.report` — the claims table (:func:`frame`), the generated "What we saw"
  prose (:func:`what_we_saw`), ``claims.csv`` per lesson (:func:`save`, :func:`collect`) and the
  assertions a lesson may make (:func:`check`, :func:`asserted`);
* :mod:`mailviz.claims.mail` and :mod:`mailviz.claims.zeng` — the claims of the MAIL lessons
  (01, 02, 03, 06) and of the Zeng et al. lessons (04, 05, 07, 08); :mod:`mailviz.claims.audit`
  those of lesson 09 (the gradient-masking audit).
"""

from mailviz.claims.core import (
    CONFIDENCE,
    RESAMPLES,
    VERDICTS,
    Estimate,
    estimate,
    example_bootstrap_se,
    replicate_estimate,
    replicate_estimates,
    verdict,
)
from mailviz.claims.record import KINDS, Claim, all_of, comparison, invariant
from mailviz.claims.report import (
    STABILITY_FILE,
    STABILITY_RUNS,
    asserted,
    check,
    collect,
    collect_markdown,
    frame,
    save,
    what_we_saw,
)

__all__ = [
    "CONFIDENCE",
    "RESAMPLES",
    "VERDICTS",
    "KINDS",
    "STABILITY_FILE",
    "STABILITY_RUNS",
    "Estimate",
    "Claim",
    "estimate",
    "example_bootstrap_se",
    "replicate_estimate",
    "replicate_estimates",
    "verdict",
    "comparison",
    "invariant",
    "all_of",
    "frame",
    "what_we_saw",
    "save",
    "collect",
    "collect_markdown",
    "asserted",
    "check",
]

from mailviz.claims import audit, mail, zeng  # noqa: E402  (the lessons' claim builders)

__all__ += ["audit", "mail", "zeng"]
