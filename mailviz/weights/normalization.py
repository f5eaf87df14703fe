"""Normalising a weight vector: batch (MAIL), constant, mean one (GAIRAT), none."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mailviz import checks
from mailviz.weights._checks import _as_float_tensor

NORMALIZE_MODES: tuple[str, ...] = ("batch", "constant", "mean1", "none")


# --------------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------------


def normalize(w: Tensor, mode: str = "batch", c: float = 3.0) -> Tensor:
    """Turn raw weights ``w`` into the loss weights ``ω``.

    * ``"batch"`` (MAIL paper, Alg. 2–4 line 11, the default): ``ω_i = M·w_i / Σ_j w_j`` with ``M``
      the batch size, so ``Σ ω = M`` and the weighted mean loss is on the scale of the plain mean.
    * ``"constant"`` (MAIL authors' code): ``ω_i = c·w_i`` with ``c = 3``.
    * ``"mean1"`` (GAIRAT): ``ω_i = w_i / mean_j(w_j)``. Mathematically identical to ``"batch"``
      (``mean = Σ/M``); an alias kept so GAIRAT code reads like GAIRAT; it runs the same code.
    * ``"none"``: ``ω = w``.

    **All-zero weights.** Under ``"batch"``/``"mean1"``, ``M·w/Σw`` is 0/0 when every weight is 0
    (e.g. :func:`hinge` on a batch with every PM < β). Unnormalised, such a batch would contribute
    no gradient, so this function returns **all zeros** for it: the loss stays finite (0) and the
    optimiser step is a no-op for that batch instead of NaN-poisoning the model. The computation
    divides by ``max_j w_j`` first (a ``torch.where`` guard makes that 1 for an all-zero batch), so
    the rescaled sum is ≥ 1 whenever some weight is positive: results for any positive ``Σw``,
    however tiny (even subnormal), are exact up to rounding, with no clamp that changes them.
    Gradients flow through ``w`` (no detach here; MAIL detaches PM before computing ``w``).

    Args:
        w: ``[B]`` finite, non-negative weights.
        mode: one of ``"batch"``, ``"constant"``, ``"mean1"``, ``"none"``.
        c: the constant of ``"constant"`` (finite, ``> 0``); ignored by the other modes.

    Returns:
        ``[B]`` weights ``ω``.

    Raises:
        ValueError: for a bad mode or ``c``, a non-1-D ``w``, or a negative/NaN/inf weight (an inf
        weight usually means :func:`exp_kernel` overflowed; use :func:`importance` instead). The
        weight check reads the tensor (a host sync) and is skipped inside
        :func:`mailviz.checks.skip_host_syncs` (trusted inputs only).

    Shape:
        ``w [B]`` → ``[B]``.

    Example:
        >>> normalize(torch.tensor([1.0, 3.0]))
        tensor([0.5000, 1.5000])
        >>> normalize(torch.zeros(3))
        tensor([0., 0., 0.])
    """
    if mode not in NORMALIZE_MODES:
        raise ValueError(f"mode must be one of {NORMALIZE_MODES}, got {mode!r}")
    w = _as_float_tensor(w, "w")
    if w.dim() != 1:
        raise ValueError(
            f"w must be a 1-D tensor of per-example weights [B], got shape {tuple(w.shape)}"
        )
    if mode == "constant" and (
        isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 < c < math.inf
    ):
        raise ValueError(f"c must be a finite number > 0, got {c!r} — the MAIL code uses c=3")
    wd = w.detach()
    if checks.enabled() and not bool((torch.isfinite(wd) & (wd >= 0)).all()):  # a host sync
        raise ValueError(
            "weights must be finite and >= 0, got a negative, NaN or inf weight — "
            "for exp_kernel with a large alpha use importance() instead"
        )
    if mode == "none":
        return w
    if mode == "constant":
        return float(c) * w
    if w.numel() == 0:
        return w.clone()
    top = w.amax()
    scaled = w / torch.where(top > 0, top, torch.ones_like(top))  # max entry is exactly 1
    # Σ scaled ≥ 1 whenever some w > 0, so clamp_min(1) only acts on the all-zero batch (0/1 = 0).
    return w.shape[0] * scaled / scaled.sum().clamp_min(1.0)
