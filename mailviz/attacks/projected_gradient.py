"""PGD (Madry et al., 2018; MAIL appendix eq. 11): K signed steps projected on the L∞ ball."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mailviz.attacks._ascent import _sign_ascent
from mailviz.attacks._common import (
    LOSSES,
    AttackResult,
    _check_bool,
    _check_choice,
    _check_common,
    _check_inputs,
    _check_int,
    _eps,
    _eval_mode,
    _Guard,
    _objective,
    _positive,
)


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    step_size: float | Tensor,
    steps: int,
    *,
    loss: str = "ce",
    start: str = "uniform",
    restarts: int = 1,
    confidence: float = 0.0,
    record: bool = False,
    generator: torch.Generator | None = None,
    return_result: bool = False,
    final_logits: bool = True,
    init: Tensor | None = None,
    clamp_start: bool = True,
) -> Tensor | AttackResult:
    """Projected gradient descent in the L∞ ball (Madry et al.; MAIL appendix eq. 11).

    ``x^{(t+1)} = clip_[0,1](Π_{B∞(x,ε)}(x^{(t)} + α·sign(∇ Σ_i ℓ_i(x^{(t)}))))``, ``t = 0…K−1``,
    with one of three per-example losses:

    * ``"ce"``: ``ℓ_i = CE(f(x′_i), y_i)`` (AT, MART, GAIRAT training; PGD-k evaluation);
    * ``"cw"``: the CW-∞ margin loss ``ℓ_i = min(max_{j≠y} f_j(x′_i) − f_y(x′_i), κ_c)``, i.e.
      ``−max(MM_i, −κ_c)`` with MM the logit margin (eq. 15) and κ_c = ``confidence``; it stops
      pushing once an example is misclassified by κ_c. MAIL's "CW" evaluation is
      ``pgd(..., steps=20, loss="cw", confidence=50)``;
    * ``"kl"``: TRADES' ``ℓ_i = KL(p(x_i) ‖ p(x′_i))``; ``p(x)`` is computed once before the
      loop (TRADES' code recomputes it every step; it cannot change). KL has zero gradient at
      ``x′ = x``, so ``start="none"`` is refused; TRADES starts from ``"normal"``.

    Starts: ``"uniform"`` ``δ ~ U(−ε, ε)`` (Madry, MAIL/GAIRAT/Zeng evaluation), ``"normal"``
    ``x + 0.001·N(0, I)`` (TRADES/MAIL training code), ``"none"`` (``x`` itself); all are
    projected and clamped. ``init`` overrides ``start`` with an explicit start perturbation.

    Start clamp (a documented difference from the authors' code): by default the start is
    clamped to [0, 1] *before* the first gradient, so every point the model sees is an image.
    The MAIL, GAIRAT, TRADES and Zeng et al. codes take the first gradient at the unclamped
    ``x + δ^{(0)}`` (pixels below 0 or above 1) and clamp only after the first step;
    ``clamp_start=False`` reproduces that. Only pixels within ε of 0 or 1 can differ; lesson 09
    measures the effect on CE and KL attacks.

    Restarts: each example keeps its strongest restart — a misclassified final iterate beats a
    correct one; among restarts that agree on correctness, the larger final loss wins. With the
    same generator state, restart 1 is the single-restart run, so restarts never weaken it.

    κ (GAIRAT's least PGD steps) comes for free: the forward pass that gives the gradient at
    iterate ``t`` also gives its prediction, so ``κ_i = Σ_{t=0}^{K−1} 1[f(x_i^{(t)}) = y_i]``
    (:func:`mailviz.margins.least_pgd_steps`; the final iterate is never checked). With
    restarts, κ belongs to the kept restart.

    Cost: ``restarts × K`` forward+backward passes; plus one forward per restart for the final
    logits when ``return_result and final_logits``, ``record`` or ``restarts > 1``; plus one
    clean forward for ``loss="kl"``. A training step that only needs ``x_adv`` and κ calls
    ``pgd(..., return_result=True, final_logits=False)`` and pays exactly ``K`` passes.

    Args:
        model: classifier mapping inputs in [0, 1] to logits ``[B, classes]``.
        x: ``[B, ...]`` clean inputs in [0, 1] (not modified).
        y: ``[B]`` integer labels.
        eps: L∞ budget in (0, 1], float or ``[B]`` tensor.
        step_size: α > 0, float or ``[B]`` tensor.
        steps: K ≥ 1.
        loss: ``"ce"``, ``"cw"`` or ``"kl"``.
        start: ``"uniform"``, ``"normal"`` or ``"none"``.
        restarts: number of random restarts ≥ 1.
        confidence: κ_c ≥ 0 of the CW loss (ignored otherwise).
        record: store every iterate and its prediction (needs ``return_result=True``). With
            ``record=False`` nothing is stored or copied.
        generator: random source for the start, on ``x.device``; ``None`` uses the global RNG.
        return_result: return an :class:`AttackResult` instead of ``x_adv``.
        final_logits: with ``return_result``, spend the forward that fills ``logits``/``loss``.
        init: ``[B, ...]`` explicit start perturbation δ^{(0)} (projected and clamped); makes
            random-start runs reproducible example by example. Needs ``restarts=1``.
        clamp_start: clamp the start to [0, 1] before the first gradient (default); ``False``
            takes it at the unclamped start as the authors' codes do. The result is always
            clamped.

    Returns:
        ``x_adv`` ``[B, ...]``, or an :class:`AttackResult`.

    Shape:
        ``x``: ``[B, ...]``, ``y``: ``[B]`` → ``x_adv``: ``[B, ...]``; ``path``: ``[K+1, B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> res = pgd(model, x, y, eps=8 / 255, step_size=2 / 255, steps=10, return_result=True)
        >>> res.x_adv.shape, res.kappa.shape
        (torch.Size([8, 1, 2, 2]), torch.Size([8]))
    """
    y = _check_inputs(model, x, y)
    eps_b = _eps(eps, x)
    step_b = _positive(step_size, "step_size", x, "e.g. step_size=2/255 with eps=8/255")
    _check_int(steps, "steps", 1, "pass steps=10 for PGD-10")
    _check_choice(loss, "loss", LOSSES)
    _check_common(x, start, restarts, record, return_result, generator, init)
    if (not isinstance(confidence, (int, float)) or isinstance(confidence, bool)
            or not 0 <= confidence < math.inf):  # fmt: skip
        raise ValueError(f"confidence must be a float ≥ 0, got {confidence!r} (MAIL's CW uses 50)")
    if loss == "kl" and start == "none" and init is None:
        raise ValueError("the KL loss has zero gradient at x′ = x; use start='normal' (TRADES)")
    guard = _Guard(x, y)
    with _eval_mode(model):
        objective, ref = _objective(loss, float(confidence), model, x.detach())
        return _sign_ascent(
            model, x, y, eps_b, step_b, steps, objective, ref,
            start=start, restarts=restarts, record=record, generator=generator,
            return_result=return_result, final_logits=final_logits, init=init, guard=guard,
            clamp_start=_check_bool(clamp_start, "clamp_start"),
        )  # fmt: skip
