"""Evaluation: accuracy under attack, non-uniform accuracies, DRO χ², weight distributions → pandas.

Everything here attacks a whole test set (or its first ``n`` examples) in mini-batches through one
internal routine, collects the logits of the final inputs, and turns them into tidy
``pandas.DataFrame`` rows that the notebooks plot (:mod:`mailviz.plots`) and cache
(:func:`save_results`, :func:`cached_eval`).

* :func:`evaluate` — NAT / PGD-k / CW-k / AutoAttack accuracy (%), the columns of MAIL's tables.
* :func:`nonuniform_accuracy` — Zeng et al.'s weighted accuracy ``Σ_i s̃_i·1[correct_i]`` (%).
* :func:`nonuniform_report` — ``A_rob``, ``A_sa``, ``A_tr`` (Zeng et al. eq. 17–19) per α_test.
* :func:`weight_distribution` — the per-example ``s̃`` behind Zeng et al.'s Figs. 5–7.
* :func:`per_example` — margins, losses and correctness of every example after an attack.
* :func:`dro_chi2`, :func:`dro_curve` — the worst-case χ²-reweighted loss of Zeng et al. eq. 28
  (their Fig. 4), solved exactly.
* :func:`save_results`, :func:`load_results`, :func:`cached_eval` — CSV + JSON results keyed by a
  hash of the evaluation settings, written atomically.

Conventions: accuracies are percentages in [0, 100]; margins are probabilistic margins
``PM = p_y − max_{j≠y} p_j`` of the evaluated model at the final (adversarial) input; the model is
evaluated in eval mode and every module's ``training`` flag is restored afterwards.

Default PGD step size: ``2.5·ε / steps`` (Madry et al.'s rule: K steps can travel 2.5·ε). For
Zeng et al.'s ε = 0.031 and 20 steps this is 0.0039 (they used 0.0031, ε/10); MAIL's code used
0.003. Pass ``step_size`` to reproduce a paper exactly.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz import attacks as attack_lib
from mailviz import checks, weights
from mailviz.checkpoint import atomic_write
from mailviz.margins import logit_margin, probabilistic_margin

__all__ = [
    "ATTACK_GRAMMAR",
    "CW_CONFIDENCE",
    "AttackSpec",
    "DROResult",
    "parse_attack",
    "default_step_size",
    "evaluate",
    "nonuniform_accuracy",
    "nonuniform_report",
    "weight_distribution",
    "per_example",
    "dro_chi2",
    "dro_curve",
    "results_hash",
    "save_results",
    "load_results",
    "cached_eval",
]

#: The attack-spec grammar accepted by :func:`evaluate` (shown in its error message).
ATTACK_GRAMMAR = "nat | pgdK | cwK | aa | aa-fast (K = steps, e.g. pgd20, cw20, pgd100)"
#: κ_c of the CW margin loss in the ``cwK`` attack, as in MAIL's evaluation code.
CW_CONFIDENCE = 50.0

_SPEC_RE = re.compile(r"^(?:(nat)|(pgd|cw)([1-9][0-9]*)|(aa)(-fast)?)$")

AttackFn = Callable[[nn.Module, Tensor, Tensor], "Tensor | attack_lib.AttackResult"]


# --------------------------------------------------------------------------------------------
# Attack specs and argument checks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttackSpec:
    """A parsed attack spec: ``kind`` is ``"nat"``, ``"pgd"``, ``"cw"`` or ``"aa"``."""

    name: str
    kind: str
    steps: int | None = None
    version: str | None = None  # AutoAttack: "standard" or "fast"


def parse_attack(spec: str) -> AttackSpec:
    """Parse an attack spec string of :data:`ATTACK_GRAMMAR`.

    * ``"nat"``: clean inputs;
    * ``"pgdK"``: K-step PGD on the cross-entropy (uniform start);
    * ``"cwK"``: K-step PGD on the CW margin loss ``min(max_{j≠y} f_j − f_y, κ_c)`` with
      ``κ_c = 50`` (:data:`CW_CONFIDENCE`, MAIL's evaluation code);
    * ``"aa"``: standard AutoAttack; ``"aa-fast"``: the cheaper APGD-only screen of
      :func:`mailviz.attacks.autoattack`.

    Example:
        >>> parse_attack("pgd20")
        AttackSpec(name='pgd20', kind='pgd', steps=20, version=None)
    """
    text = spec.strip().lower() if isinstance(spec, str) else ""
    match = _SPEC_RE.match(text)
    if match is None:
        raise ValueError(f"unknown attack spec {spec!r}; grammar: {ATTACK_GRAMMAR}")
    nat, family, steps, aa, fast = match.groups()
    if nat:
        return AttackSpec("nat", "nat")
    if family:
        return AttackSpec(text, family, int(steps))
    assert aa
    return AttackSpec(text, "aa", version="fast" if fast else "standard")


def default_step_size(eps: float, steps: int) -> float:
    """``2.5·ε / steps`` — the step size used when ``step_size=None``.

    Example:
        >>> round(default_step_size(0.031, 20), 6)
        0.003875
    """
    return 2.5 * eps / steps


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _values(value: Any) -> list[Any]:
    """A number (or a one-element tensor) as a one-element list; a sequence as a list."""
    if isinstance(value, Tensor):
        return [float(v) for v in value.detach().cpu().reshape(-1).tolist()]
    if _is_real(value) or isinstance(value, (str, bytes)):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def _check_eps(eps: float | Sequence[float] | None, needed: bool = True) -> list[float]:
    if eps is None:
        if needed:
            raise ValueError("eps is required for adversarial attacks — pass e.g. eps=8/255")
        return []
    values = _values(eps)
    if not values:
        raise ValueError("eps must be a float or a non-empty sequence of floats, e.g. eps=8/255")
    for e in values:
        if not _is_real(e) or not 0 < e <= 1:
            raise ValueError(f"eps must be in (0, 1] (pixel scale), got {e!r} — e.g. eps=8/255")
    return [float(e) for e in values]


def _check_alphas(alphas: float | Sequence[float]) -> list[float]:
    values = _values(alphas)
    if not values:
        raise ValueError("alphas_test must be a float or a non-empty list, e.g. [0, 1, 2, 3]")
    for a in values:
        if not _is_real(a) or not math.isfinite(a):
            raise ValueError(f"alpha_test must be a finite float, got {a!r} — e.g. [0, 1, 2]")
    return [float(a) for a in values]


def _check_positive_int(value: object, name: str, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r} — {hint}")
    return value


def _check_step_size(step_size: float | None) -> float | None:
    if step_size is None:
        return None
    if not _is_real(step_size) or not 0 < step_size < math.inf:
        raise ValueError(f"step_size must be > 0 or None (2.5·eps/steps), got {step_size!r}")
    return float(step_size)


def _check_loss(loss: str) -> str:
    if loss not in ("ce", "cw"):
        raise ValueError(f"loss must be 'ce' (PGD) or 'cw' (PGD-margin), got {loss!r}")
    return loss


# --------------------------------------------------------------------------------------------
# The one routine that attacks a whole set in batches
# --------------------------------------------------------------------------------------------


@dataclass
class _Collected:
    """Final logits of every example (CPU), labels and GAIRAT κ (when the attack gave it)."""

    logits: Tensor  # [N, classes] float32 (float64 for a float64 model)
    labels: Tensor  # [N] int64
    kappa: Tensor | None  # [N] int64

    @property
    def correct(self) -> Tensor:
        return self.logits.argmax(dim=1) == self.labels

    @property
    def margin(self) -> Tensor:
        return probabilistic_margin(self.logits, self.labels)

    @property
    def accuracy(self) -> float:
        return 100.0 * float(self.correct.double().mean())


def _model_device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if device is not None:
        from mailviz.config import resolve_device

        dev = resolve_device(device)
        model.to(dev)
        return dev
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def _batches(dataset: Any, batch_size: int, n: int | None) -> Iterator[tuple[Tensor, Tensor]]:
    """Mini-batches of an ImageDataset-like object (``.batches``) or an ``(x, y)`` pair."""
    _check_positive_int(batch_size, "batch_size", "e.g. batch_size=500")
    if n is not None:
        _check_positive_int(n, "n", "pass n=None for the whole set")
    if hasattr(dataset, "batches"):
        source: Iterator[tuple[Tensor, Tensor]] = dataset.batches(batch_size)
    elif isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        xs, ys = dataset
        starts = range(0, len(ys), batch_size)
        source = ((xs[i : i + batch_size], ys[i : i + batch_size]) for i in starts)
    else:
        raise ValueError(
            f"dataset must be an ImageDataset (mailviz.data.load_dataset) or an (x, y) pair, "
            f"got {type(dataset).__name__}"
        )
    seen = 0
    for x, y in source:
        if n is not None and seen + len(y) > n:
            x, y = x[: n - seen], y[: n - seen]
        if len(y):
            yield x, y
        seen += len(y)
        if n is not None and seen >= n:
            return


def _collect(
    model: nn.Module,
    dataset: Any,
    attack: AttackFn | None,
    *,
    batch_size: int,
    device: torch.device,
    n: int | None,
) -> _Collected:
    """Attack every batch (``attack=None``: clean inputs) and keep the final logits on the CPU.

    ``attack(model, x, y)`` returns ``x_adv`` or an :class:`~mailviz.attacks.AttackResult`
    (whose logits are reused instead of a second forward). The model is in eval mode for the
    whole pass and every module's training flag is restored afterwards.
    """
    modules = list(model.modules())
    flags = [m.training for m in modules]
    logits_all: list[Tensor] = []
    labels_all: list[Tensor] = []
    kappa_all: list[Tensor] | None = []
    try:
        model.eval()
        for x, y in _batches(dataset, batch_size, n):
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            result = None if attack is None else attack(model, x, y)
            kappa = None
            if isinstance(result, attack_lib.AttackResult):
                kappa = result.kappa
                logits = result.logits
                if logits is None:
                    with torch.no_grad():
                        logits = model(result.x_adv)
            else:
                with torch.no_grad():
                    logits = model(x if result is None else result)
            logits_all.append(checks.upcast(logits.detach()).cpu())
            labels_all.append(y.detach().cpu())
            if kappa is None or kappa_all is None:
                kappa_all = None
            else:
                kappa_all.append(kappa.detach().cpu())
    finally:
        for module, flag in zip(modules, flags, strict=True):
            module.training = flag
    if not logits_all:
        raise ValueError("the dataset is empty — nothing to evaluate")
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in logits_all) else torch.float32
    collected = _Collected(
        logits=torch.cat([t.to(dtype) for t in logits_all]),
        labels=torch.cat(labels_all).long(),
        kappa=None if kappa_all is None else torch.cat(kappa_all),
    )
    # the clean pass (and a custom attack) never went through an attack's checks: an accuracy of
    # NaN logits, or of labels the model cannot predict, would be silently wrong
    checks.check_logits(collected.logits, collected.labels, "the model's logits")
    return collected


def _generator(device: torch.device, seed: int) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    return torch.Generator(device=device).manual_seed(seed)


def _pgd_attack(
    eps: float,
    steps: int,
    step_size: float | None,
    *,
    loss: str = "ce",
    alpha: float | None = None,
    restarts: int = 1,
    generator: torch.Generator | None = None,
) -> AttackFn:
    """PGD (``alpha=None``; CE or CW with κ_c = 50) or Zeng's weighted PGD with ``alpha``."""
    step = default_step_size(eps, steps) if step_size is None else step_size

    def run(model: nn.Module, x: Tensor, y: Tensor) -> attack_lib.AttackResult:
        if alpha is not None:
            return attack_lib.weighted_pgd(
                model, x, y, eps, step, steps, alpha,
                restarts=restarts, generator=generator, return_result=True,
            )  # fmt: skip
        return attack_lib.pgd(
            model, x, y, eps, step, steps, loss=loss, restarts=restarts,
            confidence=CW_CONFIDENCE if loss == "cw" else 0.0,
            generator=generator, return_result=True,
        )  # fmt: skip

    return run


def _aa_attack(eps: float, version: str, batch_size: int, seed: int) -> AttackFn:
    def run(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        return attack_lib.autoattack(
            model, x, y, eps, version=version, batch_size=batch_size, seed=seed
        )

    return run


# --------------------------------------------------------------------------------------------
# Uniform accuracy: NAT / PGD / CW / AA
# --------------------------------------------------------------------------------------------


def evaluate(
    model: nn.Module,
    dataset: Any,
    attacks: Sequence[str] = ("nat", "pgd20", "cw20", "aa-fast"),
    eps: float | Sequence[float] | None = None,
    *,
    step_size: float | None = None,
    restarts: int = 1,
    batch_size: int = 500,
    n: int | None = None,
    device: str | torch.device | None = None,
    model_name: str = "model",
    seed: int = 0,
) -> pd.DataFrame:
    """Accuracy (%) under each attack: ``A = (100/N)·Σ_i 1[f(x′_i) = y_i]`` (Zeng et al. eq. 17).

    The uniform robust accuracy ``A_rob`` (and NAT for clean inputs). Attack
    specs follow :data:`ATTACK_GRAMMAR`: ``nat``; ``pgdK`` (CE loss, K steps, uniform start);
    ``cwK`` (CW margin loss with confidence κ_c = 50, as MAIL's "CW" column); ``aa`` (standard
    AutoAttack, MAIL's "AA" column); ``aa-fast`` (APGD-CE + APGD-T, 50 iterations: a screen, not
    comparable with published AA numbers). PGD and CW use ``step_size`` or ``2.5·ε/K`` and keep
    the strongest of ``restarts`` random starts per example.

    Args:
        model: classifier on inputs in [0, 1]; evaluated in eval mode, its flags restored.
        dataset: an :class:`~mailviz.data.ImageDataset` (``.batches``) or an ``(x, y)`` pair.
        attacks: attack specs.
        eps: L∞ budget(s) in (0, 1]; a list gives one row per budget and attack. Not needed when
            ``attacks`` is only ``("nat",)``.
        step_size: PGD/CW step size; ``None`` gives ``2.5·eps/K``.
        restarts: random restarts of PGD/CW.
        batch_size: examples attacked at once.
        n: evaluate the first ``n`` examples only (``None``: all).
        device: ``None`` uses the model's device; otherwise the model is moved there.
        model_name: value of the ``model`` column.
        seed: seeds the random starts (a generator on the device) and AutoAttack.

    Returns:
        Tidy frame with columns ``model, attack, eps, metric, value``: one row per (attack, ε)
        with ``metric = "accuracy"`` and ``value`` in %. ``nat`` appears once, with ``eps = 0``.

    Example:
        >>> test = load_dataset("digits", "test")
        >>> evaluate(model, test, ("nat", "pgd20"), eps=0.2)  # doctest: +SKIP
           model attack  eps    metric  value
        0  model    nat  0.0  accuracy  97.04
        1  model  pgd20  0.2  accuracy  55.19
    """
    if isinstance(attacks, str):
        attacks = (attacks,)
    specs = [parse_attack(a) for a in attacks]
    if not specs:
        raise ValueError(f"attacks must name at least one attack; grammar: {ATTACK_GRAMMAR}")
    eps_values = _check_eps(eps, needed=any(s.kind != "nat" for s in specs))
    step_size = _check_step_size(step_size)
    _check_positive_int(restarts, "restarts", "pass restarts=1 for a single run")
    dev = _model_device(model, device)
    _generator(dev, seed)  # validates seed up front
    rows: list[dict[str, Any]] = []
    for spec in dict.fromkeys(specs):  # keep order, drop duplicates
        for e in [0.0] if spec.kind == "nat" else eps_values:
            if spec.kind == "nat":
                fn = None
            elif spec.kind == "aa":
                assert spec.version is not None
                fn = _aa_attack(e, spec.version, batch_size, seed)
            else:
                assert spec.steps is not None
                fn = _pgd_attack(
                    e, spec.steps, step_size, loss="ce" if spec.kind == "pgd" else "cw",
                    restarts=restarts, generator=_generator(dev, seed),
                )  # fmt: skip
            got = _collect(model, dataset, fn, batch_size=batch_size, device=dev, n=n)
            rows.append(
                dict(model=model_name, attack=spec.name, eps=e, metric="accuracy",
                     value=got.accuracy)
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "attack", "eps", "metric", "value"])


# --------------------------------------------------------------------------------------------
# Non-uniform accuracies (Zeng et al. eq. 17–19)
# --------------------------------------------------------------------------------------------


def _as_array(values: Any, name: str) -> np.ndarray:
    """``values`` (tensor, array, Series, list) as a non-empty 1-D NumPy array."""
    if isinstance(values, Tensor):
        arr = values.detach().cpu()
        arr = (arr.double() if arr.dtype in (torch.bfloat16, torch.float16) else arr).numpy()
    else:
        try:
            arr = np.asarray(values)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{name} must be a 1-D array [N], got {type(values).__name__} "
                             f"({err})") from None  # fmt: skip
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array [N] (one entry per example), got shape "
            f"{tuple(arr.shape)} — flatten it yourself if that is what you mean"
        )
    return arr


