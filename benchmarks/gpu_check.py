"""One prepared device check: CUDA parity, bf16, step speed, host syncs, paper projections.

Everything the CUDA path of mailviz needs to be trusted and planned with, measured by one script
that runs start to finish inside a time budget (default 480 s) on the first CUDA device, and that
runs the same code at tiny sizes on the CPU (``--dry-run``, under a minute) so it is tested
without a GPU. No downloads: the images are synthetic CIFAR-shaped tensors from a fixed generator
(4×4 random colour fields upsampled to 32×32 plus 10 % pixel noise) and the embedded 8×8 digits.

Usage::

    python benchmarks/gpu_check.py --out benchmarks/results/gpu_check.json      # one GPU, ≈ 8 min
    python benchmarks/gpu_check.py --dry-run --out /tmp/gpu_check.json           # CPU, < 1 min

Sections, in order of importance (a section starts only with enough budget left, see
``MIN_SECONDS``):

``parity``       CUDA fp32 against CPU fp32 (TF32 off) on one fixed ResNet-18, batch and start:
                 PM, MAIL-AT / MAIL-TRADES / MAIL-MART losses and parameter gradients (through
                 :class:`mailviz.objectives.Objective`, both sides on the same ``x_adv``), one
                 PGD-10 ``x_adv`` from the same start (share of coordinates that differ) and
                 GAIRAT's κ, each against a stated tolerance. Dry-run: CPU fp32 against CPU fp64.
``bf16``         autocast bf16 + channels_last against fp32 on the same device: PM and loss
                 differences on the parity batch, and NAT / PGD-20 accuracy of the quick digits
                 model (trained here by :func:`mailviz.train.train`) evaluated both ways.
``speed``        ms per training step, ResNet-18, batch 128, PGD-10: clean, AT, TRADES, MAIL-AT,
                 MAIL-TRADES under fp32 and bf16 + channels_last; ratio to (K+1) clean steps.
``host_sync``    the per-step host synchronisations (input checks of the attacks, weight
                 normalisation) with and without :func:`mailviz.checks.skip_host_syncs`: syncs per
                 step (CUDA's sync debug mode), ms per step, and that the results are identical.
``projections``  a paper-profile epoch (50,000 images) and the 120-epoch run per method, from the
                 measured step times plus the measured held-out evaluation and augmentation.
``wrn``          WRN-34-10 PGD-20 throughput (images/s, lesson 08's fp32 and bf16) and the largest
                 batch that fits at bf16 (doubling search, out-of-memory caught).
``torchrun``     one ``torchrun --standalone --nproc_per_node 1`` run of this script's DDP worker:
                 nccl process group, all-reduce, DDP MAIL-TRADES steps, ``mailviz train --profile
                 smoke`` on the device (gloo on the CPU in the dry-run).
``compile``      the speed table again under ``torch.compile`` (bf16 + channels_last) where it
                 works; last, because its compile time is the least predictable.

Method: every timed step is bracketed by ``torch.cuda.synchronize``; methods are interleaved
round by round after warm-up rounds, and the median of the timed rounds is reported. The JSON is
written atomically after every section, so a run cut short keeps what it measured; a timer stops
the run ``reserve`` seconds before the budget.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as _dt
import functools
import gc
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_T0 = time.monotonic()  # the budget counts from here, before torch is imported
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from mailviz import attacks, checks, data, models, objectives  # noqa: E402
from mailviz.checkpoint import atomic_write  # noqa: E402
from mailviz.config import get_profile, set_threads  # noqa: E402
from mailviz.margins import probabilistic_margin  # noqa: E402
from mailviz.train import _autocast, _EpochStats, held_out_accuracy, train  # noqa: E402

FORMAT = "mailviz-gpu-check"
VERSION = 1
SEED = 0
SECTIONS: tuple[str, ...] = (
    "parity", "bf16", "speed", "host_sync", "projections", "wrn", "torchrun", "compile",
)  # fmt: skip
SPEED_METHODS: tuple[str, ...] = ("clean", "at", "trades", "mail_at", "mail_trades")
PARITY_METHODS: tuple[str, ...] = ("mail_at", "mail_trades", "mail_mart")
HOST_SYNC_METHODS: tuple[str, ...] = ("mail_at", "mail_trades", "gairat")
#: The paper profile: CIFAR-10 training set, 120 epochs, held-out PGD-20 on 1,000 images.
PAPER_TRAIN_IMAGES = 50_000
PAPER_EPOCHS = 120
PAPER_EPS = 8 / 255
PAPER_EVAL_STEP = 0.003
#: Lesson 08 runs 6 PGD-20 passes over each model's 1,000 images at R = 1.
LESSON08_PGD_RUNS = 6
LESSON08_IMAGES = 1000
#: The parity model's last layer is scaled by this so its softmax is far from uniform (PM and
#: the MAIL weights then spread out, and κ counts real steps).
LOGIT_SCALE = 8.0
#: Lesson 06: 14 distinct models × 5 seeds.
LESSON06_RUNS = 70

TOLERANCES: dict[str, Any] = {
    "parity": {
        "tf32": "disabled for the parity section (torch.backends.cuda.matmul.allow_tf32 = False, "
        "torch.backends.cudnn.allow_tf32 = False) and restored afterwards",
        "rule": "|test - ref| <= atol + rtol * |ref| elementwise (numpy.isclose)",
        "pm": {"atol": 2e-4, "rtol": 0.0},
        "loss": {"atol": 1e-5, "rtol": 1e-4},
        "grad_rel_l2": 1e-3,
        "x_adv": {"atol": 1e-6, "max_fraction_differing": 0.01},
        "kappa": {"max_fraction_differing": 0.02},
        "why": "fp32 has a unit roundoff of 6e-8; a dot product of n terms summed in another "
        "order (cuDNN/cuBLAS against oneDNN tiling, Winograd or FFT convolutions) differs by "
        "about sqrt(n) * 6e-8 relative or more, and ResNet-18 reduces over up to 4,608 terms "
        "per output in 18 layers. Measured on the CPU, fp32 against fp64 on this fixture "
        "(batch 8, PGD-10): PM 4e-6 (logits up to 6), losses 2e-7 relative, parameter "
        "gradients 4e-6 relative L2. Two fp32 implementations differ by more than one fp32 "
        "against the truth, so the tolerances leave 20x (PM 2e-4) to 250x (losses 1e-4 "
        "relative, gradients 1e-3) on those; a wrong weight, term or sign moves these by 1e-2 "
        "or more. PGD takes the sign of the input gradient: where a coordinate of it is within "
        "rounding of 0 the sign may flip and that coordinate moves by 2 * step instead of 0 "
        "(legitimate; measured: 1e-4 of the coordinates per step), and two runs that each "
        "follow their own path drift apart after such a flip (measured: 16 % to 36 % of the "
        "coordinates after 10 steps). So each side takes one step from the same reference "
        "iterate x_t and at most 1 % of the coordinates may differ by more than 1e-6 (a wrong "
        "sign, projection or clamp changes half or all of them); κ's indicator 1[f(x_t) = y] is "
        "compared on the same iterates (at most 2 % of (example, step) pairs may differ: an "
        "argmax flips only at a near-tie). The own-path numbers are reported, not judged.",
    },
    "bf16": {
        "pm_atol": 0.25,
        "loss_rtol": 0.1,
        "accuracy_pp": 3.0,
        "why": "sanity bounds, not parity (they set within_bound flags, not the status): bf16 "
        "keeps 8 significant bits (relative rounding 4e-3 per operation) and the parity "
        "model's logits reach 6, so logits move by about 0.05 and PM by up to 0.1 (measured on "
        "the CPU's bf16 autocast: PM 0.12 at most, losses 1 % to 2 %); a layout or cast bug "
        "gives differences of order 1. Accuracy: PGD-20 paths in bf16 and fp32 differ, so the "
        "robust accuracy of 540 digits may move by a few images (0.19 pp each); more than 3 "
        "percentage points points at a bug.",
    },
}

#: Do not start a section with less than this many seconds of budget left (device run).
MIN_SECONDS: dict[str, float] = {
    "parity": 30, "bf16": 30, "speed": 45, "host_sync": 25, "projections": 10, "wrn": 40,
    "torchrun": 40, "compile": 90,
}  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one run: the device run (:data:`FULL`) or the CPU dry-run (:data:`DRY`)."""

    parity_batch: int
    steps: int  # K of the training attack (PGD-K)
    eval_steps: int  # PGD-20 of the evaluations (projections, WRN)
    speed_batch: int
    warmup: int
    timed: int
    digits_profile: str  # trained for the bf16 accuracies
    digits_eval: int | None  # test images for those accuracies (None: all 540)
    digits_batch: int  # host_sync's launch-bound case
    eval_images: int  # held-out evaluation of the paper profile (1,000)
    wrn: str  # "wrn34_10" or the dry-run's tiny "wrn10_1"
    wrn_batch: int  # lesson 08's BATCH_SIZE
    wrn_timed: int
    wrn_batch_start: int
    wrn_batch_cap: int
    compile_backend: str
    compile_methods: tuple[str, ...]
    host_sync_methods: tuple[str, ...]
    reserve_s: float  # kept back for the last JSON write and the table
    min_seconds: dict[str, float] = field(default_factory=dict)


