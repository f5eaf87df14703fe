r"""MAIL's margin claims: κ depends on the PGD path (01), PM vs MM (02), weight functions (03)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mailviz.claims.core import replicate_estimates
from mailviz.claims.mail_tables import _MAIL
from mailviz.claims.record import Claim, comparison, invariant

# --------------------------------------------------------------------------------------------
# Lesson 01: κ depends on the path, PM much less
# --------------------------------------------------------------------------------------------


def _spearman_mean(values: np.ndarray) -> np.ndarray:
    """Mean pairwise Spearman ρ between the settings: ``values [R, S, N]`` → ``[R]``."""
    from scipy.stats import rankdata

    ranks = rankdata(values, axis=-1)
    centred = ranks - ranks.mean(axis=-1, keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.einsum("rsn,rtn->rst", centred, centred) / (norm[:, :, None] * norm[:, None, :])
    s = values.shape[1]
    off = ~np.eye(s, dtype=bool)
    return np.nanmean(corr[:, off], axis=1)


def path_claims(tables: Mapping[int, pd.DataFrame], *, lesson: str = "01") -> list[Claim]:
    """MAIL §3: κ of a fixed example changes with the attack's path, PM ranks more stably.

    ``tables`` maps each replicate seed to :func:`mailviz.analysis.kappa_pm_table` of its model
    (the same five settings). Claims: the share of examples whose κ changes under a new random
    start, and under each other step size, is above zero; the mean pairwise Spearman ρ of PM
    across the settings exceeds κ's.
    """
    seeds = sorted(tables)
    settings = list(dict.fromkeys(tables[seeds[0]]["setting"]))

    def wide(value: str) -> np.ndarray:
        return np.stack(
            [
                tables[s]
                .pivot(index="setting", columns="example", values=value)
                .loc[settings]
                .to_numpy(dtype=np.float64)
                for s in seeds
            ]
        )  # [R, S, N]

    kappa, pm = wide("kappa"), wide("pm")
    n = kappa.shape[2]

    def stats(idx: np.ndarray) -> np.ndarray:
        k = kappa[:, :, idx]
        changed = (k[:, 1:, :] != k[:, :1, :]).mean(axis=2)  # [R, S-1] vs the reference
        rho_gap = _spearman_mean(pm[:, :, idx]) - _spearman_mean(k)
        return np.concatenate([changed, rho_gap[:, None]], axis=1)

    ests = replicate_estimates(stats, n)
    claims = [
        comparison(
            f"mail.path.changed.{i}",
            lesson,
            f"{_MAIL} §3 (path dependency of κ)",
            f"κ of a fixed example changes when only the attack changes: {settings[0]} → {name}",
            est,
            unit="share",
            decimals=3,
            paper="κ depends on the start and the step size",
        )
        for i, (name, est) in enumerate(zip(settings[1:], ests[:-1], strict=True), start=1)
    ]
    claims.append(comparison(
        "mail.path.pm_ranks_better", lesson, f"{_MAIL} §3",
        "PM ranks the examples more consistently across the attack settings than κ "
        "(mean pairwise Spearman ρ, PM minus κ)", ests[-1], unit="Spearman ρ", decimals=3,
        paper="PM is the more reliable measure",
    ))  # fmt: skip
    return claims


# --------------------------------------------------------------------------------------------
# Lesson 02: PM vs MM
# --------------------------------------------------------------------------------------------


def margin_claims(
    agreements: Mapping[int, pd.Series],
    omega: pd.DataFrame,
    sweeps: Mapping[int, pd.DataFrame],
    *,
    lesson: str = "02",
) -> list[Claim]:
    """Lesson 02's own analysis of Table 5: the identity, and MM's more concentrated weights.

    Args:
        agreements: seed → :func:`mailviz.analysis.margin_disagreement` of that replicate.
        omega: :func:`mailviz.analysis.weights_by` frame with ``seed`` and ``margin_used``
            (``PM``/``MM``) columns: MAIL-TRADES' ω on the training set under each objective.
        sweeps: seed → :func:`mailviz.analysis.scale_sweep`.
    """
    seeds = sorted(agreements)
    sign = min(float(agreements[s]["sign_agreement"]) for s in seeds)
    err = max(float(agreements[s]["identity_error"]) for s in seeds)
    claims = [
        invariant("mail.pm_mm.sign", lesson, "PM and MM agree in sign on every example",
                  sign == 1.0, detail=f"lowest share {sign:.4f} over {len(seeds)} replicates"),
        invariant("mail.pm_mm.identity", lesson, "PM = (1 − r)·tanh(MM/2) to rounding",
                  err < 1e-6, detail=f"largest error {err:.1e}"),
    ]  # fmt: skip
    ess_t = [bool((sweeps[s].pivot(index="temperature", columns="margin", values="ess")
                   .pipe(lambda t: t["MM"] < t["PM"])).all()) for s in seeds]  # fmt: skip
    claims.append(invariant(
        "mail.pm_mm.sweep", lesson, "with the same γ, β, MM's weights have the smaller effective "
        "sample size at every logit scale of the sweep (every replicate)", all(ess_t),
        detail=f"{sum(ess_t)} of {len(ess_t)} replicates", source="this lesson's sweep",
    ))  # fmt: skip
    w = {
        m: np.stack(
            [
                omega[(omega["margin_used"] == m) & (omega["seed"] == s)]["weight"].to_numpy(
                    dtype=np.float64
                )
                for s in seeds
            ]
        )
        for m in ("PM", "MM")
    }
    wrong = {
        m: np.stack(
            [
                ~omega[(omega["margin_used"] == m) & (omega["seed"] == s)]["correct"].to_numpy(
                    dtype=bool
                )
                for s in seeds
            ]
        )
        for m in ("PM", "MM")
    }

    def stats(idx: np.ndarray) -> np.ndarray:
        def ess(x: np.ndarray) -> np.ndarray:
            return x.sum(1) ** 2 / (x.shape[1] * (x**2).sum(1))

        def share(m: str) -> np.ndarray:
            x = w[m][:, idx]
            return (x * wrong[m][:, idx]).sum(1) / x.sum(1)

        return np.stack([ess(w["PM"][:, idx]) - ess(w["MM"][:, idx]),
                         share("MM") - share("PM")], axis=1)  # fmt: skip

    ess_gap, share_gap = replicate_estimates(stats, w["PM"].shape[1])
    claims.append(comparison(
        "mail.pm_mm.ess", lesson, f"{_MAIL} Table 5 (reading)",
        "inside MAIL-TRADES' objective MM concentrates the weights more than PM (effective "
        "sample size of ω on the training x′, PM minus MM)", ess_gap, unit="share of N",
        decimals=3, paper="PM's bounded scale gives steadier weights",
    ))  # fmt: skip
    claims.append(comparison(
        "mail.pm_mm.misclassified", lesson, f"{_MAIL} Table 5 (reading)",
        "MM puts more of the weight mass on misclassified x′ than PM (MM minus PM)",
        share_gap, unit="share", decimals=3,
    ))  # fmt: skip
    return claims


# --------------------------------------------------------------------------------------------
# Lesson 03: weight functions on a real adversarial test set
# --------------------------------------------------------------------------------------------


def weight_function_claims(
    runs: Mapping[int, pd.DataFrame],
    *,
    gamma: float = 10.0,
    beta: float = -0.5,
    lesson: str = "03",
) -> list[Claim]:
    """MAIL Table 6's reading: the hinge ignores the misclassified examples, the sigmoid does not.

    ``runs`` maps each replicate seed to :func:`mailviz.evaluate.per_example` of its AT model
    (PGD-20). Invariants: the sigmoid falls with PM; the hinge is exactly zero below β. Claims:
    the sigmoid puts more of the weight mass on misclassified examples than the hinge, and more
    than uniform weights would.
    """
    import torch

    from mailviz import weights

    seeds = sorted(runs)
    pm = np.stack([runs[s]["margin"].to_numpy(dtype=np.float64) for s in seeds])
    wrong = np.stack([~runs[s]["correct"].to_numpy(dtype=bool) for s in seeds])
    grid = torch.linspace(-1, 1, 201, dtype=torch.float64)
    curve = weights.sigmoid(grid, gamma, beta).numpy()
    sig = weights.sigmoid(torch.from_numpy(pm), gamma, beta).numpy()
    hinge = weights.hinge(torch.from_numpy(pm), gamma, beta).numpy()
    claims = [
        invariant("mail.weights.sigmoid_falls", lesson, "the sigmoid weight is strictly "
                  "decreasing in PM", bool((np.diff(curve) < 0).all())),
        invariant("mail.weights.hinge_zero", lesson, f"the hinge gives exactly zero weight to "
                  f"every example with PM < β = {beta:g}, and positive weight above",
                  bool((hinge[pm < beta] == 0).all() and (hinge[pm > beta] > 0).all())),
    ]  # fmt: skip

    def share(w: np.ndarray, idx: np.ndarray) -> np.ndarray:
        x = w[:, idx]
        total = x.sum(1)
        return np.where(total > 0, (x * wrong[:, idx]).sum(1) / np.where(total > 0, total, 1), 0)

    def stats(idx: np.ndarray) -> np.ndarray:
        s_sig = share(sig, idx)
        return np.stack([s_sig - share(hinge, idx), s_sig - wrong[:, idx].mean(1)], axis=1)

    vs_hinge, vs_uniform = replicate_estimates(stats, pm.shape[1])
    claims.append(comparison(
        "mail.weights.sigmoid_vs_hinge", lesson, f"{_MAIL} Table 6 (reading)",
        f"the sigmoid (γ = {gamma:g}, β = {beta:g}) puts more of the weight mass on "
        "misclassified x′ than the hinge with the same γ, β", vs_hinge, unit="share",
        decimals=3, paper="the hinge ignores the most vulnerable examples",
    ))  # fmt: skip
    claims.append(comparison(
        "mail.weights.sigmoid_vs_uniform", lesson, f"{_MAIL} Alg. 2",
        "the sigmoid puts more of the weight mass on misclassified x′ than uniform weights",
        vs_uniform, unit="share", decimals=3,
    ))  # fmt: skip
    return claims


# --------------------------------------------------------------------------------------------
# Lesson 06: Tables 4, 6, 7 and the weights at the end of training
# --------------------------------------------------------------------------------------------


def tilt_claims(omega: pd.DataFrame, uniform: Sequence[str], reweighting: Sequence[str], *,
                column: str = "method", lesson: str = "06") -> list[Claim]:  # fmt: skip
    """The weights at the end of training: uniform methods give ω = 1 exactly (invariant); each
    reweighting method puts more than its share of the weight mass on misclassified x′."""
    flat = omega[omega[column].isin(uniform)]
    ones = bool((flat["weight"] == 1.0).all())
    claims = [invariant("mail.tilt.uniform", lesson, f"{', '.join(uniform)} give every example "
                        "ω = 1", ones, source="the objectives")]  # fmt: skip
    for method in reweighting:
        sel = omega[omega[column] == method]
        seeds = sorted(set(sel["seed"]))
        w = np.stack([sel[sel["seed"] == s]["weight"].to_numpy(dtype=np.float64) for s in seeds])
        wrong = np.stack([~sel[sel["seed"] == s]["correct"].to_numpy(dtype=bool) for s in seeds])

        def stats(idx: np.ndarray, w: np.ndarray = w, wrong: np.ndarray = wrong) -> np.ndarray:
            x = w[:, idx]
            return (x * wrong[:, idx]).sum(1) / x.sum(1) - wrong[:, idx].mean(1)

        (est,) = replicate_estimates(stats, w.shape[1])
        claims.append(comparison(
            f"mail.tilt.{method}", lesson, f"{_MAIL} Alg. 2–3 / GAIRAT",
            f"{method} puts more of the weight mass on misclassified training x′ than their "
            "share (weight share minus example share)", est, unit="share", decimals=3,
        ))  # fmt: skip
    return claims
