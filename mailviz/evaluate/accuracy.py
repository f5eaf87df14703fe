"""Accuracy under attack (NAT / PGD-k / CW-k / AA) and the per-example results behind it.

:func:`evaluate` gives the accuracy table of one model, :func:`per_example` every example's
correctness, margin and loss under one attack (what the lessons cache and the claims resample).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz import attacks as attack_lib
from mailviz import checks
from mailviz.evaluate._checks import (
    _check_alphas,
    _check_eps,
    _check_positive_int,
    _check_step_size,
    _generator,
    _model_device,
)
from mailviz.evaluate.attack_specs import (
    ATTACK_GRAMMAR,
    AttackFn,
    _aa_attack,
    _pgd_attack,
    parse_attack,
)
from mailviz.margins import logit_margin, probabilistic_margin

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