FULL = Sizes(
    parity_batch=64, steps=10, eval_steps=20, speed_batch=128, warmup=3, timed=10,
    digits_profile="quick", digits_eval=None, digits_batch=64, eval_images=1000,
    wrn="wrn34_10", wrn_batch=200, wrn_timed=3, wrn_batch_start=256, wrn_batch_cap=16384,
    compile_backend="inductor", compile_methods=SPEED_METHODS,
    host_sync_methods=HOST_SYNC_METHODS, reserve_s=15.0, min_seconds=dict(MIN_SECONDS),
)  # fmt: skip
DRY = Sizes(
    parity_batch=4, steps=2, eval_steps=2, speed_batch=2, warmup=1, timed=2,
    digits_profile="smoke", digits_eval=64, digits_batch=16, eval_images=8,
    wrn="wrn10_1", wrn_batch=4, wrn_timed=1, wrn_batch_start=4, wrn_batch_cap=16,
    compile_backend="eager", compile_methods=("clean", "mail_trades"),
    host_sync_methods=("mail_at",), reserve_s=3.0, min_seconds={s: 0.0 for s in SECTIONS},
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# budget, report


class BudgetExhausted(BaseException):
    """Raised by the budget timer; a BaseException so that ``except Exception`` never eats it."""


class Budget:
    """Wall-clock budget of the run, counted from the script's start, with a hard-stop timer."""

    def __init__(self, total_s: float, reserve_s: float, start: float) -> None:
        self.total_s = float(total_s)
        self.reserve_s = float(reserve_s)
        self.start = start
        self.exhausted = False

    def elapsed(self) -> float:
        """Seconds since the script started."""
        return time.monotonic() - self.start

    def left(self) -> float:
        """Seconds left before the hard stop (budget minus reserve)."""
        return self.total_s - self.reserve_s - self.elapsed()

    def _fire(self, signum: int, frame: Any) -> None:
        self.exhausted = True
        raise BudgetExhausted(f"budget of {self.total_s:g} s reached")

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """Raise :class:`BudgetExhausted` in the main thread when the budget runs out."""
        if not hasattr(signal, "setitimer"):  # not POSIX: the checks between steps remain
            yield
            return
        previous = signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, max(self.left(), 0.01))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _clean(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become ``None``, tuples lists, tensors numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, Tensor):
        return _clean(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


@dataclass
class Context:
    """What the sections share: device, sizes, budget, output folder and earlier results."""

    device: torch.device
    sizes: Sizes
    budget: Budget
    dry_run: bool
    workdir: Path
    report: dict[str, Any]
    out: Path
    shared: dict[str, Any] = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def write(self) -> None:
        """Write the report atomically (strict JSON)."""
        self.report["elapsed_s"] = round(self.budget.elapsed(), 2)
        text = json.dumps(_clean(self.report), indent=2, allow_nan=False) + "\n"
        atomic_write(self.out, lambda fh: fh.write(text))


def run_section(ctx: Context, name: str, fn: Callable[[Context, dict[str, Any]], None]) -> None:
    """Run one section into ``report["sections"][name]``; record status and seconds; write."""
    section: dict[str, Any] = {}
    ctx.report["sections"][name] = section
    need = ctx.sizes.min_seconds.get(name, 0.0)
    if ctx.budget.exhausted:
        section["status"] = "skipped(budget exhausted)"
    elif ctx.budget.left() < need:
        section["status"] = (
            f"skipped(budget: {ctx.budget.left():.0f} s left, the section needs about "
            f"{need:.0f} s)"
        )
    else:
        section["status"] = "running"
        t0 = time.monotonic()
        try:
            fn(ctx, section)
            section["status"] = section.pop("_status", "ok")
        except BudgetExhausted:
            ctx.budget.exhausted = True
            section["status"] = (
                "failed(budget exhausted mid-section; what it measured so far is kept)"
            )
        except Exception as err:  # noqa: BLE001 - a failing section must not stop the others
            section["status"] = f"failed({type(err).__name__}: {_one_line(err)})"
            section["traceback"] = traceback.format_exc().splitlines()[-12:]
        section["seconds"] = round(time.monotonic() - t0, 2)
    with contextlib.suppress(BudgetExhausted):
        ctx.write()


def _one_line(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# fixtures


def synthetic_images(n: int, seed: int = SEED) -> Tensor:
    """``[n, 3, 32, 32]`` CIFAR-shaped images in [0, 1] from a fixed CPU generator.

    4×4 random colour fields upsampled bilinearly to 32×32 plus 10 % uniform pixel noise, so a
    random network sees varied, image-like inputs (not i.i.d. noise, which all look alike to it).
    """
    gen = torch.Generator().manual_seed(seed)
    base = torch.rand((n, 3, 4, 4), generator=gen)
    smooth = F.interpolate(base, size=(32, 32), mode="bilinear", align_corners=False)
    noise = torch.rand((n, 3, 32, 32), generator=gen)
    return (0.9 * smooth + 0.1 * noise).clamp(0.0, 1.0)


def calibrated_resnet18(calibration: Tensor) -> nn.Module:
    """A fixed ResNet-18 (seed 0) whose BatchNorm running statistics are those of ``calibration``.

    At initialisation the running statistics are (0, 1), so eval mode (the attacks' mode) would
    see unnormalised activations; one cumulative pass gives realistic eval-mode logits.
    """
    torch.manual_seed(SEED)
    model = models.build_model("resnet18", 10, 3, input_size=32)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in norms:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average: one pass = the batch statistics
        model.train()
        model(calibration)
        for bn in norms:
            bn.momentum = 0.1
    return model.eval()


def _placed(model: nn.Module, device: torch.device, dtype: torch.dtype,
            channels_last: bool = False) -> nn.Module:
    out = copy.deepcopy(model).to(device=device, dtype=dtype)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return out.to(memory_format=fmt)


def _on(x: Tensor, device: torch.device, dtype: torch.dtype | None = None,
        channels_last: bool = False) -> Tensor:
    x = x.to(device=device, dtype=dtype if dtype is not None else x.dtype)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class GivenAttack(objectives.Objective):
    """An :class:`~mailviz.objectives.Objective` whose inner maximisation returns a given x_adv.

    The outer loss (the training forward, PM, the MAIL weights and their normalisation) runs
    the objective's own code; only the attack is replaced, so two devices or two precisions are
    compared on identical adversarial inputs.
    """

    def __init__(self, method: str, steps: int, x_adv: Tensor, kappa: Tensor | None) -> None:
        attack = objectives.AttackSettings(
            eps=PAPER_EPS, step_size=2 / 255, steps=steps,
            loss=objectives.default_attack_loss(method), start="auto",
        )  # fmt: skip
        super().__init__(method, None, attack, epochs=1)
        self._given = attacks.AttackResult(x_adv.detach(), None, None, kappa)

    def _pgd(self, net: nn.Module, x: Tensor, y: Tensor) -> attacks.AttackResult:
        return self._given


def _paper_objective(method: str, sizes: Sizes, device: torch.device,
                     seed: int = SEED) -> objectives.Objective:
    cfg = get_profile("paper", method=method, steps=sizes.steps, batch_size=sizes.speed_batch,
                      device=device.type, threads=None)
    gen = torch.Generator(device=device).manual_seed(seed)
    return objectives.build_objective(cfg, generator=gen)


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer,
                objective: objectives.Objective, x: Tensor, y: Tensor,
                amp: torch.dtype | None) -> objectives.LossOutput:
    """One step of :func:`mailviz.train.train`'s loop, its running statistics included.

    bf16 needs no GradScaler (the trainer's is disabled then).
    """
    with _autocast(x.device, amp):
        out = objective.loss(model, x, y, epoch=0, attack_model=model)
    optimizer.zero_grad(set_to_none=True)
    out.loss.backward()
    optimizer.step()
    objective.after_step(model)
    _EpochStats(x.device).add(out.loss, out.stats, int(y.shape[0]))
    return out


def _sgd(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=3.5e-3)


def interleaved(fns: dict[str, Callable[[], Any]], warmup: int, timed: int,
                device: torch.device, budget: Budget, slack_s: float = 5.0
                ) -> tuple[dict[str, list[float]], int]:
    """Seconds of each function, round by round (one call of each per round), after warm-up.

    Stops early (fewer rounds) when the budget has less than ``slack_s`` plus one round left.
    Returns the samples per name and the number of timed rounds done.
    """
    def once(fn: Callable[[], Any]) -> float:
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        return time.perf_counter() - t0

    round_s = 0.0
    for _ in range(warmup):
        t0 = time.perf_counter()
        for fn in fns.values():
            once(fn)
        round_s = time.perf_counter() - t0
    samples: dict[str, list[float]] = {name: [] for name in fns}
    done = 0
    for _ in range(timed):
        if done and budget.left() < slack_s + round_s:
            break
        t0 = time.perf_counter()
        for name, fn in fns.items():
            samples[name].append(once(fn))
        round_s = time.perf_counter() - t0
        done += 1
    return samples, done


def _median_ms(samples: list[float]) -> float | None:
    return 1e3 * statistics.median(samples) if samples else None


def _close(ref: Tensor, test: Tensor, atol: float, rtol: float) -> dict[str, Any]:
    r, t = ref.detach().double().cpu(), test.detach().double().cpu()
    diff = (t - r).abs()
    rel = diff / r.abs().clamp_min(1e-30)
    return {
        "max_abs_diff": float(diff.max()) if diff.numel() else 0.0,
        "max_rel_diff": float(rel.max()) if rel.numel() else 0.0,
        "atol": atol,
        "rtol": rtol,
        "ok": bool((diff <= atol + rtol * r.abs()).all()),
    }


def _grads(model: nn.Module) -> Tensor:
    return torch.cat([p.grad.detach().double().cpu().flatten() for p in model.parameters()
                      if p.grad is not None])


# --------------------------------------------------------------------------------------------
# parity


def _parity_fixture(ctx: Context) -> dict[str, Any]:
    """Model, batch, labels and start shared by ``parity`` and ``bf16`` (built once, on the CPU)."""
    if "fixture" not in ctx.shared:
        n = ctx.sizes.parity_batch
        x = synthetic_images(n, SEED)
        model = calibrated_resnet18(synthetic_images(max(n, 16), SEED + 1))
        with torch.no_grad():
            model.linear.weight.mul_(LOGIT_SCALE)
            model.linear.bias.mul_(LOGIT_SCALE)
            y = model(x).argmax(dim=1)  # own predictions: every example starts correct
        gen = torch.Generator().manual_seed(SEED + 2)
        delta0 = (2 * torch.rand(x.shape, generator=gen) - 1) * PAPER_EPS
        ctx.shared["fixture"] = {"model": model, "x": x, "y": y, "delta0": delta0}
    return ctx.shared["fixture"]


def _side(fx: dict[str, Any], device: torch.device, dtype: torch.dtype, steps: int,
          ref: dict[str, Any] | None) -> dict[str, Any]:
    """One side of the parity check.

    * its own PGD-K path from the fixed start (``record=True``: every iterate);
    * one PGD step from each iterate ``x_t`` of the *reference* path (``init = x_t − x``), which
      gives ``x_{t+1}`` and the prediction at ``x_t`` (κ's indicator) on common inputs;
    * PM on the reference x_adv, and the MAIL losses and gradients with the reference x_adv and κ.

    ``ref=None`` makes this side the reference.
    """
    model = _placed(fx["model"], device, dtype)
    x, y = _on(fx["x"], device, dtype), fx["y"].to(device)
    res = attacks.pgd(
        model, x, y, PAPER_EPS, 2 / 255, steps, init=_on(fx["delta0"], device, dtype),
        return_result=True, final_logits=False, record=True,
    )  # fmt: skip
    assert isinstance(res, attacks.AttackResult) and res.path is not None
    assert res.kappa is not None
    path = res.path if ref is None else ref["path"]
    step_next, step_correct = [], []
    for t in range(steps):
        init = (path[t].to("cpu", torch.float32) - fx["x"])  # the same start on both sides
        one = attacks.pgd(model, x, y, PAPER_EPS, 2 / 255, 1, init=_on(init, device, dtype),
                          return_result=True, final_logits=False)
        assert isinstance(one, attacks.AttackResult) and one.kappa is not None
        step_next.append(one.x_adv)
        step_correct.append(one.kappa)
    x_adv = path[steps]
    given = _on(x_adv, device, dtype)
    kappa_given = res.kappa if ref is None else ref["kappa"].to(device)
    with torch.no_grad():
        pm = probabilistic_margin(model(given), y)
        pm_clean = probabilistic_margin(model(x), y)
    out: dict[str, Any] = {
        "path": res.path, "kappa": res.kappa, "pm": pm, "pm_clean": pm_clean,
        "step_next": torch.stack(step_next), "step_correct": torch.stack(step_correct),
    }  # fmt: skip
    for method in PARITY_METHODS:
        net = _placed(fx["model"], device, dtype)
        loss = GivenAttack(method, steps, given, kappa_given).loss(net, x, y, epoch=0).loss
        loss.backward()
        out[method] = {"loss": loss.detach(), "grad": _grads(net)}
    return out


def _fraction_differing(a: Tensor, b: Tensor, atol: float) -> tuple[float, float]:
    diff = (a.detach().double().cpu() - b.detach().double().cpu()).abs()
    return float((diff > atol).double().mean()), float(diff.max())


def section_parity(ctx: Context, out: dict[str, Any]) -> None:
    """CUDA fp32 vs CPU fp32 (dry-run: CPU fp32 vs CPU fp64) on one fixed model/batch/start."""
    tol = TOLERANCES["parity"]
    fx = _parity_fixture(ctx)
    ref_dev, ref_dtype = torch.device("cpu"), torch.float32
    if ctx.dry_run:
        test_dev, test_dtype = torch.device("cpu"), torch.float64
    else:
        test_dev, test_dtype = ctx.device, torch.float32
    out["reference"] = f"{ref_dev} {ref_dtype}"
    out["test"] = f"{test_dev} {test_dtype}"
    out["setup"] = {
        "model": "resnet18 (seed 0, BatchNorm statistics of one synthetic batch, last layer "
                 f"x{LOGIT_SCALE:g} so that the softmax is not uniform)",
        "batch": int(fx["x"].shape[0]), "eps": PAPER_EPS, "step_size": 2 / 255,
        "steps": ctx.sizes.steps, "start": "fixed uniform delta0 from a CPU generator (init=)",
        "labels": "the model's own clean predictions (every example starts correct)",
        "label_classes": int(fx["y"].unique().numel()),
        "pm_on": "the reference x_adv (pm) and the clean batch (pm_clean), eval mode",
        "losses": "objective.loss with the reference x_adv and κ (GivenAttack), train mode",
        "pgd": "per step: one step of each side from the same reference iterate x_t",
    }  # fmt: skip
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
             torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    out["tf32"] = {"matmul": False, "cudnn": False, "restored_after": True}
    try:
        ref = _side(fx, ref_dev, ref_dtype, ctx.sizes.steps, None)
        test = _side(fx, test_dev, test_dtype, ctx.sizes.steps, ref)
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
         torch.backends.cudnn.benchmark) = saved

    checks_out: dict[str, Any] = {}
    checks_out["pm"] = _close(ref["pm"], test["pm"], **tol["pm"])
    checks_out["pm_clean"] = _close(ref["pm_clean"], test["pm_clean"], **tol["pm"])
    for method in PARITY_METHODS:
        checks_out[f"{method}_loss"] = {
            **_close(ref[method]["loss"], test[method]["loss"], **tol["loss"]),
            "ref": float(ref[method]["loss"]),
            "test": float(test[method]["loss"]),
        }
        g_ref, g_test = ref[method]["grad"], test[method]["grad"]
        rel = float((g_test - g_ref).norm() / g_ref.norm().clamp_min(1e-30))
        checks_out[f"{method}_grad"] = {
            "rel_l2_diff": rel, "tolerance": tol["grad_rel_l2"], "ok": rel <= tol["grad_rel_l2"],
        }
    atol, limit = tol["x_adv"]["atol"], tol["x_adv"]["max_fraction_differing"]
    frac, worst = _fraction_differing(ref["step_next"], test["step_next"], atol)
    full, full_worst = _fraction_differing(ref["path"][-1], test["path"][-1], atol)
    checks_out["pgd_x_adv"] = {
        "fraction_differing_per_step": frac, "max_abs_diff": worst, "atol": atol,
        "max_fraction": limit, "ok": frac <= limit,
        "own_paths_fraction_differing_after_k_steps": full,
        "own_paths_max_abs_diff": full_worst,
        "note": "per step = each side steps once from the same reference iterate (sign flips "
                "at near-zero gradients); own paths = each side runs PGD-K alone and the paths "
                "drift apart after a flip, which is informational, not a parity failure",
    }  # fmt: skip
    k_limit = tol["kappa"]["max_fraction_differing"]
    k_frac = float((ref["step_correct"].cpu() != test["step_correct"].cpu()).double().mean())
    k_ref, k_own = ref["kappa"].cpu(), test["kappa"].cpu()
    checks_out["kappa"] = {
        "fraction_of_steps_differing": k_frac, "max_fraction": k_limit, "ok": k_frac <= k_limit,
        "mean_ref": float(k_ref.double().mean()),
        "mean_test_own_path": float(k_own.double().mean()),
        "own_paths_fraction_differing": float((k_ref != k_own).double().mean()),
        "note": "κ = Σ_t 1[f(x_t) = y]; per step = the indicator on the same reference "
                "iterate x_t",
    }  # fmt: skip
    out["checks"] = checks_out
    bad = [name for name, c in checks_out.items() if not c["ok"]]
    out["all_within_tolerance"] = not bad
    if bad:
        out["_status"] = f"failed(outside tolerance: {', '.join(bad)})"