def _as_bool(values: Any, name: str = "correct") -> np.ndarray:
    """A 1-D boolean array, e.g. ``pred == y``; 0/1 integers and floats are refused."""
    arr = _as_array(values, name)
    if arr.dtype != np.bool_:
        raise ValueError(
            f"{name} must be a boolean 1-D array (True where the prediction is right), got dtype "
            f"{arr.dtype} — e.g. {name} = logits.argmax(1) == y"
        )
    return arr


def _as_real(values: Any, name: str) -> np.ndarray:
    """A 1-D float64 array of finite real numbers (booleans and strings are refused)."""
    arr = _as_array(values, name)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating)
                                     or np.issubdtype(arr.dtype, np.integer)):  # fmt: skip
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if checks.enabled() and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; got NaN or inf — check the logits")
    return arr


def _as_tensor(values: Any, name: str) -> Tensor:
    if name == "correct":
        return torch.from_numpy(_as_bool(values, name))
    return torch.from_numpy(_as_real(values, name))


def nonuniform_accuracy(correct: Any, margins: Any, alpha: float) -> float:
    """Zeng et al.'s weighted accuracy ``A = 100·Σ_i s̃_i·1[correct_i]`` in %, ``s̃ = softmax(−α·m)``.

    ``s̃_i = exp(−α·m_i) / Σ_j exp(−α·m_j)`` (:func:`mailviz.weights.importance`) is the probability
    that a non-uniform attacker picks example ``i``; it sums to 1, so there is no ``1/N_test``
    (eq. 18–19 print one; the authors' code computes ``Σ w·1 / Σ w`` too). Computed in float64.
    ``α = 0`` is the uniform distribution and is computed as the plain mean, so that
    ``A_sa(α=0) == A_rob`` bit for bit. With ``α ≥ 0`` and PM margins (positive exactly on the
    correct examples) the result never exceeds the uniform accuracy.

    Args:
        correct: ``[N]`` booleans (prediction at the evaluated input is correct); 0/1 numbers
            are refused.
        margins: ``[N]`` finite margins at the same inputs
            (PM, :func:`mailviz.margins.probabilistic_margin`).
        alpha: α_test, a finite float.

    Raises:
        ValueError: one line for a non-boolean or non-1-D ``correct``, non-finite or non-1-D
            ``margins``, different lengths, or a non-finite α.

    Returns:
        The weighted accuracy in percent.

    Example:
        >>> nonuniform_accuracy(torch.tensor([True, False]), torch.tensor([0.5, -0.5]), 0.0)
        50.0
    """
    c = _as_tensor(correct, "correct").to(torch.float64)
    m = _as_tensor(margins, "margins").to(torch.float64)
    if c.shape != m.shape:
        raise ValueError(
            f"correct and margins must have the same shape, got {tuple(c.shape)} and "
            f"{tuple(m.shape)}"
        )
    alpha = _check_alphas(alpha)[0]
    if alpha == 0.0:
        return 100.0 * float(c.mean())
    s = weights.importance(m, alpha)
    return 100.0 * float((s * c).sum())


