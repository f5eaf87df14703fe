"""PM vs MM (MAIL Table 5, notebook 02): the probabilistic and the logit margin side by side.

With ``j*`` the best other class and ``r = 1 − p_y − p_{j*}`` the probability left on the remaining
classes, the two margins are tied by the identity

    ``PM = (1 − r) · tanh(MM / 2)``,  ``MM = f_y − max_{j≠y} f_j`` (MAIL appendix eq. 15),

so they agree in sign and disagree in rank only through ``r`` and the saturation of tanh, i.e.
through the scale of the logits. :func:`margin_table` returns every term per example
(:func:`adversarial_margins` for a PGD-attacked set), :func:`margin_disagreement` the sign and
rank statistics, :func:`pm_envelope` the ``r = 0`` curve, and :func:`scale_sweep` what a
rescaling of the logits does to MAIL's sigmoid weights on either margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from mailviz import attacks, margins
from mailviz.studies._frames import _check_batch_size, _device_of, _subset

# --------------------------------------------------------------------------------------------
# PM vs MM
# --------------------------------------------------------------------------------------------


def margin_table(logits: Tensor, y: Tensor) -> pd.DataFrame:
    """Per example: PM, MM, the rest mass ``r`` and the logit scale, with PM rebuilt from MM.

    ``PM = p_y − p_{j*}`` (Def. 1), ``MM = f_y − f_{j*}`` (eq. 15) with the same best other class
    ``j*`` (softmax is monotone), ``rest = r = 1 − p_y − p_{j*}`` and ``pm_from_mm =
    (1 − r)·tanh(MM/2)``, which equals PM exactly: ``p_y − p_{j*} = (p_y + p_{j*})·(e^{MM} −
    1)/(e^{MM} + 1)``. ``logit_scale`` is the standard deviation of the example's logits.

    Args:
        logits: ``[B, K]``; y: ``[B]``.

    Returns:
        Frame with columns ``label, pm, mm, rest, pm_from_mm, logit_scale, correct``.

    Shape:
        ``logits [B, K]``, ``y [B]`` → ``B`` rows.

    Example:
        >>> t = margin_table(torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([0]))
        >>> round(float(t["pm"][0]), 4) == round(float(t["pm_from_mm"][0]), 4)
        True
    """
    logits = logits.detach().double().cpu()
    y = y.detach().cpu()
    pm = margins.probabilistic_margin(logits, y).double()
    mm = margins.logit_margin(logits, y).double()
    probs = torch.softmax(logits, dim=1)
    p_true = probs.gather(1, y.view(-1, 1)).squeeze(1)
    p_other = probs.scatter(1, y.view(-1, 1), -1.0).amax(dim=1)
    rest = (1.0 - p_true - p_other).clamp_min(0.0)
    frame = pd.DataFrame(
        dict(
            label=y.numpy(),
            pm=pm.numpy(),
            mm=mm.numpy(),
            rest=rest.numpy(),
            pm_from_mm=((1.0 - rest) * torch.tanh(mm / 2.0)).numpy(),
            logit_scale=logits.std(dim=1).numpy(),
            correct=(logits.argmax(dim=1) == y).numpy(),
        )
    )
    return frame


def pm_envelope(mm: Any) -> np.ndarray:
    """``tanh(MM/2)``: the PM an example with logit margin MM has when ``r = 0`` (two classes).

    Every example lies between this curve and 0 (``PM = (1 − r)·tanh(MM/2)``).

    Example:
        >>> float(pm_envelope(0.0))
        0.0
    """
    return np.tanh(np.asarray(mm, dtype=float) / 2.0)


def envelope_curve(mm: Any, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """``(grid, tanh(grid/2))`` over the range of ``mm``, to draw :func:`pm_envelope` on a plot."""
    values = np.asarray(mm, dtype=float).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("mm must be a non-empty array of finite logit margins")
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"points must be an integer >= 2, got {points!r}")
    grid = np.linspace(values.min(), values.max(), points)
    return grid, pm_envelope(grid)


def margin_disagreement(frame: pd.DataFrame) -> pd.Series:
    """How PM and MM of the same examples agree: in sign, in rank, and where pairs swap.

    From a :func:`margin_table` frame:

    * ``sign_agreement``: share of examples where ``sign(PM) = sign(MM)`` (1 by the identity);
    * ``spearman``, ``kendall_tau``: rank agreement over all examples;
    * ``discordant_pairs``: share of example pairs that PM and MM put in opposite order, and the
      same among correctly classified (``discordant_correct``) and misclassified
      (``discordant_misclassified``) pairs. By the identity a pair can only swap when the example
      with the larger |MM| has the larger rest mass ``r``;
    * ``mean_rest``: mean of ``r = 1 − p_y − p_{j*}`` — how far below ``tanh(MM/2)`` PM sits;
    * ``identity_error``: ``max |PM − (1 − r)·tanh(MM/2)|``.

    Example:
        >>> table = margin_table(torch.randn(50, 2), torch.randint(0, 2, (50,)))
        >>> float(margin_disagreement(table)["discordant_pairs"])  # two classes: r = 0
        0.0
    """
    from scipy.stats import kendalltau, spearmanr

    for column in ("pm", "mm", "rest", "pm_from_mm", "correct"):
        if column not in frame.columns:
            raise ValueError(f"frame needs column {column!r}; build it with margin_table")
    pm, mm = frame["pm"].to_numpy(float), frame["mm"].to_numpy(float)
    if pm.size < 3:
        raise ValueError(f"need at least 3 examples to compare rankings, got {pm.size}")
    correct = frame["correct"].to_numpy(bool)

    def discordant(sel: np.ndarray) -> float:
        p, q = pm[sel], mm[sel]
        if p.size < 2:
            return math.nan
        swap = np.sign(p[:, None] - p[None, :]) != np.sign(q[:, None] - q[None, :])
        return float(swap[np.triu_indices(p.size, k=1)].mean())

    everyone = np.ones(pm.size, dtype=bool)
    return pd.Series(
        dict(
            n=float(pm.size),
            sign_agreement=float((np.sign(pm) == np.sign(mm)).mean()),
            spearman=float(spearmanr(pm, mm).statistic),
            kendall_tau=float(kendalltau(pm, mm).statistic),
            discordant_pairs=discordant(everyone),
            discordant_correct=discordant(correct),
            discordant_misclassified=discordant(~correct),
            mean_rest=float(frame["rest"].mean()),
            identity_error=float(np.abs(pm - frame["pm_from_mm"].to_numpy(float)).max()),
        )
    )


def adversarial_logits(
    model: nn.Module,
    data: Any,
    eps: float,
    *,
    steps: int = 20,
    step_size: float | None = None,
    n: int | None = None,
    batch_size: int = 500,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Logits ``f(x′)`` (eval mode, CPU) of the PGD-``steps`` adversarial examples, and labels.

    PGD on the cross-entropy from a uniform start (:func:`mailviz.attacks.pgd`, eq. 11) with
    ``step_size`` (default ``ε/4``), in batches, random starts from a generator seeded with
    ``seed``.

    Returns:
        ``(logits [N, classes], labels [N])``.

    Shape:
        ``data`` of ``N`` examples (first ``n``) → ``[N, classes]``, ``[N]``.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    batch_size = _check_batch_size(batch_size)
    x_all, y_all = _subset(data, n)
    device = _device_of(model)
    gen = torch.Generator(device=device).manual_seed(seed)
    step = eps / 4 if step_size is None else step_size
    logits = []
    for start in range(0, len(y_all), batch_size):
        x = x_all[start : start + batch_size].to(device)
        y = y_all[start : start + batch_size].to(device)
        res = attacks.pgd(model, x, y, eps, step, steps, generator=gen, return_result=True)
        assert isinstance(res, attacks.AttackResult) and res.logits is not None
        logits.append(res.logits.float().cpu())
    return torch.cat(logits), y_all.cpu()


def adversarial_margins(model: nn.Module, data: Any, eps: float, **kwargs: Any) -> pd.DataFrame:
    """:func:`margin_table` of :func:`adversarial_logits` (same arguments), plus ``example``.

    PM and MM are read from the *same* logits ``f(x′)``, so every difference between them is a
    difference of the margins, not of the attack.
    """
    frame = margin_table(*adversarial_logits(model, data, eps, **kwargs))
    frame.insert(0, "example", np.arange(len(frame)))
    return frame


def scale_sweep(
    logits: Tensor,
    y: Tensor,
    temperatures: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    *,
    gamma: float = 2.0,
    beta: float = 0.0,
) -> pd.DataFrame:
    """What a rescaling of the logits ``f → T·f`` does to PM, MM and MAIL's sigmoid weights.

    For each ``T`` and margin (PM, MM) of the logits ``T·f``: the spread of the margin (5th and
    95th percentile), its Spearman ρ with the same margin at ``T = 1`` (MM's ranking is invariant:
    it scales linearly), and the weights ``w = sigmoid(−γ(m − β))`` normalised over the whole set
    (``ω = N·w/Σw``, Alg. 2–4 lines 9–11 with the set as the batch): effective sample size
    ``(Σω)²/(N·Σω²)`` and share of the weight on misclassified examples. The rescaling is what
    training does to the logits' scale; a margin whose weights swing with it makes ``γ, β`` mean
    different things at different times.

    Returns:
        One row per (T, margin): ``temperature, margin, p05, p95, spearman_vs_T1, ess,
        weight_on_misclassified``.

    Example:
        >>> sweep = scale_sweep(torch.randn(100, 10), torch.randint(0, 10, (100,)))
        >>> bool((sweep[sweep.margin == "MM"]["spearman_vs_T1"] > 0.999).all())
        True
    """
    from scipy.stats import spearmanr

    from mailviz import weights

    temps = [float(t) for t in temperatures]
    if not temps or not all(t > 0 and math.isfinite(t) for t in temps):
        raise ValueError(f"temperatures must be finite and > 0, got {list(temperatures)}")
    logits = logits.detach().double().cpu()
    y = y.detach().cpu()
    wrong = (logits.argmax(dim=1) != y).numpy()
    base = {
        "PM": margins.probabilistic_margin(logits, y).double().numpy(),
        "MM": margins.logit_margin(logits, y).double().numpy(),
    }
    rows = []
    for t in temps:
        scaled = t * logits
        for name, fn in (("PM", margins.probabilistic_margin), ("MM", margins.logit_margin)):
            m = fn(scaled, y).double()
            omega = weights.normalize(weights.sigmoid(m, gamma, beta), "batch").numpy()
            values = m.numpy()
            rows.append(
                dict(
                    temperature=t,
                    margin=name,
                    p05=float(np.quantile(values, 0.05)),
                    p95=float(np.quantile(values, 0.95)),
                    spearman_vs_T1=float(spearmanr(values, base[name]).statistic),
                    ess=float(omega.sum() ** 2 / (len(omega) * (omega**2).sum())),
                    weight_on_misclassified=float(omega[wrong].sum() / omega.sum()),
                )
            )
    return pd.DataFrame(rows)