# --------------------------------------------------------------------------------------------
# bf16


def _digits_model(ctx: Context) -> tuple[nn.Module, dict[str, Any]]:
    """The quick (dry-run: smoke) digits model, trained here by the trainer on the device."""
    if "digits" not in ctx.shared:
        cfg = get_profile(ctx.sizes.digits_profile, method="at", device=ctx.device.type,
                          threads=None)
        t0 = time.monotonic()
        run = train(cfg, cache_dir=ctx.workdir / "cache", use_cache=False, progress=False)
        info = {
            "profile": ctx.sizes.digits_profile, "method": "at", "epochs": cfg.epochs,
            "amp": cfg.amp, "train_seconds": round(time.monotonic() - t0, 2),
            "epoch_seconds_median": float(run.history["epoch_seconds"].median()),
            "history_nat_acc": run.nat_acc, "history_pgd_acc": run.pgd_acc,
            "eps": cfg.eps, "eval_step_size": cfg.effective_eval_step_size,
        }  # fmt: skip
        ctx.shared["digits"] = (run.model, info, cfg)
    model, info, _ = ctx.shared["digits"]
    return model, info


def section_bf16(ctx: Context, out: dict[str, Any]) -> None:
    """autocast bf16 + channels_last against fp32 on the device: PM, losses, digits accuracy."""
    tol = TOLERANCES["bf16"]
    dev, bf16 = ctx.device, torch.bfloat16
    fx = _parity_fixture(ctx)
    out["autocast"] = f"torch.autocast({dev.type!r}, dtype=torch.bfloat16) + channels_last"
    x, y = _on(fx["x"], dev), fx["y"].to(dev)
    x_cl = _on(fx["x"], dev, channels_last=True)
    fp32_model = _placed(fx["model"], dev, torch.float32)
    bf_model = _placed(fx["model"], dev, torch.float32, channels_last=True)
    x_adv = attacks.pgd(fp32_model, x, y, PAPER_EPS, 2 / 255, ctx.sizes.steps,
                        init=_on(fx["delta0"], dev))
    with _autocast(dev, bf16):
        x_adv_bf = attacks.pgd(bf_model, x_cl, y, PAPER_EPS, 2 / 255, ctx.sizes.steps,
                               init=_on(fx["delta0"], dev, channels_last=True))
    for key, inputs in (("pm", x_adv), ("pm_clean", x)):
        with torch.no_grad():
            pm32 = probabilistic_margin(fp32_model(inputs), y)
            with _autocast(dev, bf16):
                pm16 = probabilistic_margin(
                    bf_model(inputs.contiguous(memory_format=torch.channels_last)), y)
        diff = (pm16.double() - pm32.double()).abs()
        out[key] = {"max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
                    "bound": tol["pm_atol"], "within_bound": bool(diff.max() <= tol["pm_atol"])}
    out["pgd_x_adv_own_paths_fraction_differing"] = float(
        ((x_adv_bf.float() - x_adv).abs() > 1e-6).double().mean())
    losses: dict[str, Any] = {}
    for method in ("at", "trades", *PARITY_METHODS):
        values = []
        for amp, cl in ((None, False), (bf16, True)):
            net = _placed(fx["model"], dev, torch.float32, channels_last=cl)
            given = x_adv.contiguous(memory_format=torch.channels_last) if cl else x_adv
            with _autocast(dev, amp):
                loss = GivenAttack(method, ctx.sizes.steps, given, None).loss(
                    net, x_cl if cl else x, y, epoch=0).loss
                values.append(float(loss.detach()))
        rel = abs(values[1] - values[0]) / max(abs(values[0]), 1e-30)
        losses[method] = {"fp32": values[0], "bf16": values[1], "rel_diff": rel,
                          "within_bound": rel <= tol["loss_rtol"]}
    out["losses"] = losses
    out["loss_bound_rtol"] = tol["loss_rtol"]

    model, info = _digits_model(ctx)
    cfg = ctx.shared["digits"][2]
    test_set = data.load_dataset("digits", "test")
    n = ctx.sizes.digits_eval or len(test_set)
    xs, ys = test_set.x[:n].to(dev), test_set.y[:n].to(dev)
    acc: dict[str, Any] = {"images": n, "attack": f"PGD-20, eps {cfg.eps:g}, step "
                           f"{cfg.effective_eval_step_size:g}, uniform start, same generator"}
    for name, amp, cl in (("fp32", None, False), ("bf16_channels_last", bf16, True)):
        net = _placed(model, dev, torch.float32, channels_last=cl)
        gen = torch.Generator(device=dev).manual_seed(SEED + 1)
        nat, adv = held_out_accuracy(
            net, _on(xs, dev, channels_last=cl), ys, eps=cfg.eps,
            step_size=cfg.effective_eval_step_size, steps=20, generator=gen, autocast_dtype=amp,
        )  # fmt: skip
        acc[name] = {"nat_acc": 100.0 * float(nat) / n, "pgd20_acc": 100.0 * float(adv) / n}
    acc["nat_diff_pp"] = acc["bf16_channels_last"]["nat_acc"] - acc["fp32"]["nat_acc"]
    acc["pgd20_diff_pp"] = acc["bf16_channels_last"]["pgd20_acc"] - acc["fp32"]["pgd20_acc"]
    acc["bound_pp"] = tol["accuracy_pp"]
    acc["within_bound"] = (abs(acc["nat_diff_pp"]) <= tol["accuracy_pp"]
                           and abs(acc["pgd20_diff_pp"]) <= tol["accuracy_pp"])
    out["digits_model"] = info
    out["digits_accuracy"] = acc