def _nonuniform_runs(
    model: nn.Module,
    dataset: Any,
    eps: float,
    alphas: list[float],
    *,
    weighted: bool,
    steps: int,
    step_size: float | None,
    restarts: int,
    loss: str,
    batch_size: int,
    device: torch.device,
    n: int | None,
    seed: int,
) -> tuple[_Collected, dict[float, _Collected]]:
    """The unweighted run (once) and, when ``weighted``, one weighted-PGD run per α ≠ 0.

    α = 0 maps to the unweighted run (weighted PGD with α = 0 *is* PGD-CE). Every run starts from
    a fresh generator seeded with ``seed``, so results do not depend on the order of the α list.
    """
    plain = _collect(
        model, dataset,
        _pgd_attack(eps, steps, step_size, loss=loss, restarts=restarts,
                    generator=_generator(device, seed)),
        batch_size=batch_size, device=device, n=n,
    )  # fmt: skip
    runs: dict[float, _Collected] = {}
    for a in dict.fromkeys(alphas):
        if not weighted or a == 0.0:
            runs[a] = plain
        else:
            runs[a] = _collect(
                model, dataset,
                _pgd_attack(eps, steps, step_size, alpha=a, restarts=restarts,
                            generator=_generator(device, seed)),
                batch_size=batch_size, device=device, n=n,
            )  # fmt: skip
    return plain, runs


