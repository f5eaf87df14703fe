"""Throughput of mailviz's PGD and its overhead against a minimal hand-written PGD loop.

For each model (``digits_cnn`` on 8×8×1 digits-sized inputs, ``resnet18`` on 32×32×3 CIFAR-sized
inputs) it times PGD-10 with the cross-entropy loss, uniform start, ε = 8/255, α = 2/255:

* ``minimal``      — a hand-written loop with the same math (the baseline);
* ``pgd``          — ``pgd(...)`` returning the tensor (``record=False``);
* ``pgd+kappa``    — ``pgd(..., return_result=True, final_logits=False)``: κ, no extra forward
                     (what a GAIRAT/MAIL training step calls);
* ``pgd+result``   — ``pgd(..., return_result=True)``: κ plus the final forward for the logits;
* ``pgd+record``   — ``pgd(..., return_result=True, record=True)``: every iterate stored.

Variants are interleaved within every repeat (in a rotating order, so drift on a shared machine
hits all of them alike), after one warm-up call each. Reported: median and minimum seconds per
PGD-10 call, images/s from the median, and the cost relative to ``minimal`` twice: the median
of the per-repeat ratios, and the ratio of the minima (the better estimate of intrinsic cost
when other processes share the cores).

Usage:
    python benchmarks/bench_attacks.py --threads 1
    python benchmarks/bench_attacks.py --device cuda --batch 512 --repeats 10
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz.attacks import pgd
from mailviz.models import build_model

EPS, STEP, STEPS = 8 / 255, 2 / 255, 10


def minimal_pgd(
    model: nn.Module, x: Tensor, y: Tensor, eps: float, alpha: float, steps: int, gen
) -> Tensor:
    """The textbook loop: uniform start, sign step, project, clamp (model already in eval)."""
    u = torch.rand(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    x_adv = torch.min(torch.max(x + (2 * u - 1) * eps, x - eps), x + eps).clamp(0, 1)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + alpha * grad.sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
    return x_adv


def _generator(device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(0)


def variants(model: nn.Module, x: Tensor, y: Tensor) -> dict[str, Callable[[], object]]:
    dev = x.device

    def minimal() -> object:
        model.eval()
        return minimal_pgd(model, x, y, EPS, STEP, STEPS, _generator(dev))

    return {
        "minimal": minimal,
        "pgd": lambda: pgd(model, x, y, EPS, STEP, STEPS, generator=_generator(dev)),
        "pgd+kappa": lambda: pgd(
            model,
            x,
            y,
            EPS,
            STEP,
            STEPS,
            generator=_generator(dev),
            return_result=True,
            final_logits=False,
        ),  # fmt: skip
        "pgd+result": lambda: pgd(
            model, x, y, EPS, STEP, STEPS, generator=_generator(dev), return_result=True
        ),
        "pgd+record": lambda: pgd(
            model,
            x,
            y,
            EPS,
            STEP,
            STEPS,
            generator=_generator(dev),
            return_result=True,
            record=True,
        ),  # fmt: skip
    }


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    begin = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - begin


def bench_model(name: str, shape: tuple[int, ...], batch: int, repeats: int, device) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_classes=10, in_channels=shape[0]).to(device)
    x = torch.rand(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    runs = variants(model, x, y)

    same = torch.equal(runs["minimal"](), runs["pgd"]())  # also serves as the warm-up
    for fn in runs.values():
        _timed(fn, device)  # one warm-up call each

    names = list(runs)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for k in order:
            times[k].append(_timed(runs[k], device))

    print(f"\n{name}: input {batch}×{'×'.join(map(str, shape))}, PGD-{STEPS} CE, uniform start")
    print(f"  minimal and pgd give identical x_adv: {same}")
    print(
        f"  {'variant':<11} {'median s':>9} {'min s':>8} {'images/s':>9} "
        f"{'×minimal (median of ratios)':>28} {'×minimal (ratio of minima)':>27}"
    )
    for k in names:
        ratios = [t / m for t, m in zip(times[k], times["minimal"], strict=True)]
        med = statistics.median(times[k])
        print(
            f"  {k:<11} {med:>9.4f} {min(times[k]):>8.4f} {batch / med:>9.1f} "
            f"{statistics.median(ratios):>28.3f} {min(times[k]) / min(times['minimal']):>27.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument(
        "--batch", type=int, default=None,
        help="batch for every model (default: digits_cnn 256; resnet18 32 on CPU, 256 on CUDA)",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per variant")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--models",
        nargs="+",
        default=["digits_cnn", "resnet18"],
        choices=["digits_cnn", "resnet18"],
    )
    args = parser.parse_args()
    if args.repeats < 1 or args.threads < 1 or (args.batch is not None and args.batch < 1):
        parser.error("--repeats, --threads and --batch must be ≥ 1")
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    torch.set_num_threads(args.threads)

    what = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(
        f"device {device} ({what or platform.machine()}), torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, python {platform.python_version()}"
    )
    print(
        f"repeats {args.repeats} per variant, interleaved in rotating order after 1 warm-up call "
        "each; times are wall-clock seconds per PGD-10 call (CUDA synchronised)"
    )
    for name in args.models:
        if name == "digits_cnn":
            bench_model(name, (1, 8, 8), args.batch or 256, args.repeats, device)
        else:
            default = 256 if device.type == "cuda" else 32
            bench_model(name, (3, 32, 32), args.batch or default, args.repeats, device)


if __name__ == "__main__":
    main()