# --------------------------------------------------------------------------------------------
# speed


def _mode_setup(mode: str) -> tuple[torch.dtype | None, bool]:
    """``fp32`` → (no autocast, contiguous); ``bf16_cl`` → (bf16 autocast, channels_last)."""
    return (None, False) if mode == "fp32" else (torch.bfloat16, True)


def _speed_batch(sizes: Sizes, dev: torch.device, channels_last: bool) -> tuple[Tensor, Tensor]:
    x = _on(synthetic_images(sizes.speed_batch, SEED + 3), dev, channels_last=channels_last)
    y = torch.randint(0, 10, (sizes.speed_batch,), generator=torch.Generator().manual_seed(SEED))
    return x, y.to(dev)


def _speed_table(samples: dict[str, list[float]], steps: int) -> dict[str, Any]:
    ms = {m: _median_ms(s) for m, s in samples.items()}
    clean = ms.get("clean")
    table: dict[str, Any] = {}
    for method, value in ms.items():
        ratio = value / ((steps + 1) * clean) if value and clean else None
        table[method] = {"ms_per_step": value, "ratio_to_k1_clean": ratio,
                         "samples_ms": [1e3 * s for s in samples[method]]}
    return table


def _speed_mode(ctx: Context, mode: str, template: nn.Module) -> dict[str, Any]:
    """Interleaved step times of :data:`SPEED_METHODS` in one mode (one model for all methods)."""
    dev, sizes = ctx.device, ctx.sizes
    amp, cl = _mode_setup(mode)
    model = _placed(template, dev, torch.float32, channels_last=cl).train()
    optimizer = _sgd(model)
    x, y = _speed_batch(sizes, dev, cl)
    fns = {}
    for method in SPEED_METHODS:
        objective = _paper_objective(method, sizes, dev)
        fns[method] = functools.partial(_train_step, model, optimizer, objective, x, y, amp)
    samples, rounds = interleaved(fns, sizes.warmup, sizes.timed, dev, ctx.budget)
    return {"rounds": rounds, "methods": _speed_table(samples, sizes.steps)}


