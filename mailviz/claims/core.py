r"""The statistics behind every verdict: an effect over replicates with an honest interval.

A lesson compares numbers that vary for two reasons: each **replicate** (training seed) gives a
different model, and the **test set** is one sample of the examples the model could meet. A
claim's interval has to cover both. The method used for every claim in mailviz:

* A claim is a statistic ``θ_s(I)`` of replicate ``s = 1..R`` computed on the test examples
  ``I`` — an accuracy difference between two methods trained with the same seed, a Spearman
  correlation, a DRO loss gap... The estimate is the mean over replicates
  ``θ̄ = (1/R) Σ_s θ_s(I)`` on the full test set ``I = {1..N}``.
* **Seed component.** ``SE²_seed = s²/R`` with ``s`` the sample standard deviation of the
  ``θ_s`` (``ddof=1``): the spread that training randomness causes on this test set.
* **Test-set component.** ``SE_test`` is the bootstrap standard error of ``θ̄`` when the test
  examples are resampled with replacement (:func:`scipy.stats.bootstrap`, percentile method,
  ``n_resamples`` draws, fixed ``random_state``). The *same* resampled examples are used for
  every replicate and for both sides of a comparison, so the comparison is paired on examples;
  replicates with the same seed are paired with each other by construction.
* **Interval.** ``θ̄ ± t_{q, ν}·sqrt(SE²_seed + SE²_test)`` with the Welch–Satterthwaite degrees
  of freedom ``ν = (a + b)² / (a²/(R − 1) + b²/(N − 1))``, ``a = SE²_seed``, ``b = SE²_test``
  (:func:`scipy.stats.t`). With one replicate only the test-set component exists (``ν = N − 1``)
  and the result says so (:attr:`Estimate.seed_variation`).

The two components overlap slightly (the model-by-example interaction appears in both), so the
interval is a little conservative; the coverage test in ``tests/test_claims.py`` checks it on
simulated replicates with a known truth.

A **verdict** compares the interval with the paper's statement ``θ > threshold`` (or ``<``):
*reproduced* when the whole interval lies on the paper's side, *contradicted* when it lies on
the other side, *inconclusive* when it straddles the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CONFIDENCE",
    "RESAMPLES",
    "VERDICTS",
    "Estimate",
    "estimate",
    "example_bootstrap_se",
    "replicate_estimate",
    "replicate_estimates",
    "verdict",
]

#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Bootstrap resamples of the test set behind ``SE_test``.
RESAMPLES = 400
#: The three verdicts a claim can get.
VERDICTS: tuple[str, ...] = ("reproduced", "contradicted", "inconclusive")


@dataclass(frozen=True)
class Estimate:
    """An effect over replicates with its interval (see the module docstring for the method).

    Attributes:
        mean: ``θ̄``, the mean of the per-replicate values on the full test set.
        std: sample standard deviation of the per-replicate values (NaN with one replicate).
        low, high: the ``confidence`` interval.
        replicates: ``R``; examples: ``N`` (0 when no test-set component was computed).
        se_seed, se_test: the two standard-error components; df: Satterthwaite's ν.
        values: the per-replicate values ``θ_s``.
        confidence: the interval's level.
    """

    mean: float
    std: float
    low: float
    high: float
    replicates: int
    examples: int
    se_seed: float
    se_test: float
    df: float
    values: tuple[float, ...]
    confidence: float = CONFIDENCE

    @property
    def seed_variation(self) -> bool:
        """Whether the interval includes seed-to-seed variation (``R ≥ 2``)."""
        return self.replicates >= 2

    @property
    def se(self) -> float:
        """The combined standard error ``sqrt(SE²_seed + SE²_test)``."""
        return math.hypot(self.se_seed, self.se_test)


def _finite_values(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one value (one per replicate)")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def estimate(
    values: Sequence[float],
    se_test: float = 0.0,
    *,
    examples: int = 0,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """Combine per-replicate values and a test-set standard error into an :class:`Estimate`.

    Args:
        values: ``θ_s`` per replicate (already averaged or computed on the full test set).
        se_test: test-set standard error of their mean (0: none, e.g. an exact quantity).
        examples: ``N``, the test examples behind ``se_test`` (its degrees of freedom ``N − 1``).
        confidence: interval level in (0, 1).

    Raises:
        ValueError: no value, a non-finite value, a negative ``se_test``, or one replicate and
            no test-set component (no interval can be formed).

    Example:
        >>> e = estimate([2.0, 3.0, 4.0])
        >>> round(e.mean, 3), round(e.low, 2), round(e.high, 2)
        (3.0, 0.52, 5.48)
    """
    from scipy import stats

    arr = _finite_values(values, "values")
    if not (0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r} — e.g. 0.95")
    if not (math.isfinite(se_test) and se_test >= 0.0):
        raise ValueError(f"se_test must be a finite number >= 0, got {se_test!r}")
    r = arr.size
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if r >= 2 else math.nan
    a = std**2 / r if r >= 2 else 0.0  # SE²_seed
    b = float(se_test) ** 2  # SE²_test
    if r < 2 and (b == 0.0 or examples < 2):
        raise ValueError(
            "one replicate and no test-set standard error: no interval can be formed — "
            "train more replicates or pass se_test with examples >= 2"
        )
    terms = []
    if r >= 2:
        terms.append((a, r - 1))
    if b > 0.0 and examples >= 2:
        terms.append((b, examples - 1))
    total = a + b
    if total == 0.0:  # every replicate identical and no sampling noise: a point
        return Estimate(mean, std, mean, mean, r, examples, 0.0, float(se_test), math.inf,
                        tuple(arr.tolist()), confidence)  # fmt: skip
    denom = sum(v**2 / d for v, d in terms)
    df = total**2 / denom if denom > 0 else math.inf  # denom underflows for tiny variances
    half = float(stats.t.ppf(0.5 + confidence / 2.0, df)) * math.sqrt(total)
    return Estimate(mean, std, mean - half, mean + half, r, examples, math.sqrt(a),
                    float(se_test), float(df), tuple(arr.tolist()), confidence)  # fmt: skip


def example_bootstrap_se(
    statistic: Callable[[np.ndarray], Any],
    examples: int,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Any:
    """Bootstrap standard error of ``statistic(idx)`` over resampled test examples.

    ``statistic`` receives an index array (``numpy.arange(examples)`` is the full test set) and
    returns one number — or a 1-D array of numbers, which get one standard error each. It is
    called once per resample with the *same* indices for every model and replicate it reads,
    which pairs the comparison on test examples. The resampling is :func:`scipy.stats.bootstrap`
    (percentile method, ``random_state=seed``).

    Returns:
        A float, or an array of floats for an array-valued statistic.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> correct = rng.random(400) < 0.7
        >>> se = example_bootstrap_se(lambda i: 100 * correct[i].mean(), 400)
        >>> abs(se - 100 * math.sqrt(0.7 * 0.3 / 400)) < 0.4
        True
    """
    from scipy import stats

    if isinstance(examples, bool) or not isinstance(examples, (int, np.integer)) or examples < 2:
        raise ValueError(f"examples must be an int >= 2 (test examples), got {examples!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 2:
        raise ValueError(f"resamples must be an int >= 2, got {resamples!r} — e.g. 400")
    index = np.arange(int(examples))
    scalar = np.ndim(statistic(index)) == 0

    def stat(idx: np.ndarray) -> Any:
        value = np.asarray(statistic(np.asarray(idx, dtype=np.intp)), dtype=np.float64)
        return float(value) if scalar else value.ravel()

    result = stats.bootstrap(
        (index,), stat, vectorized=False, n_resamples=resamples, method="percentile",
        random_state=np.random.default_rng(seed),
    )  # fmt: skip
    se = np.asarray(result.standard_error, dtype=np.float64)
    if not np.isfinite(se).all():
        raise ValueError("the statistic is not finite on some resample of the test set")
    return float(se) if scalar else se


def replicate_estimates(
    statistic: Callable[[np.ndarray], Any],
    examples: int,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> list[Estimate]:
    """The full recipe for ``K`` effects at once: per-replicate values plus the paired bootstrap.

    ``statistic(idx)`` returns an ``[R]`` or ``[R, K]`` array: one value per replicate (and per
    effect) computed on the test examples ``idx``. Each effect's estimate is the mean over
    replicates on ``idx = arange(examples)``; its test-set component is the bootstrap standard
    error of that mean, from one shared set of resamples (:func:`example_bootstrap_se`).

    Returns:
        ``K`` :class:`Estimate` s (one for an ``[R]`` statistic).
    """
    full = np.asarray(statistic(np.arange(int(examples))), dtype=np.float64)
    if full.ndim not in (1, 2):
        raise ValueError(f"statistic must return [R] or [R, K] values, got shape {full.shape}")
    full = full.reshape(full.shape[0], -1)
    _finite_values(full, "statistic(all examples)")
    se = example_bootstrap_se(
        lambda idx: np.asarray(statistic(idx), dtype=np.float64).reshape(full.shape).mean(axis=0),
        examples, resamples=resamples, seed=seed,
    )  # fmt: skip
    se = np.atleast_1d(se)
    return [estimate(full[:, k], float(se[k]), examples=int(examples), confidence=confidence)
            for k in range(full.shape[1])]  # fmt: skip


def replicate_estimate(
    statistic: Callable[[np.ndarray], Sequence[float]],
    examples: int,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """:func:`replicate_estimates` for one effect: ``statistic(idx)`` returns ``[R]`` values.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> a = rng.random((3, 500)) < 0.8  # 3 replicates × 500 examples, method A
        >>> b = rng.random((3, 500)) < 0.6
        >>> e = replicate_estimate(lambda i: 100 * (a[:, i].mean(1) - b[:, i].mean(1)), 500)
        >>> e.low > 0
        True
    """
    (est,) = replicate_estimates(
        lambda idx: np.asarray(statistic(idx), dtype=np.float64).ravel(), examples,
        resamples=resamples, seed=seed, confidence=confidence,
    )  # fmt: skip
    return est


def verdict(est: Estimate, direction: str = "greater", threshold: float = 0.0) -> str:
    """The verdict on "the effect is ``direction`` than ``threshold``" (the paper's side).

    * ``"reproduced"``: the whole interval lies on the paper's side of ``threshold``;
    * ``"contradicted"``: the whole interval lies on the other side;
    * ``"inconclusive"``: the interval contains ``threshold``.

    Example:
        >>> verdict(estimate([2.0, 3.0, 4.0])), verdict(estimate([-1.0, 1.0, 0.5]))
        ('reproduced', 'inconclusive')
    """
    if direction not in ("greater", "less"):
        raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    above, below = est.low > threshold, est.high < threshold
    if direction == "greater":
        return "reproduced" if above else "contradicted" if below else "inconclusive"
    return "reproduced" if below else "contradicted" if above else "inconclusive"
