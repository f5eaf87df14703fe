"""Robustness measures of single examples: probabilistic margin, logit margin, least PGD steps.

Three ways to say how close an (adversarial) example is to the decision boundary:

* **PM** — the probabilistic margin of MAIL (Wang et al., 2021, Def. 1):
  ``PM(x, y) = p_y(x) − max_{j≠y} p_j(x)`` with ``p = softmax(f(x))``. It lies in [−1, 1], is
  positive exactly when the example is classified correctly, and is a continuous function of the
  logits (no attack path involved). Zeng et al. (2021) use the same quantity as the ``margin`` of
  their importance weight ``exp(−α·margin)`` (their eq. 7).
* **MM** — the multi-class logit margin (MAIL appendix eq. 15):
  ``MM(x, y) = f_y(x) − max_{j≠y} f_j(x)``; same sign as PM, but unbounded and sensitive to the
  scale of the logits.
* **κ (LPS)** — GAIRAT's least PGD steps: during a K-step PGD run, before each step κ grows by one
  if the current iterate is still classified correctly. It is an integer in {0..K} and depends on
  the path the attack took (start, step size), which is MAIL's argument against it.

All functions are pure functions of tensors so they can be tested and plotted without training.
They never lower the precision they are given: float64 logits give float64 margins, float32 stay
float32, half / bfloat16 are computed in float32 (:func:`mailviz.checks.upcast`). Labels outside
``[0, classes)`` and NaN / inf logits are refused with one ``ValueError`` line (one host sync;
see :mod:`mailviz.checks`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mailviz import checks

__all__ = [
    "probabilistic_margin",
    "logit_margin",
    "least_pgd_steps",
    "kappa_from_predictions",
]


def _check_logits(logits: Tensor, y: Tensor) -> None:
    """Types and shapes (free), then labels in range and finite logits (one host sync)."""
    if not isinstance(logits, Tensor) or logits.is_complex() or logits.dtype == torch.bool:
        got = logits.dtype if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a real tensor [B, classes], got {got}")
    checks.check_labels(y)
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape [B, classes], got {tuple(logits.shape)}")
    if logits.shape[1] < 2:
        raise ValueError("a margin needs at least 2 classes; got logits with 1 column")
    if y.shape != (logits.shape[0],):
        raise ValueError(
            f"labels must have shape [{logits.shape[0]}] to match the logits, got {tuple(y.shape)}"
        )
    if y.device != logits.device:
        raise ValueError(
            f"labels are on {y.device} but the logits on {logits.device} — move them together, "
            "e.g. y.to(logits.device)"
        )
    checks.check_logits(logits, y)


def _true_minus_best_other(scores: Tensor, y: Tensor) -> Tensor:
    """``scores[i, y_i] − max_{j≠y_i} scores[i, j]`` for every row, batched."""
    true = scores.gather(1, y.view(-1, 1)).squeeze(1)
    others = scores.scatter(1, y.view(-1, 1), float("-inf"))
    return true - others.amax(dim=1)


def probabilistic_margin(logits: Tensor, y: Tensor) -> Tensor:
    """Probabilistic margin ``PM_i = p_{y_i}(x_i) − max_{j≠y_i} p_j(x_i)`` (MAIL Def. 1).

    Args:
        logits: ``[B, K]`` model outputs before the softmax.
        y: ``[B]`` integer labels.

    Returns:
        ``[B]`` margins in [−1, 1]; positive iff the example is classified correctly (a tie between
        the true class and the best other class gives exactly 0). Differentiable: detach it yourself
        where the method wants a constant weight (MAIL) and keep the graph where it does not (Zeng).

    Example:
        >>> probabilistic_margin(torch.tensor([[2.0, 0.0]]), torch.tensor([0]))
        tensor([0.7616])
    """
    _check_logits(logits, y)
    return pm_unchecked(logits, y)


def logit_margin(logits: Tensor, y: Tensor) -> Tensor:
    """Multi-class margin ``MM_i = f_{y_i}(x_i) − max_{j≠y_i} f_j(x_i)`` (MAIL appendix eq. 15).

    Args:
        logits: ``[B, K]`` model outputs before the softmax.
        y: ``[B]`` integer labels.

    Returns:
        ``[B]`` unbounded margins with the sign of :func:`probabilistic_margin`.

    Example:
        >>> logit_margin(torch.tensor([[2.0, 0.0, 1.0]]), torch.tensor([2]))
        tensor([-1.])
    """
    _check_logits(logits, y)
    return mm_unchecked(logits, y)


def pm_unchecked(logits: Tensor, y: Tensor) -> Tensor:
    """:func:`probabilistic_margin` without any argument check, for callers that validated
    ``logits`` and ``y`` already (the attack loop, the training objectives): no host sync."""
    return _true_minus_best_other(torch.softmax(checks.upcast(logits), dim=1), y)


def mm_unchecked(logits: Tensor, y: Tensor) -> Tensor:
    """:func:`logit_margin` without any argument check (see :func:`pm_unchecked`)."""
    return _true_minus_best_other(checks.upcast(logits), y)


def least_pgd_steps(correct_before_step: Tensor) -> Tensor:
    """GAIRAT's κ from a recorded PGD run: ``κ_i = Σ_{t=0}^{K−1} 1[f(x_i^{(t)}) = y_i]``.

    ``correct_before_step[t, i]`` says whether iterate ``t`` (``t = 0`` is the random start) was
    still classified correctly just before step ``t + 1``. The final iterate ``x^{(K)}`` is never
    checked and there is no early stop, exactly as in the GAIRAT code, so κ ∈ {0, …, K}.

    Args:
        correct_before_step: ``[K, B]`` boolean tensor.

    Returns:
        ``[B]`` int64 counts.
    """
    if correct_before_step.dim() != 2:
        raise ValueError(
            "correct_before_step must have shape [steps, batch]; "
            f"got {tuple(correct_before_step.shape)}"
        )
    return correct_before_step.to(torch.int64).sum(dim=0)


def kappa_from_predictions(pred_before_step: Tensor, y: Tensor) -> Tensor:
    """κ from the predicted labels of the iterates ``x^{(0)} … x^{(K−1)}``: ``[K, B]`` → ``[B]``."""
    if pred_before_step.dim() != 2 or pred_before_step.shape[1] != y.shape[0]:
        raise ValueError(
            f"pred_before_step must have shape [steps, {y.shape[0]}]; "
            f"got {tuple(pred_before_step.shape)}"
        )
    return least_pgd_steps(pred_before_step == y.view(1, -1))