def section_speed(ctx: Context, out: dict[str, Any]) -> None:
    """ms per training step, ResNet-18, PGD-K, fp32 and bf16 + channels_last."""
    sizes = ctx.sizes
    if ctx.cuda:
        torch.backends.cudnn.benchmark = True  # as the trainer does
    out["setup"] = {
        "model": "resnet18", "batch": sizes.speed_batch, "steps": sizes.steps,
        "profile": "paper (eps 8/255, step 2/255, each method's defaults)",
        "step": "objective.loss -> zero_grad -> backward -> SGD step (mailviz.train's loop)",
        "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32,
                 "cudnn": torch.backends.cudnn.allow_tf32} if ctx.cuda else None,
        "cudnn_benchmark": torch.backends.cudnn.benchmark if ctx.cuda else None,
    }  # fmt: skip
    template = models.build_model("resnet18", 10, 3, input_size=32)
    out["modes"] = {}
    for mode in ("fp32", "bf16_cl"):
        out["modes"][mode] = _speed_mode(ctx, mode, template)
        ctx.write()
    ms = {mode: {m: v["ms_per_step"] for m, v in r["methods"].items()}
          for mode, r in out["modes"].items()}
    ratios: dict[str, Any] = {}
    for mode, t in ms.items():
        if t.get("mail_trades") and t.get("trades"):
            ratios[f"{mode}_mail_trades_over_trades"] = t["mail_trades"] / t["trades"]
        if t.get("mail_at") and t.get("at"):
            ratios[f"{mode}_mail_at_over_at"] = t["mail_at"] / t["at"]
    for method in SPEED_METHODS:
        a, b = ms.get("fp32", {}).get(method), ms.get("bf16_cl", {}).get(method)
        if a and b:
            ratios[f"bf16_cl_over_fp32_{method}"] = b / a
    out["ratios"] = ratios
    a = ms.get("fp32", {}).get("mail_trades")
    b = ms.get("bf16_cl", {}).get("mail_trades")
    out["bf16_cl_mail_trades_faster_than_fp32"] = bool(a and b and b < a)
    ctx.shared["speed"] = ms


# --------------------------------------------------------------------------------------------
# host syncs


def count_host_syncs(fn: Callable[[], Any], device: torch.device) -> dict[str, Any] | None:
    """Host synchronisations ``fn`` triggers, by Python call site (CUDA's sync debug mode).

    ``None`` on other devices (there is nothing to wait for on the CPU).
    """
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode(0)
    torch.cuda.synchronize(device)  # outside the window: an explicit sync would count too
    sites = Counter(
        f"{Path(w.filename).name}:{w.lineno}" for w in caught
        if "synchroniz" in str(w.message).lower()
    )
    return {"count": sum(sites.values()), "sites": dict(sites)}


def _skip_context(skip: bool) -> contextlib.AbstractContextManager[None]:
    return checks.skip_host_syncs() if skip else contextlib.nullcontext()


def _checked_step(skip: bool, model: nn.Module, optimizer: torch.optim.Optimizer,
                  objective: objectives.Objective, x: Tensor, y: Tensor,
                  amp: torch.dtype | None) -> None:
    with _skip_context(skip):
        _train_step(model, optimizer, objective, x, y, amp)


def _same_results(ctx: Context, template: nn.Module, method: str, x: Tensor, y: Tensor,
                  amp: torch.dtype | None, cl: bool) -> dict[str, Any]:
    """One step from the same state, checks on twice (control) and skipped once: identical?

    Runs with cuDNN in deterministic mode. If the two checked runs already differ the platform
    is not bit-reproducible and equality cannot judge the switch; the differences are reported.
    """
    runs = []
    saved = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        for skip in (False, False, True):
            model = _placed(template, ctx.device, torch.float32, channels_last=cl).train()
            objective = _paper_objective(method, ctx.sizes, ctx.device, seed=SEED + 7)
            with _skip_context(skip):
                out = _train_step(model, _sgd(model), objective, x, y, amp)
            runs.append([out.loss.detach(), out.stats["weight"], out.stats["margin"],
                         torch.cat([p.detach().flatten() for p in model.parameters()])])
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved
    names = ("loss", "weight", "margin", "parameters_after_step")

    def compare(a: list[Tensor], b: list[Tensor]) -> dict[str, float]:
        return {n: float((u.double() - v.double()).abs().max()) for n, u, v in zip(names, a, b,
                                                                                     strict=True)}

    control, skipped = compare(runs[0], runs[1]), compare(runs[0], runs[2])
    reproducible = not any(control.values())
    return {
        "identical": not any(skipped.values()),
        "reproducible_without_switch": reproducible,
        "max_abs_diff_skipped": skipped,
        "max_abs_diff_control": control,
        "cudnn_deterministic": True,
    }


def section_host_sync(ctx: Context, out: dict[str, Any]) -> None:
    """Per-step host syncs with the checks on and skipped: count, cost, identical results."""
    dev, sizes = ctx.device, ctx.sizes
    out["switch"] = "mailviz.checks.skip_host_syncs() (trainer: MAILVIZ_SKIP_CHECKS=1)"
    out["sync_count_method"] = (
        "torch.cuda.set_sync_debug_mode('warn') during one step, warnings by call site"
        if ctx.cuda else "not available on the CPU (no device to wait for)"
    )
    cases = {
        "resnet18_bf16_cl": (models.build_model("resnet18", 10, 3, input_size=32), "bf16_cl",
                             sizes.speed_batch, (3, 32, 32)),
        "digits_cnn_fp32": (models.build_model("digits_cnn", 10, 1, input_size=8), "fp32",
                            sizes.digits_batch, (1, 8, 8)),
    }
    out["cases"] = {}
    for case, (template, mode, batch, shape) in cases.items():
        amp, cl = _mode_setup(mode)
        gen = torch.Generator().manual_seed(SEED + 4)
        x = _on(torch.rand((batch, *shape), generator=gen), dev, channels_last=cl)
        y = torch.randint(0, 10, (batch,), generator=gen).to(dev)
        model = _placed(template, dev, torch.float32, channels_last=cl).train()
        optimizer = _sgd(model)
        result: dict[str, Any] = {"mode": mode, "batch": batch, "steps": sizes.steps,
                                  "methods": {}}
        out["cases"][case] = result
        fns: dict[str, Callable[[], Any]] = {}
        for method in sizes.host_sync_methods:
            objective = _paper_objective(method, sizes, dev)
            for skip in (False, True):
                fns[f"{method}:{'skipped' if skip else 'checked'}"] = functools.partial(
                    _checked_step, skip, model, optimizer, objective, x, y, amp)
        samples, rounds = interleaved(fns, sizes.warmup, sizes.timed, dev, ctx.budget)
        result["rounds"] = rounds
        for method in sizes.host_sync_methods:
            on = _median_ms(samples[f"{method}:checked"])
            off = _median_ms(samples[f"{method}:skipped"])
            result["methods"][method] = {
                "ms_checked": on, "ms_skipped": off,
                "saved_ms": on - off if on is not None and off is not None else None,
                "skipped_over_checked": off / on if on and off else None,
                "syncs_checked": count_host_syncs(fns[f"{method}:checked"], dev),
                "syncs_skipped": count_host_syncs(fns[f"{method}:skipped"], dev),
            }  # fmt: skip
        result["same_results"] = _same_results(ctx, template, "mail_at", x, y, amp, cl)
        ctx.write()
    for case, c in out["cases"].items():
        same = c["same_results"]
        if same["reproducible_without_switch"] and not same["identical"]:
            out["_status"] = f"failed({case}: results differ with the checks skipped)"


# --------------------------------------------------------------------------------------------
# projections


