"""The :class:`Objective` of one training run and :func:`build_objective` from a config.

The class is method-agnostic: it validates the settings, applies the ε warm-up and the burn-in,
and hands each mini-batch to the method's loss from the registry
(:data:`mailviz.objectives.registry.SPECS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from mailviz import attacks
from mailviz.errors import ConfigError
from mailviz.objectives import fat
from mailviz.objectives._common import _unwrap
from mailviz.objectives.params import (
    _check_method,
    default_attack_loss,
    default_start,
    validate_params,
)
from mailviz.objectives.registry import BASE_METHOD, REWEIGHTING_METHODS, SPECS
from mailviz.objectives.settings import AttackSettings, LossOutput

if TYPE_CHECKING:
    from mailviz.config import ExperimentConfig

__all__ = ["Objective", "build_objective"]


class Objective:
    """A training method's loss for one run: attack + outer loss + per-example diagnostics.

    Args:
        method: one of :data:`METHODS`.
        params: method hyper-parameters (merged over :func:`default_params` and validated).
        attack: the training attack; its ``loss`` must suit the method (:func:`validate_params`).
        epochs: total epochs of the run (FAT's dynamic τ reads it).
        burn_in: epochs (0-based ``epoch < burn_in``) in which a reweighting method runs its
            :data:`BASE_METHOD`.
        eps_warmup: epochs ``W`` over which the training budget ramps up linearly: at 0-based
            ``epoch < W`` the attack uses ``ε_e = ε·(epoch + 1)/(W + 1)`` and a step size scaled
            by the same factor; from epoch ``W`` on the full ε (:meth:`attack_at`).

    Raises:
        ConfigError: bad method, parameter, attack settings, epochs or burn-in (one line).

    Example:
        >>> obj = Objective("mail_at", {"gamma": 10.0},
        ...                 AttackSettings(eps=0.2, step_size=0.05, steps=3, loss="ce"),
        ...                 epochs=10, burn_in=2)
        >>> obj.params["beta"], obj.attack.start
        (-0.5, 'uniform')
    """

    def __init__(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        attack: AttackSettings,
        *,
        epochs: int,
        burn_in: int = 0,
        eps_warmup: int = 0,
    ) -> None:
        self.method = _check_method(method)
        if not isinstance(attack, AttackSettings):
            raise ConfigError(f"attack must be an AttackSettings, got {type(attack).__name__}")
        self.params = validate_params(method, params, attack_loss=attack.loss)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"epochs must be an integer >= 1, got {epochs!r}")
        if isinstance(burn_in, bool) or not isinstance(burn_in, int) or not 0 <= burn_in <= epochs:
            raise ConfigError(
                f"burn_in must be an integer in [0, epochs={epochs}], got {burn_in!r}"
            )
        if (isinstance(eps_warmup, bool) or not isinstance(eps_warmup, int)
                or not 0 <= eps_warmup < epochs):  # fmt: skip
            raise ConfigError(
                f"eps_warmup must be an integer in [0, epochs={epochs}), got {eps_warmup!r}"
            )
        start = default_start(method) if attack.start == "auto" else attack.start
        self.attack = AttackSettings(
            attack.eps,
            attack.step_size,
            attack.steps,
            attack.loss,
            start,
            attack.generator,
            attack.confidence,
        )
        if method != "clean" and attack.loss == "kl" and start == "none":
            raise ConfigError(
                f"{method}: the KL attack has zero gradient at x′ = x, so start='none' never "
                "moves; use start='normal' (TRADES)"
            )
        if method == "gairat" and attack.steps < 2:
            raise ConfigError(f"gairat needs steps >= 2 (κ's K′ = ⌊K/2⌋ ≥ 1), got {attack.steps}")
        self.epochs = epochs
        self.burn_in = burn_in
        self.eps_warmup = eps_warmup
        self._now = self.attack  # the attack of the epoch being trained (set by loss())
        self._proxy: nn.Module | None = None
        self._proxy_key: tuple[Any, ...] | None = None
        self._pending: list[tuple[Tensor, Tensor]] | None = None

    def __repr__(self) -> str:
        return (
            f"Objective({self.method!r}, {self.params}, {self.attack!r}, epochs={self.epochs}, "
            f"burn_in={self.burn_in}, eps_warmup={self.eps_warmup})"
        )

    # -- schedule --------------------------------------------------------------------------
    def attack_at(self, epoch: int) -> AttackSettings:
        """The training attack at 0-based ``epoch``, with the ε warm-up applied.

        ``ε_e = ε·min(1, (epoch + 1)/(W + 1))`` with ``W = eps_warmup`` (and the step size scaled
        alike, so PGD keeps its ε/step ratio); the configured attack itself once ``epoch ≥ W``.
        """
        if epoch >= self.eps_warmup:
            return self.attack
        f = (epoch + 1) / (self.eps_warmup + 1)
        a = self.attack
        return AttackSettings(a.eps * f, a.step_size * f, a.steps, a.loss, a.start, a.generator,
                              a.confidence)  # fmt: skip

    def reweighting_active(self, epoch: int) -> bool:
        """Whether a reweighting method uses its weights at ``epoch`` (False during burn-in)."""
        return self.method in REWEIGHTING_METHODS and epoch >= self.burn_in

    def fat_tau(self, epoch: int) -> int:
        """FAT's τ at 0-based ``epoch`` (:func:`mailviz.objectives.fat.fat_tau`)."""
        return fat.fat_tau(self.params, self.epochs, epoch)

    # -- public API ------------------------------------------------------------------------
    def loss(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        *,
        epoch: int,
        attack_model: nn.Module | None = None,
    ) -> LossOutput:
        """The training loss of one mini-batch at 0-based ``epoch``; leaves ``model`` in train mode.

        Args:
            model: the network being trained (may be DDP-wrapped); run in train mode.
            x: ``[B, ...]`` inputs in [0, 1].
            y: ``[B]`` labels.
            epoch: 0-based epoch (burn-in, ε warm-up, AWP warm-up and FAT's dynamic τ read it).
            attack_model: the network the attack (and AWP's proxy) differentiates — the
                un-wrapped ``model.module`` under DDP; default: ``model`` un-wrapped.

        Returns:
            :class:`LossOutput` with the scalar loss and ``[B]`` stats.

        Shape:
            ``x``: ``[B, ...]``, ``y``: ``[B]`` → loss ``[]``, every stat ``[B]``.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a 0-based integer >= 0, got {epoch!r}")
        y = attacks._check_inputs(model, x, y)  # types and shapes; the attack checks content
        net = attack_model if attack_model is not None else _unwrap(model)
        if self._pending is not None:  # a previous perturbation was never removed
            self.after_step(net)
        self._now = self.attack_at(epoch)
        method = self.method
        if method in REWEIGHTING_METHODS and epoch < self.burn_in:
            method = BASE_METHOD[method]
        return SPECS[method].loss(self, model, net, x, y, epoch)

    def after_step(self, model: nn.Module) -> None:
        """Call after ``optimizer.step()``: AWP subtracts its perturbation ``v``; others no-op.

        ``model`` is accepted for symmetry with :meth:`loss` (the perturbed tensors are
        remembered), so a DDP wrapper or its ``.module`` both work.
        """
        if self._pending is None:
            return
        with torch.no_grad():
            for param, v in self._pending:
                param.sub_(v)
        self._pending = None

    # -- the training attack (a subclass may replace it, e.g. benchmarks/gpu_check.py) ----------
    def _pgd(self, net: nn.Module, x: Tensor, y: Tensor) -> attacks.AttackResult:
        """The epoch's training PGD (:meth:`attack_at`) on ``net``, as an AttackResult."""
        a = self._now
        result = attacks.pgd(
            net, x, y, a.eps, a.step_size, a.steps, loss=a.loss, confidence=a.confidence,
            start=a.start, generator=a.generator, return_result=True, final_logits=False,
        )  # fmt: skip
        assert isinstance(result, attacks.AttackResult)
        return result

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs: nothing but the method (AWP's ``v`` lives for one step)."""
        return {"method": self.method}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Check a saved objective state belongs to this method."""
        saved = state.get("method", self.method)
        if saved != self.method:
            raise ValueError(
                f"objective state is for method {saved!r}, not {self.method!r} — "
                "resume with the config that produced the checkpoint"
            )


def build_objective(cfg: ExperimentConfig, generator: torch.Generator | None = None) -> Objective:
    """The :class:`Objective` an :class:`~mailviz.config.ExperimentConfig` describes.

    ``cfg.attack_loss=None`` means :func:`default_attack_loss`; ``generator`` (on the training
    device) drives the attack's random starts.

    Example:
        >>> from mailviz.config import ExperimentConfig
        >>> build_objective(ExperimentConfig(method="trades")).attack.loss
        'kl'
    """
    method = _check_method(cfg.method)
    loss = cfg.attack_loss if cfg.attack_loss is not None else default_attack_loss(method)
    attack = AttackSettings(
        eps=cfg.eps, step_size=cfg.step_size, steps=int(cfg.steps), loss=loss, start=cfg.start,
        generator=generator, confidence=float(cfg.cw_confidence),
    )  # fmt: skip
    return Objective(
        method,
        cfg.params,
        attack,
        epochs=int(cfg.epochs),
        burn_in=int(cfg.burn_in),
        eps_warmup=int(cfg.eps_warmup),
    )