def nonuniform_report(
    model: nn.Module,
    dataset: Any,
    eps: float | Sequence[float],
    alphas_test: float | Sequence[float],
    *,
    steps: int = 20,
    step_size: float | None = None,
    restarts: int = 1,
    loss: str = "ce",
    batch_size: int = 500,
    n: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """``A_rob``, ``A_sa`` and ``A_tr`` of Zeng et al. (eq. 17, 18, 19) for each ε and α_test.

    * ``A_rob = (100/N) Σ_i 1[f(x_i + δ*_i) = y_i]``, δ* from unweighted PGD (eq. 17);
    * ``A_sa = 100 Σ_i s̃_i·1[f(x_i + δ′*_i) = y_i]`` with the **same** δ′* = δ* and
      ``s̃ = softmax(−α_test·PM(x + δ′*))`` (eq. 18): the unweighted attack runs once per ε and
      serves every α_test;
    * ``A_tr``: the same with δ″* from weighted PGD (Zeng et al. Alg. 1 with α = α_test) and s̃
      from the PMs at ``x + δ″*`` (eq. 19); one weighted run per α_test ≠ 0. At ``α_test = 0``
      the unweighted run is reused, so ``A_tr = A_sa = A_rob`` exactly.

    ``loss="cw"`` gives Zeng et al.'s "PGD-margin" (Table 9): the unweighted attack ascends the CW
    margin loss (κ_c = 50). Weighted PGD is defined on the cross-entropy only and Table 9 reports
    no ``A_tr``, so ``A_tr`` is NaN for ``loss="cw"``. The s̃ normalisation runs over the evaluated
    set (``n`` examples), as in the paper (the whole test set).

    Args:
        model: classifier on inputs in [0, 1] (eval mode during the run, flags restored).
        dataset: an ImageDataset or an ``(x, y)`` pair.
        eps: ε_test, a float or a list (one block of rows per value).
        alphas_test: α_test values (finite; the paper uses 0–3).
        steps: PGD steps (Zeng et al.: 20 on CIFAR-10, 40 on MNIST, 10 on Tiny ImageNet).
        step_size: ``None`` gives ``2.5·ε/steps`` (Zeng et al. used 0.0031 at ε = 0.031).
        restarts: random restarts, strongest kept per example (Zeng et al.'s code: 10).
        loss: ``"ce"`` (PGD) or ``"cw"`` (PGD-margin).
        batch_size, n, device, seed: as in :func:`evaluate`.

    Returns:
        Frame with columns ``eps, alpha_test, A_rob, A_sa, A_tr, attack, steps``; accuracies in %;
        ``attack`` is ``"pgd"`` or ``"pgd-margin"``.

    Example:
        >>> nonuniform_report(model, test, eps=0.2, alphas_test=[0, 1, 2])  # doctest: +SKIP
           eps  alpha_test  A_rob   A_sa   A_tr attack  steps
        0  0.2         0.0  55.19  55.19  55.19    pgd     20
    """
    eps_values = _check_eps(eps)
    alphas = _check_alphas(alphas_test)
    _check_positive_int(steps, "steps", "Zeng et al. evaluate with steps=20")
    _check_positive_int(restarts, "restarts", "pass restarts=1 for a single run")
    step_size = _check_step_size(step_size)
    loss = _check_loss(loss)
    dev = _model_device(model, device)
    _generator(dev, seed)
    rows = []
    for e in eps_values:
        plain, runs = _nonuniform_runs(
            model, dataset, e, alphas, weighted=loss == "ce", steps=steps, step_size=step_size,
            restarts=restarts, loss=loss, batch_size=batch_size, device=dev, n=n, seed=seed,
        )  # fmt: skip
        correct, margin = plain.correct, plain.margin
        a_rob = plain.accuracy
        for a in alphas:
            a_sa = nonuniform_accuracy(correct, margin, a)
            if loss != "ce":
                a_tr = math.nan
            else:
                run = runs[a]
                a_tr = nonuniform_accuracy(run.correct, run.margin, a)
            rows.append(
                dict(eps=e, alpha_test=a, A_rob=a_rob, A_sa=a_sa, A_tr=a_tr,
                     attack="pgd" if loss == "ce" else "pgd-margin", steps=steps)
            )  # fmt: skip
    columns = ["eps", "alpha_test", "A_rob", "A_sa", "A_tr", "attack", "steps"]
    return pd.DataFrame(rows, columns=columns)


def weight_distribution(
    model: nn.Module,
    dataset: Any,
    eps: float | Sequence[float],
    alphas_test: float | Sequence[float],
    *,
    steps: int = 20,
    step_size: float | None = None,
    attack: str = "pgd",
    restarts: int = 1,
    batch_size: int = 500,
    n: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-example importance ``s̃_i = softmax(−α_test·PM)_i`` after an attack (Zeng Figs. 5–7).

    ``attack="pgd"`` (default): one unweighted PGD-CE run per ε serves every α_test (the weights
    of ``A_sa``); ``attack="weighted"``: weighted PGD with α = α_test per value (the weights of
    ``A_tr``; α_test = 0 reuses the unweighted run). The histogram of ``weight`` for one
    (model, ε, α_test) is one panel of Figs. 5–7 (:func:`mailviz.plots.weight_histograms`).

    Args:
        model, dataset, eps, alphas_test, steps, step_size, restarts, batch_size, n, device,
        seed: as in :func:`nonuniform_report`.
        attack: ``"pgd"`` or ``"weighted"``.

    Returns:
        Tidy frame with columns ``example, alpha_test, eps, weight, margin, correct``: one row per
        example and (ε, α_test); ``weight`` sums to 1 within each (ε, α_test).
    """
    if attack not in ("pgd", "weighted"):
        raise ValueError(
            f"attack must be 'pgd' (A_sa weights) or 'weighted' (A_tr weights), got {attack!r}"
        )
    eps_values = _check_eps(eps)
    alphas = _check_alphas(alphas_test)
    _check_positive_int(steps, "steps", "Zeng et al. evaluate with steps=20")
    _check_positive_int(restarts, "restarts", "pass restarts=1 for a single run")
    step_size = _check_step_size(step_size)
    dev = _model_device(model, device)
    _generator(dev, seed)
    frames = []
    for e in eps_values:
        _, runs = _nonuniform_runs(
            model, dataset, e, alphas, weighted=attack == "weighted", steps=steps,
            step_size=step_size, restarts=restarts, loss="ce", batch_size=batch_size,
            device=dev, n=n, seed=seed,
        )  # fmt: skip
        for a in dict.fromkeys(alphas):
            run = runs[a]
            margin = run.margin.double()
            frames.append(
                pd.DataFrame(
                    dict(example=np.arange(len(margin)), alpha_test=a, eps=e,
                         weight=weights.importance(margin, a).numpy(),
                         margin=margin.numpy(), correct=run.correct.numpy())
                )  # fmt: skip
            )
    return pd.concat(frames, ignore_index=True)


def per_example(
    model: nn.Module,
    dataset: Any,
    eps: float | None = None,
    *,
    attack: str = "pgd",
    steps: int = 20,
    step_size: float | None = None,
    alpha: float = 0.0,
    restarts: int = 1,
    batch_size: int = 500,
    n: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-example diagnostics at the final input of one attack: margins, loss, correctness.

    ``attack``: ``"nat"`` (clean), ``"pgd"`` (CE), ``"cw"`` (CW margin loss, κ_c = 50),
    ``"weighted"`` (Zeng's weighted PGD with ``alpha``), ``"aa"`` / ``"aa-fast"`` (AutoAttack).
    ``loss`` is the cross-entropy ``l_i = −log p_{y_i}(x′_i)`` whatever the attack ascended —
    the loss of Zeng et al.'s DRO evaluation (eq. 28, :func:`dro_chi2`).

    Returns:
        Frame with columns ``example, label, pred, correct, margin`` (PM), ``logit_margin``
        (MM, eq. 15), ``loss`` (CE, nats) and ``kappa`` (GAIRAT κ along the PGD path; −1 where
        the attack does not count it).

    Example:
        >>> df = per_example(model, test, eps=0.2)  # doctest: +SKIP
        >>> dro_chi2(df["loss"], rho=0.5, correct=df["correct"]).accuracy  # doctest: +SKIP
    """
    kinds = ("nat", "pgd", "cw", "weighted", "aa", "aa-fast")
    if attack not in kinds:
        raise ValueError(f"attack must be one of {', '.join(kinds)}, got {attack!r}")
    e = _check_eps(eps, needed=attack != "nat")
    _check_positive_int(steps, "steps", "e.g. steps=20")
    _check_positive_int(restarts, "restarts", "pass restarts=1 for a single run")
    step_size = _check_step_size(step_size)
    alpha = _check_alphas(alpha)[0]
    dev = _model_device(model, device)
    gen = _generator(dev, seed)
    if len(e) > 1:
        raise ValueError("per_example takes one eps; call it once per budget")
    fn: AttackFn | None
    if attack == "nat":
        fn = None
    elif attack in ("aa", "aa-fast"):
        fn = _aa_attack(e[0], "fast" if attack == "aa-fast" else "standard", batch_size, seed)
    elif attack == "weighted":
        fn = _pgd_attack(e[0], steps, step_size, alpha=alpha, restarts=restarts, generator=gen)
    else:
        fn = _pgd_attack(e[0], steps, step_size, loss="ce" if attack == "pgd" else "cw",
                         restarts=restarts, generator=gen)  # fmt: skip
    got = _collect(model, dataset, fn, batch_size=batch_size, device=dev, n=n)
    logits, y = got.logits, got.labels
    kappa = got.kappa if got.kappa is not None else torch.full_like(y, -1)
    return pd.DataFrame(
        dict(
            example=np.arange(len(y)),
            label=y.numpy(),
            pred=logits.argmax(dim=1).numpy(),
            correct=got.correct.numpy(),
            margin=got.margin.double().numpy(),
            logit_margin=logit_margin(logits, y).double().numpy(),
            loss=F.cross_entropy(logits.double(), y, reduction="none").numpy(),
            kappa=kappa.numpy(),
        )
    )


# --------------------------------------------------------------------------------------------
# DRO with a χ² ball (Zeng et al. eq. 28)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DROResult:
    """Worst case of eq. 28: ``loss = Σ_i w_i l_i``, ``accuracy = 100 Σ_i w_i 1[correct_i]`` (%,
    ``None`` without ``correct``) and the maximising weights ``w`` (``[N]``, float64, on the
    simplex)."""

    loss: float
    accuracy: float | None
    weights: np.ndarray


class _ChiSquareDRO:
    """Exact solver of ``max_w Σ w_i l_i`` s.t. ``w ∈ Δ_N``, ``½‖w − 1/N‖² ≤ ρ/N`` for many ρ.

    Derivation (KKT): stationarity ``l_i − λ(w_i − 1/N) − η + μ_i = 0`` gives
    ``w(t) = Proj_Δ(1/N + t·l)`` with ``t = 1/λ ≥ 0``. If the projection keeps the top-k losses
    (sorted decreasingly, ``m_k`` their mean), ``w_i = 1/k + t(l_(i) − m_k)`` on them and 0 else,
    so ``‖w(t) − 1/N‖² = 1/k − 1/N + t²·V_k`` with ``V_k = Σ_{i≤k}(l_(i) − m_k)²``. The support
    shrinks as t grows: the k-th loss leaves at ``T_k = 1/(k·m_k − k·l_(k))`` (non-increasing in
    k), and the squared distance is continuous and non-decreasing in t. So: compute the squared
    distance ``B_k`` at every breakpoint in one vectorised pass (cumulative sums), pick the k
    with ``B_{k+1} ≤ r² < B_k`` (``r² = 2ρ/N``) and solve ``1/k − 1/N + t²V_k = r²`` for t in
    closed form. If even the uniform distribution over the tied maxima fits the ball
    (``r² ≥ 1/g − 1/N``, g = number of losses equal to the max) the constraint is inactive and
    the worst case is the max loss. Tied losses enter and leave the support together (their
    breakpoints coincide), so ties need no special case.
    """

    def __init__(self, losses: Any) -> None:
        l = _as_real(losses, "losses")
        if not checks.enabled() and not np.isfinite(l).all():  # the solver needs finite losses
            raise ValueError("losses must be finite; got NaN or inf — check the logits")
        self.losses = l
        n = l.size
        self.n = n
        self.order = np.argsort(-l, kind="stable")
        s = l[self.order]
        self.sorted = s
        x = s - s[0]  # shift by the max for accuracy: x ≤ 0, x_(1) = 0
        j = np.arange(1, n + 1, dtype=np.float64)
        c = np.cumsum(x)
        q = np.cumsum(x * x)
        v = np.maximum(q - c * c / j, 0.0)
        jd = c - j * x  # k·(m_k − l_(k)) ≥ 0, zero exactly on the tied maxima
        self.g = int(np.count_nonzero(x == 0.0))
        breaks = np.full(n + 2, np.inf)  # breaks[k] = squared distance at T_k, k = 1..N+1
        with np.errstate(divide="ignore", invalid="ignore"):
            b = 1.0 / j - 1.0 / n + np.where(jd > 0, v / (jd * jd), np.inf)
        breaks[1 : n + 1] = b
        breaks[n + 1] = 0.0
        self.breaks = breaks

    def _w_sorted(self, k: int, t: float) -> np.ndarray:
        s = self.sorted
        w = np.zeros(self.n)
        w[:k] = 1.0 / k + t * (s[:k] - s[:k].mean())
        return w

    def solve(self, rho: float) -> np.ndarray:
        if not _is_real(rho) or not rho >= 0:
            raise ValueError(f"rho must be a float >= 0 (the chi-square budget), got {rho!r}")
        n, g, s = self.n, self.g, self.sorted
        r2 = 2.0 * float(rho) / n
        w = np.zeros(n)
        if r2 >= 1.0 / g - 1.0 / n:  # the constraint is inactive: all mass on the max loss
            w[:g] = 1.0 / g
        else:
            # smallest k > g with B_{k+1} ≤ r²  (B_{N+1} = 0 ≤ r² guarantees one)
            ok = np.nonzero(self.breaks[g + 2 : n + 2] <= r2)[0]
            k = g + 1 + int(ok[0])
            for _ in range(n):  # guard the breakpoint choice against last-bit rounding
                mean = s[:k].mean()
                v = float(np.sum((s[:k] - mean) ** 2))
                t = math.sqrt(max(r2 - (1.0 / k - 1.0 / n), 0.0) / v)
                if k > g + 1 and 1.0 / k + t * (s[k - 1] - mean) < 0.0:
                    k -= 1
                elif k < n and 1.0 / k + t * (s[k] - mean) > 0.0:
                    k += 1
                else:
                    break
            w = np.clip(self._w_sorted(k, t), 0.0, None)
            w /= w.sum()
        out = np.empty(n)
        out[self.order] = w
        return out


def _check_correct(correct: Any, n: int) -> np.ndarray | None:
    if correct is None:
        return None
    arr = _as_bool(correct).astype(np.float64)
    if arr.size != n:
        raise ValueError(f"correct must have one entry per loss ({n}), got {arr.size}")
    return arr


def dro_chi2(losses: Any, rho: float, correct: Any = None) -> DROResult:
    """Worst-case χ²-reweighted loss of Zeng et al. eq. 28, solved exactly.

    ``max_w Σ_i w_i l_i`` subject to ``Σ_i w_i = 1``, ``w_i ≥ 0`` and ``½‖w − 1/N‖² ≤ ρ/N``.

    Reading of eq. 28: it prints ``(1/N) Σ_i w_i l_i``; with ``w`` on the simplex the weighted
    loss is ``Σ_i w_i l_i`` (the same stray ``1/N`` as in eq. 18–19), which is what
    is reported: ``ρ = 0`` gives the mean loss, ``ρ/N ≥ ½(1 − 1/N)`` (a simplex vertex fits the
    ball) gives the max loss. The maximiser is ``w = Proj_Δ(1/N + t·l)`` for the multiplier
    ``t ≥ 0`` that puts ``w`` on the sphere ``½‖w − 1/N‖² = ρ/N`` (see :class:`_ChiSquareDRO`
    for the closed form); float64, one sort, no iterative optimiser. Weighted accuracy:
    ``100·Σ_i w_i·1[correct_i]`` (%).

    Args:
        losses: ``[N]`` finite per-example adversarial losses (e.g.
            ``per_example(...)["loss"]``); a 2-D array is refused, not flattened.
        rho: budget ``ρ ≥ 0`` (``math.inf`` allowed).
        correct: optional ``[N]`` booleans for the weighted accuracy (0/1 numbers are refused).

    Returns:
        :class:`DROResult` ``(loss, accuracy, weights)``.

    Example:
        >>> dro_chi2([1.0, 2.0, 3.0], rho=0.0).loss
        2.0
        >>> dro_chi2([1.0, 2.0, 3.0], rho=10.0).loss
        3.0
    """
    solver = _ChiSquareDRO(losses)
    c = _check_correct(correct, solver.n)
    w = solver.solve(rho)
    return DROResult(
        loss=float(w @ solver.losses),
        accuracy=None if c is None else 100.0 * float(w @ c),
        weights=w,
    )


def dro_curve(losses: Any, rhos: Sequence[float], correct: Any = None) -> pd.DataFrame:
    """:func:`dro_chi2` for every ρ in ``rhos`` (one sort shared): Zeng et al. Fig. 4.

    Returns:
        Frame with columns ``rho, loss, accuracy`` (accuracy in %, NaN without ``correct``);
        ``loss`` is non-decreasing in ρ.

    Example:
        >>> dro_curve([1.0, 2.0, 3.0], [0.0, 10.0])["loss"].tolist()
        [2.0, 3.0]
    """
    solver = _ChiSquareDRO(losses)
    c = _check_correct(correct, solver.n)
    rows = []
    for rho in list(rhos):
        w = solver.solve(rho)
        rows.append(
            dict(rho=float(rho), loss=float(w @ solver.losses),
                 accuracy=math.nan if c is None else 100.0 * float(w @ c))
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["rho", "loss", "accuracy"])


# --------------------------------------------------------------------------------------------
# Results on disk
# --------------------------------------------------------------------------------------------


def _jsonable(config: Any) -> Any:
    if config is None:
        return None
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if isinstance(config, Mapping):
        return {str(k): _jsonable(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_jsonable(v) for v in config]
    if isinstance(config, np.generic):
        return config.item()
    if isinstance(config, Path):
        return str(config)
    return config


def results_hash(config: Any, length: int = 12) -> str:
    """sha256 of the sorted JSON of ``config`` (a mapping or an ExperimentConfig), first ``length``
    hex digits — the same recipe as :func:`mailviz.config.config_hash`.

    Example:
        >>> results_hash({"eps": 0.2, "k": 20}) == results_hash({"k": 20, "eps": 0.2})
        True
    """
    blob = json.dumps(_jsonable(config), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


_MODEL_SUFFIXES = (".pt", ".pth", ".ckpt")


def _results_dir(run_dir_or_path: str | os.PathLike[str]) -> Path:
    path = Path(run_dir_or_path)
    # a file inside the run directory (model.pt, checkpoint.pt) stands for the directory
    is_file = path.is_file() or (not path.exists() and path.suffix in _MODEL_SUFFIXES)
    return path.parent if is_file else path


def _stem(name: str, config: Any) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"name must be a plain file stem (letters, digits, _.-), got {name!r}")
    return name if config is None else f"{name}-{results_hash(config)}"


def save_results(
    frame: pd.DataFrame,
    run_dir_or_path: str | os.PathLike[str],
    name: str,
    config: Any = None,
) -> Path:
    """Write ``frame`` as ``<dir>/results/<name>-<hash>.csv`` plus a ``.json`` with its metadata.

    ``run_dir_or_path`` is a trained model's run directory (or a file inside it, e.g. the
    checkpoint); ``hash`` is :func:`results_hash` of ``config`` (the evaluation settings), so
    different settings never overwrite each other (no hash when ``config`` is None). Both files
    are written atomically (temporary file in the same folder + ``os.replace``); the JSON is
    written last and acts as the commit marker. Floats round-trip exactly.

    Returns:
        The CSV path.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    folder = _results_dir(run_dir_or_path) / "results"
    folder.mkdir(parents=True, exist_ok=True)
    stem = _stem(name, config)
    csv_path = folder / f"{stem}.csv"
    meta = {
        "name": name,
        "hash": None if config is None else results_hash(config),
        "config": _jsonable(config),
        "columns": [str(c) for c in frame.columns],
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
        "rows": len(frame),
    }
    atomic_write(csv_path, lambda fh: frame.to_csv(fh, index=False))
    atomic_write(
        folder / f"{stem}.json",
        lambda fh: fh.write(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"),
    )
    return csv_path


def load_results(
    run_dir_or_path: str | os.PathLike[str], name: str, config: Any = None
) -> pd.DataFrame | None:
    """The frame saved by :func:`save_results` with the same ``name`` and ``config``, else None."""
    folder = _results_dir(run_dir_or_path) / "results"
    stem = _stem(name, config)
    csv_path, meta_path = folder / f"{stem}.csv", folder / f"{stem}.json"
    if not (csv_path.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        dtypes: dict[str, str] = meta["dtypes"]
        columns, n_rows = list(meta["columns"]), int(meta["rows"])
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise ValueError(
            f"{meta_path} is not a results metadata file ({type(err).__name__}: {err}); delete "
            f"it and {csv_path.name} to recompute"
        ) from None
    numeric_prefixes = ("int", "uint", "float", "bool")
    text_cols = {c: t for c, t in dtypes.items() if not t.startswith(numeric_prefixes)}
    # pandas ≥ 3 parses floats round-trip by default (and deprecates the option)
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    frame = pd.read_csv(csv_path, dtype=text_cols, **exact)
    if list(frame.columns) != columns or len(frame) != n_rows:
        raise ValueError(
            f"{csv_path} does not match its metadata {meta_path.name} — delete both to recompute"
        )
    numeric = {c: t for c, t in dtypes.items() if c not in text_cols}
    return frame.astype(numeric) if numeric else frame


def cached_eval(
    key: Mapping[str, Any],
    fn: Callable[[], pd.DataFrame],
    *,
    root: str | os.PathLike[str] | None = None,
    name: str = "eval",
    refresh: bool = False,
) -> pd.DataFrame:
    """Load the results keyed by ``key`` if saved, else compute ``fn()``, save and return it.

    ``key`` holds everything that determines the result (model config hash, attack, ε, α list,
    steps, seed, n, ...). Files live in ``<root>/results/<name>-<hash(key)>.{csv,json}``;
    ``root`` defaults to :func:`mailviz.paths.cache_root` (``data/cache``) — pass a trained
    model's run directory to keep them next to the model. ``refresh=True`` recomputes.

    Example:
        >>> key = {"model": "3f2a9c1d0b7e", "eval": "nonuniform", "eps": 0.2, "alphas": [0, 2]}
        >>> compute = lambda: nonuniform_report(model, test, 0.2, [0, 2])  # doctest: +SKIP
        >>> report = cached_eval(key, compute)  # doctest: +SKIP
    """
    if not isinstance(key, Mapping):
        raise ValueError(
            f"key must be a dict of the settings that determine the result, "
            f"got {type(key).__name__}"
        )
    if root is None:
        from mailviz.paths import cache_root

        root = cache_root()
    if not refresh:
        hit = load_results(root, name, key)
        if hit is not None:
            return hit
    frame = fn()
    save_results(frame, root, name, key)
    return frame