def section_projections(ctx: Context, out: dict[str, Any]) -> None:
    """Paper-profile epoch and 120-epoch run per method and mode, from the measured step times."""
    speed = ctx.shared.get("speed")
    if not speed:
        out["_status"] = "skipped(no step times: the speed section did not run)"
        return
    dev, sizes = ctx.device, ctx.sizes
    steps_per_epoch = math.ceil(PAPER_TRAIN_IMAGES / sizes.speed_batch)
    out["assumptions"] = {
        "train_images": PAPER_TRAIN_IMAGES, "epochs": PAPER_EPOCHS, "batch": sizes.speed_batch,
        "steps_per_epoch": steps_per_epoch,
        "epoch": "steps_per_epoch x measured step + augmentation (random_crop_flip) per batch "
                 "+ held-out PGD-20 on the paper's eval subset (measured here); data already on "
                 "the device (CIFAR-10 is 150 MB), MAIL's burn-in epochs cost what the base "
                 "method costs",
    }  # fmt: skip
    # held-out evaluation as the trainer runs it (eval batch 256, PGD-20, step 0.003)
    template = models.build_model("resnet18", 10, 3, input_size=32)
    n_eval = sizes.eval_images
    eval_s: dict[str, float] = {}
    for mode in speed:
        amp, cl = _mode_setup(mode)
        net = _placed(template, dev, torch.float32, channels_last=cl).eval()
        xe = _on(synthetic_images(n_eval, SEED + 5), dev, channels_last=cl)
        ye = torch.zeros(n_eval, dtype=torch.long, device=dev)
        gen = torch.Generator(device=dev).manual_seed(SEED)

        def run(k: int, net: nn.Module = net, xe: Tensor = xe, ye: Tensor = ye,
                amp: torch.dtype | None = amp, gen: torch.Generator = gen) -> None:
            held_out_accuracy(net, xe[:k], ye[:k], eps=PAPER_EPS, step_size=PAPER_EVAL_STEP,
                              steps=sizes.eval_steps, batch_size=256, generator=gen,
                              autocast_dtype=amp)

        run(min(n_eval, 256))  # warm-up
        _sync(dev)
        t0 = time.perf_counter()
        run(n_eval)
        _sync(dev)
        eval_s[mode] = time.perf_counter() - t0
    xb = _on(synthetic_images(sizes.speed_batch, SEED + 6), dev)
    gen = torch.Generator(device=dev).manual_seed(SEED)
    aug, _ = interleaved({"aug": lambda: data.random_crop_flip(xb, generator=gen)},
                         sizes.warmup, max(sizes.timed, 5), dev, ctx.budget)
    aug_ms = _median_ms(aug["aug"]) or 0.0
    out["measured"] = {
        "held_out_eval_seconds": eval_s, "held_out_eval_images": n_eval,
        "held_out_eval_steps": sizes.eval_steps, "augmentation_ms_per_batch": aug_ms,
    }  # fmt: skip
    table: dict[str, Any] = {}
    for mode, methods in speed.items():
        table[mode] = {}
        for method, ms in methods.items():
            if ms is None:
                continue
            epoch_s = steps_per_epoch * (ms + aug_ms) / 1e3 + eval_s.get(mode, 0.0)
            table[mode][method] = {
                "epoch_seconds": epoch_s,
                "run_120_epochs_hours": PAPER_EPOCHS * epoch_s / 3600,
            }
    out["paper_profile"] = table
    adversarial = [v["run_120_epochs_hours"] for m, v in table.get("bf16_cl", {}).items()
                   if m != "clean"]
    if adversarial:
        out["lesson06_70_runs_gpu_hours_bf16_cl"] = [
            LESSON06_RUNS * min(adversarial), LESSON06_RUNS * max(adversarial)]


# --------------------------------------------------------------------------------------------
# WRN-34-10


def _is_oom(err: BaseException) -> bool:
    if isinstance(err, torch.cuda.OutOfMemoryError):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and (
        "out of memory" in text.lower() or "ALLOC_FAILED" in text)


def largest_batch(probe: Callable[[int], None], start: int, cap: int, device: torch.device,
                  budget: Budget, slack_s: float = 10.0) -> dict[str, Any]:
    """Doubling search for the largest batch ``probe`` runs without running out of memory.

    Tries ``start, 2·start, …`` up to ``cap``; an out-of-memory error ends the search (caught,
    then ``torch.cuda.empty_cache()``), any other error too (recorded). Returns the largest
    batch that fitted, the first that did not, and every probe with its peak memory.
    """
    tried: list[dict[str, Any]] = []
    fits: int | None = None
    stop = f"cap {cap} reached"
    batch = start
    while batch <= cap:
        if budget.left() < slack_s:
            stop = "budget"
            break
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        failure: str | None = None
        oom = False
        t0 = time.perf_counter()
        try:
            probe(batch)
            _sync(device)
        except BudgetExhausted:
            raise
        except Exception as err:  # noqa: BLE001 - OOM and friends end the search
            oom = _is_oom(err)
            failure = f"{type(err).__name__}: {_one_line(err, 160)}"
        peak = None
        if device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(device) / 2**30
            gc.collect()  # what the failed probe held is garbage now: hand it back
            torch.cuda.empty_cache()
        tried.append({"batch": batch, "fits": failure is None, "peak_gib": peak,
                      "seconds": round(time.perf_counter() - t0, 3), "error": failure})
        if failure is not None:
            stop = "out of memory" if oom else f"error: {failure}"
            break
        fits = batch
        batch *= 2
    first_fail = tried[-1]["batch"] if tried and not tried[-1]["fits"] else None
    return {"largest_fit": fits, "first_failed": first_fail, "stopped_by": stop,
            "tried": tried}


def _wrn(sizes: Sizes) -> nn.Module:
    torch.manual_seed(SEED)
    if sizes.wrn == "wrn34_10":
        return models.build_model("wrn34_10", 10, 3, input_size=32)
    return models.WideResNet(10, 1, 3, 10)  # the dry-run's stand-in


def section_wrn(ctx: Context, out: dict[str, Any]) -> None:
    """WRN-34-10 PGD-20 throughput (lesson 08) and the largest batch that fits at bf16."""
    dev, sizes = ctx.device, ctx.sizes
    template = _wrn(sizes)
    out["model"] = sizes.wrn if sizes.wrn == "wrn34_10" else f"{sizes.wrn} (dry-run stand-in)"
    out["parameters"] = models.count_parameters(template)
    steps = sizes.eval_steps
    out["attack"] = {"steps": steps, "eps": PAPER_EPS, "step_size": 0.1 * PAPER_EPS,
                     "start": "uniform", "batch": sizes.wrn_batch,
                     "lesson08": "6 PGD-20 runs per model over 1,000 images at R = 1, fp32"}
    throughput: dict[str, Any] = {}
    out["throughput"] = throughput
    for mode in ("fp32", "bf16_cl"):
        amp, cl = _mode_setup(mode)
        net = _placed(template, dev, torch.float32, channels_last=cl).eval()
        x = _on(synthetic_images(sizes.wrn_batch, SEED + 8), dev, channels_last=cl)
        y = torch.zeros(sizes.wrn_batch, dtype=torch.long, device=dev)
        gen = torch.Generator(device=dev).manual_seed(SEED)

        def attack(net: nn.Module = net, x: Tensor = x, y: Tensor = y,
                   amp: torch.dtype | None = amp, gen: torch.Generator = gen) -> None:
            with _autocast(dev, amp):
                attacks.pgd(net, x, y, PAPER_EPS, 0.1 * PAPER_EPS, steps, generator=gen)

        samples, rounds = interleaved({mode: attack}, 1, sizes.wrn_timed, dev, ctx.budget)
        if samples[mode]:
            run_s = statistics.median(samples[mode])
            ips = sizes.wrn_batch / run_s
            throughput[mode] = {
                "seconds_per_pgd_run": run_s, "images_per_s": ips, "rounds": rounds,
                "lesson08_seconds_per_model_1000_images_r1":
                    LESSON08_PGD_RUNS * LESSON08_IMAGES / ips,
            }  # fmt: skip
        del net, x, attack  # the closure holds them too
        ctx.write()

    amp, cl = _mode_setup("bf16_cl")

    def probe_attack(batch: int) -> None:
        net = _placed(template, dev, torch.float32, channels_last=True).eval()
        x = _on(synthetic_images(batch, SEED + 9), dev, channels_last=True)
        y = torch.zeros(batch, dtype=torch.long, device=dev)
        with _autocast(dev, amp):
            attacks.pgd(net, x, y, PAPER_EPS, 0.1 * PAPER_EPS, 1)

    def probe_train(batch: int) -> None:
        net = _placed(template, dev, torch.float32, channels_last=True).train()
        x = _on(synthetic_images(batch, SEED + 9), dev, channels_last=True)
        y = torch.zeros(batch, dtype=torch.long, device=dev)
        objective = _paper_objective("mail_trades", replace_steps(sizes, 1), dev)
        _train_step(net, _sgd(net), objective, x, y, amp)

    out["largest_batch_bf16"] = {
        "search": f"doubling from {sizes.wrn_batch_start} up to {sizes.wrn_batch_cap}",
        "pgd_attack": largest_batch(probe_attack, sizes.wrn_batch_start, sizes.wrn_batch_cap,
                                    dev, ctx.budget),
    }
    ctx.write()
    out["largest_batch_bf16"]["mail_trades_training_step"] = largest_batch(
        probe_train, sizes.wrn_batch_start, sizes.wrn_batch_cap, dev, ctx.budget)


