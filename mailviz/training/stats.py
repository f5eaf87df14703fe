"""One epoch's training statistics (loss, adversarial accuracy, weights, margins) and messages."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
from torch import Tensor
from tqdm.auto import tqdm

from mailviz.config import (
    ExperimentConfig,
)
from mailviz.distributed import DistContext

# ------------------------------------------------------------------------------------------
# the loop


def _sum_dtype(device: torch.device) -> torch.dtype:
    """float64 accumulators (exact counts), except on MPS, which has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


class _EpochStats:
    """Running sums of the per-example statistics, kept on the device (no sync per batch)."""

    def __init__(self, device: torch.device) -> None:
        dtype = _sum_dtype(device)
        z = torch.zeros(8, dtype=dtype, device=device)
        # loss·B, correct, Σω, Σω², Σmargin, Σκ, count, count_κ
        self.sums = z
        self.wmin = torch.full((1,), math.inf, dtype=dtype, device=device)
        self.wmax = torch.full((1,), -math.inf, dtype=dtype, device=device)

    def add(self, loss: Tensor, stats: dict[str, Tensor], batch: int) -> None:
        ref = self.sums
        w = stats.get("weight")
        w = ref.new_ones(batch) if w is None else w.detach().to(ref.dtype).flatten()
        correct, margin = stats.get("correct"), stats.get("margin")
        kappa = stats.get("kappa")
        k_sum = kappa.detach().to(ref.dtype).sum() if kappa is not None else ref.new_zeros(())
        k_cnt = float(kappa.numel()) if kappa is not None else 0.0
        nan = ref.new_full((), math.nan)  # fills, not new_tensor: no host-to-device copy (sync)
        update = torch.stack(
            [
                loss.detach().to(ref.dtype) * batch,
                correct.detach().to(ref.dtype).sum() if correct is not None else nan,
                w.sum(),
                (w * w).sum(),
                margin.detach().to(ref.dtype).sum() if margin is not None else nan,
                k_sum,
                w.new_full((), float(batch)),
                w.new_full((), k_cnt),
            ]
        )
        self.sums += update
        if w.numel():
            self.wmin = torch.minimum(self.wmin, w.min().view(1))
            self.wmax = torch.maximum(self.wmax, w.max().view(1))

    def running(self) -> tuple[float, float]:
        s = self.sums.tolist()
        n = max(s[6], 1.0)
        return s[0] / n, s[1] / n

    def finish(self, ctx: DistContext) -> dict[str, float]:
        ctx.all_reduce(self.sums, "sum")
        ctx.all_reduce(self.wmin, "min")
        ctx.all_reduce(self.wmax, "max")
        s = self.sums.tolist()
        n = max(s[6], 1.0)
        mean_w = s[2] / n
        var_w = max(s[3] / n - mean_w * mean_w, 0.0)
        return {
            "loss": s[0] / n,
            "train_adv_acc": 100.0 * s[1] / n,
            "weight_mean": mean_w,
            "weight_std": math.sqrt(var_w),
            "weight_min": float(self.wmin.item()),
            "weight_max": float(self.wmax.item()),
            "margin_mean": s[4] / n,
            "kappa_mean": s[5] / s[7] if s[7] > 0 else float("nan"),
        }


def _diverged(config: ExperimentConfig, folder: Path, what: str, epoch: int, where: str) -> str:
    """The one-line message of a non-finite training loss (``what``: what was not finite)."""
    return (
        f"training diverged: {what} at epoch {epoch}, {where} ({folder.name}); "
        f"nothing was cached — lower lr (now {config.lr:g}, e.g. lr={config.lr / 10:g}), check "
        "the method's params and eps, or the data"
    )


def _say(progress: bool, ctx: DistContext, message: str) -> None:
    if progress and ctx.is_main:
        tqdm.write(message, file=sys.stdout)