def replace_steps(sizes: Sizes, steps: int) -> Sizes:
    """``sizes`` with another K (memory probes need one attack step: the peak is the same)."""
    return Sizes(**{**asdict(sizes), "steps": steps})


# --------------------------------------------------------------------------------------------
# torchrun


def section_torchrun(ctx: Context, out: dict[str, Any]) -> None:
    """One ``torchrun --standalone --nproc_per_node 1`` run of :func:`ddp_worker`."""
    result_file = ctx.workdir / "ddp_worker.json"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1",
        str(Path(__file__).resolve()), "--ddp-worker", "--device", ctx.device.type,
        "--out", str(result_file),
    ]  # fmt: skip
    out["command"] = " ".join(cmd[1:]).replace("-m torch.distributed.run", "torchrun", 1)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MAILVIZ_CACHE"] = str(ctx.workdir / "torchrun-cache")
    timeout = max(5.0, min(240.0, ctx.budget.left() - 5.0))
    t0 = time.monotonic()
    # its own session, so that a timeout (or the budget timer) ends the launcher *and* its
    # worker: killing torchrun alone would leave the worker holding the device
    proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except BaseException as err:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        out["seconds_wall"] = round(time.monotonic() - t0, 2)
        out["output_tail"] = output.splitlines()[-20:]
        if isinstance(err, subprocess.TimeoutExpired):
            out["_status"] = f"failed(timed out after {timeout:.0f} s)"
            return
        raise
    out["rc"] = proc.returncode
    out["seconds_wall"] = round(time.monotonic() - t0, 2)
    if result_file.exists():
        out["worker"] = json.loads(result_file.read_text())
    if proc.returncode != 0 or "worker" not in out:
        out["output_tail"] = output.splitlines()[-20:]
        out["_status"] = f"failed(torchrun exited with {proc.returncode})"
    elif not out["worker"].get("ok", False):
        out["_status"] = "failed(the worker reported a failed check)"


def ddp_worker(device_type: str, result_file: Path) -> int:
    """One torchrun rank: process group, all-reduce, DDP MAIL-TRADES steps, ``mailviz train``."""
    import torch.distributed as dist

    from mailviz.cli import main as cli_main

    t0 = time.monotonic()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device_type == "cuda"
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    backend = "nccl" if cuda else "gloo"
    dist.init_process_group(backend=backend)
    world, rank = dist.get_world_size(), dist.get_rank()
    result: dict[str, Any] = {"backend": backend, "world_size": world, "rank": rank,
                              "device": str(device)}
    t = torch.full((4,), float(rank + 1), device=device)
    dist.all_reduce(t)
    result["all_reduce_ok"] = t.tolist() == [world * (world + 1) / 2] * 4

    torch.manual_seed(SEED)
    model = models.build_model("digits_cnn", 10, 1, input_size=8).to(device)
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    cfg = get_profile("smoke", method="mail_trades", device=device_type, threads=None)
    objective = objectives.build_objective(
        cfg, generator=torch.Generator(device=device).manual_seed(SEED))
    train_set = data.load_dataset("digits", "train")
    x, y = train_set.x[:64].to(device), train_set.y[:64].to(device)
    optimizer = _sgd(model)
    losses = []
    for _ in range(3):
        out = objective.loss(ddp, x, y, epoch=0, attack_model=ddp.module)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        losses.append(float(out.loss))
    result["ddp_mail_trades_losses"] = losses
    result["ddp_finite"] = all(math.isfinite(v) for v in losses)
    dist.barrier()
    dist.destroy_process_group()
    result["ddp_seconds"] = round(time.monotonic() - t0, 2)

    t1 = time.monotonic()
    cache = Path(os.environ.get("MAILVIZ_CACHE", tempfile.mkdtemp()))
    result["cli_train_rc"] = cli_main([
        "train", "--profile", "smoke", "--set", f"device={device_type}", "--cache-dir",
        str(cache), "--no-cache", "--quiet",
    ])  # fmt: skip
    result["cli_train_seconds"] = round(time.monotonic() - t1, 2)
    result["ok"] = result["all_reduce_ok"] and result["ddp_finite"] and result["cli_train_rc"] == 0
    text = json.dumps(_clean(result), indent=2, allow_nan=False) + "\n"
    atomic_write(result_file, lambda fh: fh.write(text))
    return 0 if result["ok"] else 1


# --------------------------------------------------------------------------------------------
# torch.compile


def section_compile(ctx: Context, out: dict[str, Any]) -> None:
    """The speed table under ``torch.compile`` (bf16 + channels_last), per method where it works."""
    dev, sizes = ctx.device, ctx.sizes
    backend = sizes.compile_backend
    out["backend"] = backend
    out["mode"] = "bf16_cl"
    import torch._dynamo as dynamo

    amp, cl = _mode_setup("bf16_cl")
    dynamo.reset()
    template = models.build_model("resnet18", 10, 3, input_size=32)
    model = _placed(template, dev, torch.float32, channels_last=cl).train()
    compiled = torch.compile(model, backend=backend)
    optimizer = _sgd(model)
    x, y = _speed_batch(sizes, dev, cl)
    per_method: dict[str, Any] = {}
    out["methods"] = per_method
    fns: dict[str, Callable[[], Any]] = {}
    for method in sizes.compile_methods:
        objective = _paper_objective(method, sizes, dev)

        def step(o: objectives.Objective = objective) -> None:
            _train_step(compiled, optimizer, o, x, y, amp)

        _sync(dev)
        t0 = time.perf_counter()
        try:
            step()
            _sync(dev)
        except BudgetExhausted:
            raise
        except Exception as err:  # noqa: BLE001 - record where compile does not work
            per_method[method] = {"status": f"failed({type(err).__name__}: {_one_line(err)})"}
            continue
        per_method[method] = {"status": "ok",
                              "first_step_seconds": round(time.perf_counter() - t0, 2)}
        fns[method] = step
        ctx.write()
    samples, rounds = interleaved(fns, max(sizes.warmup - 1, 1), sizes.timed, dev, ctx.budget)
    out["rounds"] = rounds
    table = _speed_table(samples, sizes.steps)
    eager = (ctx.shared.get("speed") or {}).get("bf16_cl", {})
    for method, row in table.items():
        per_method[method].update(row)
        if row["ms_per_step"] and eager.get(method):
            per_method[method]["compiled_over_eager"] = row["ms_per_step"] / eager[method]
    failed = [m for m, v in per_method.items() if v["status"] != "ok"]
    if failed:
        out["does_not_work_for"] = failed


# --------------------------------------------------------------------------------------------
# report


def environment(device: torch.device) -> dict[str, Any]:
    """Versions, device and host facts for the JSON."""
    env: dict[str, Any] = {
        "torch": str(torch.__version__),
        "cuda": torch.version.cuda,  # the CUDA torch was built with
        "cuda_available": torch.cuda.is_available(),
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(
            device_name=props.name, capability=f"{props.major}.{props.minor}",
            total_memory_gib=round(props.total_memory / 2**30, 2),
            multiprocessors=props.multi_processor_count,
            bf16_supported=torch.cuda.is_bf16_supported(),
        )  # fmt: skip
        with contextlib.suppress(Exception):
            nccl = torch.cuda.nccl.version()
            env["nccl"] = ".".join(map(str, nccl)) if isinstance(nccl, tuple) else str(nccl)
    else:
        env["device_name"] = f"CPU ({platform.machine()})"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        env["mailviz_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5,
            check=True,
        ).stdout.strip()
    return env


def _fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def summary(report: dict[str, Any]) -> str:
    """The short table printed at the end."""
    env, sections = report["environment"], report["sections"]
    lines = [
        f"mailviz GPU check{' (DRY RUN, CPU)' if report['dry_run'] else ''} — "
        f"{env.get('device_name')} — torch {env['torch']}, CUDA {env['cuda']} — "
        f"{report.get('elapsed_s', 0):.0f} s of {report['budget_s']:g} s",
        f"{'section':<12} {'status':<10} notes",
    ]
    for name in SECTIONS:
        s = sections.get(name)
        if s is None:
            continue
        status = s["status"]
        short = status.split("(")[0]
        try:
            note = status[len(short):].strip("()") if short != "ok" else _note(name, s)
        except (KeyError, TypeError, ValueError, AttributeError):  # partial data
            note = "(see the JSON)"
        lines.append(f"{name:<12} {short:<10} {note}")
    speed = sections.get("speed", {}).get("modes", {})
    comp = sections.get("compile", {}).get("methods", {})
    if speed:
        lines.append("ms per training step (ratio to (K+1) clean steps)")
        lines.append(f"{'method':<12} {'fp32':>16} {'bf16+CL':>16} {'compile':>16}")
        for method in SPEED_METHODS:
            cells = []
            for table in (speed.get("fp32", {}).get("methods", {}),
                          speed.get("bf16_cl", {}).get("methods", {}), comp):
                row = table.get(method, {})
                ms, ratio = row.get("ms_per_step"), row.get("ratio_to_k1_clean")
                cell = _fmt(ms) + (f" ({ratio:.2f})" if ratio is not None and method != "clean"
                                   else "")
                cells.append(f"{cell:>16}")
            lines.append(f"{method:<12} " + " ".join(cells))
    return "\n".join(lines)


def _note(name: str, s: dict[str, Any]) -> str:
    """One headline per section for the table."""
    if name == "parity":
        c = s["checks"]
        worst = max(v["max_rel_diff"] for k, v in c.items() if k.endswith("_loss"))
        pm = max(c["pm"]["max_abs_diff"], c["pm_clean"]["max_abs_diff"])
        return (f"PM max|Δ| {pm:.1e}; loss max rel {worst:.1e}; x_adv "
                f"{100 * c['pgd_x_adv']['fraction_differing_per_step']:.3f}% differ per "
                f"step; κ {100 * c['kappa']['fraction_of_steps_differing']:.1f}% differ")
    if name == "bf16":
        a = s["digits_accuracy"]
        pm = max(s["pm"]["max_abs_diff"], s["pm_clean"]["max_abs_diff"])
        return (f"PM max|Δ| {pm:.3f}; NAT {a['fp32']['nat_acc']:.1f} vs "
                f"{a['bf16_channels_last']['nat_acc']:.1f}; PGD-20 {a['fp32']['pgd20_acc']:.1f} "
                f"vs {a['bf16_channels_last']['pgd20_acc']:.1f}")
    if name == "speed":
        r = s.get("ratios", {}).get("bf16_cl_over_fp32_mail_trades")
        return f"MAIL-TRADES bf16+CL / fp32 = {_fmt(r, '.2f')}"
    if name == "host_sync":
        parts = []
        for case, c in s.get("cases", {}).items():
            m = c["methods"].get("mail_at", {})
            syncs = m.get("syncs_checked")
            parts.append(f"{case} MAIL-AT {_fmt(m.get('ms_checked'))} -> "
                         f"{_fmt(m.get('ms_skipped'))} ms"
                         + (f", {syncs['count']} syncs" if syncs else ""))
        return "; ".join(parts)
    if name == "projections":
        row = s.get("paper_profile", {}).get("bf16_cl", {}).get("mail_trades")
        return ("paper MAIL-TRADES bf16+CL: "
                f"{_fmt(row and row['epoch_seconds'], '.0f')} s/epoch, "
                f"{_fmt(row and row['run_120_epochs_hours'], '.1f')} h/120 epochs")
    if name == "wrn":
        t = s.get("throughput", {})
        lb = s.get("largest_batch_bf16", {}).get("pgd_attack", {})
        return (f"PGD-20 fp32 {_fmt(t.get('fp32', {}).get('images_per_s'), '.0f')} img/s, "
                f"bf16 {_fmt(t.get('bf16_cl', {}).get('images_per_s'), '.0f')} img/s; largest "
                f"bf16 attack batch {lb.get('largest_fit')}")
    if name == "torchrun":
        w = s.get("worker", {})
        return f"{w.get('backend')} rc {s.get('rc')}, {s.get('seconds_wall')} s"
    if name == "compile":
        bad = s.get("does_not_work_for")
        return f"backend {s.get('backend')}" + (f"; fails for {', '.join(bad)}" if bad else "")
    return ""


SECTION_FUNCTIONS: dict[str, Callable[[Context, dict[str, Any]], None]] = {
    "parity": section_parity, "bf16": section_bf16, "speed": section_speed,
    "host_sync": section_host_sync, "projections": section_projections, "wrn": section_wrn,
    "torchrun": section_torchrun, "compile": section_compile,
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The command line (``--help`` explains every option)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Writes one JSON file and prints a table.",
        epilog="Sections, in order: " + ", ".join(SECTIONS) + ". See the module docstring "
        "(benchmarks/gpu_check.py) for what each measures and how.",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="FILE.json",
                        help="where to write the results (JSON, rewritten atomically after "
                        "every section, so a run cut short keeps what it measured)")
    parser.add_argument("--dry-run", action="store_true",
                        help="run every section on the CPU at tiny sizes (batch 4, PGD-2, a tiny "
                        "WRN stand-in, parity CPU fp32 vs CPU fp64, gloo, compile backend "
                        "'eager') to test the code path without a GPU; its numbers mean nothing")
    parser.add_argument("--budget-s", type=float, default=480.0, metavar="S",
                        help="wall-clock budget in seconds, counted from the start (default "
                        "480); sections that no longer fit are skipped and a timer stops the "
                        "run a few seconds before it")
    parser.add_argument("--sections", default=",".join(SECTIONS), metavar="LIST",
                        help="comma-separated subset of the sections to run (always in the "
                        f"order above; default: all = {','.join(SECTIONS)})")
    parser.add_argument("--device", default=None,
                        help="device to measure (default: cuda:0, the first CUDA device; cpu "
                        "with --dry-run)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: $MAILVIZ_THREADS, else torch's "
                        "default; the CPU reference of the parity section uses them)")
    parser.add_argument("--compile-backend", default=None,
                        help="torch.compile backend of the compile section (default: inductor; "
                        "eager with --dry-run, which traces with dynamo but generates no code)")
    parser.add_argument("--ddp-worker", action="store_true",
                        help="internal: run as one torchrun rank of the torchrun section "
                        "(process group, DDP steps, mailviz train) and write its result to --out")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; 0 when every section is ok or skipped, 1 when one failed."""
    args = build_parser().parse_args(argv)
    set_threads(args.threads)
    if args.ddp_worker:
        return ddp_worker(args.device or "cpu", args.out)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        build_parser().error(f"unknown section(s) {unknown}; valid: {', '.join(SECTIONS)}")
    sizes = DRY if args.dry_run else FULL
    if args.compile_backend:
        sizes = Sizes(**{**asdict(sizes), "compile_backend": args.compile_backend})
    device = torch.device(args.device or ("cpu" if args.dry_run else "cuda:0"))
    budget = Budget(args.budget_s, sizes.reserve_s, _T0)
    report: dict[str, Any] = {
        "format": FORMAT, "version": VERSION,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "dry_run": bool(args.dry_run), "argv": list(sys.argv[1:] if argv is None else argv),
        "budget_s": args.budget_s, "reserve_s": sizes.reserve_s,
        "environment": {}, "sizes": asdict(sizes),
        "method": {
            "timing": "each timed call bracketed by torch.cuda.synchronize (CUDA); methods "
                      "interleaved round by round; median of the timed rounds",
            "warmup_rounds": sizes.warmup, "timed_rounds": sizes.timed, "statistic": "median",
            "clock": "time.perf_counter",
            "ratio_to_k1_clean": "ms(method) / ((K + 1) * ms(clean)) with K the PGD steps",
        },
        "tolerances": TOLERANCES,
        "sections": {},
    }  # fmt: skip
    out = args.out
    if device.type == "cuda" and not torch.cuda.is_available():
        report["environment"] = environment(torch.device("cpu"))
        for name in sections:
            report["sections"][name] = {
                "status": "skipped(no CUDA device here: use --dry-run to test on the CPU)"}
        text = json.dumps(_clean(report), indent=2) + "\n"
        atomic_write(out, lambda fh: fh.write(text))
        print(f"gpu_check: no CUDA device; wrote {out} with every section skipped",
              file=sys.stderr)
        return 2
    report["environment"] = environment(device)
    with tempfile.TemporaryDirectory(prefix="mailviz-gpu-check-") as tmp:
        ctx = Context(device=device, sizes=sizes, budget=budget, dry_run=args.dry_run,
                      workdir=Path(tmp), report=report, out=out)
        ctx.write()
        with budget.armed():
            for name in SECTIONS:
                if name in sections:
                    run_section(ctx, name, SECTION_FUNCTIONS[name])
                    gc.collect()
                    if ctx.cuda:
                        torch.cuda.empty_cache()
        report["stopped_early"] = budget.exhausted
        ctx.write()
    print(summary(report))
    print(f"wrote {out}")
    failed = [n for n, s in report["sections"].items() if s["status"].startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
