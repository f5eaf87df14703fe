"""Time one training step of each method, the way :func:`mailviz.train.train` takes it.

A step is ``objective.loss(...)`` (inner maximisation + training forward) → ``zero_grad`` →
``backward`` → ``optimizer.step`` → ``objective.after_step`` — the body of the training loop,
with the same autocast / channels_last choices on CUDA. Methods are timed *interleaved* (one step
of each method per round, rounds repeated), after warm-up steps, and the median per method is
reported, so a slow spell on a shared machine hits every method alike.

The ratios that matter:

* MAIL-TRADES / TRADES — the weights cost one softmax over logits TRADES already has; target
  ≤ 1.03 (measured against the authors' code: their MAIL-TRADES costs ≈ 1.5× their MAIL-AT
  because their attack recomputes f(x) every step).
* MAIL-AT / AT — same idea for AT.
* AT (PGD-10) / (11 × clean) — a K-step PGD step costs K + 1 forward/backward passes; target
  ≤ 1.10 (no hidden overhead in the attack loop).

Usage::

    python benchmarks/bench_train.py --threads 1 --models digits_cnn,resnet18 --repeats 5
    python benchmarks/bench_train.py --device cuda --models resnet18 --repeats 20
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mailviz.config import ExperimentConfig, resolve_device, set_threads  # noqa: E402
from mailviz.objectives import build_objective  # noqa: E402
from mailviz.train import _amp_dtype, _autocast, _use_channels_last, build_model_for  # noqa: E402

METHODS = ("clean", "at", "trades", "mail_at", "mail_trades", "gairat", "weighted_at")
#: model → (dataset it is shaped for, batch size, eps, step size)
SETUPS = {
    "digits_cnn": ("digits", 64, 0.2, 0.05),
    "resnet18": ("cifar10", 32, 8 / 255, 2 / 255),
}


def _config(model: str, method: str, device: str, steps: int) -> ExperimentConfig:
    dataset, batch, eps, step = SETUPS[model]
    return ExperimentConfig(
        dataset=dataset, model=model, method=method, eps=eps, step_size=step, steps=steps,
        batch_size=batch, device=device, threads=None, milestones=(),
    ).validate()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bench_model(
    model_name: str, methods: Sequence[str], device: torch.device, repeats: int, warmup: int,
    steps: int,
) -> dict[str, list[float]]:
    """Seconds per training step of each method (``repeats`` interleaved samples each)."""
    torch.manual_seed(0)
    dataset, batch, _, _ = SETUPS[model_name]
    base_cfg = _config(model_name, "clean", str(device), steps)
    from mailviz.data import dataset_info

    shape = tuple(dataset_info(dataset)["input_shape"])
    x = torch.rand((batch, *shape), device=device)
    y = torch.randint(0, dataset_info(dataset)["num_classes"], (batch,), device=device)
    channels_last = _use_channels_last(base_cfg, device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    amp = _amp_dtype(base_cfg, device)
    template = build_model_for(base_cfg)

    runs = {}
    for method in methods:
        cfg = _config(model_name, method, str(device), steps)
        model = copy.deepcopy(template).to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        gen = torch.Generator(device=device).manual_seed(1)
        scaler = torch.amp.GradScaler("cuda", enabled=amp == torch.float16)
        runs[method] = (model, opt, build_objective(cfg, generator=gen), scaler)

    def step(method: str) -> float:
        model, opt, objective, scaler = runs[method]
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        with _autocast(device, amp):
            out = objective.loss(model, x, y, epoch=0, attack_model=model)
        opt.zero_grad(set_to_none=True)
        scaler.scale(out.loss).backward()
        scaler.step(opt)
        scaler.update()
        objective.after_step(model)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - t0

    for _ in range(warmup):
        for method in methods:
            step(method)
    times: dict[str, list[float]] = {m: [] for m in methods}
    for _ in range(repeats):
        for method in methods:
            times[method].append(step(method))
    return times


def _ratio(med: dict[str, float], num: str, den: str, factor: float = 1.0) -> float | None:
    if num in med and den in med:
        return med[num] / (factor * med[den])
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up rounds (default 2)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda (default auto)")
    parser.add_argument("--models", default="digits_cnn,resnet18",
                        help=f"comma-separated, from {', '.join(SETUPS)}")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    parser.add_argument("--steps", type=int, default=10, help="PGD steps K (default 10)")
    args = parser.parse_args(argv)

    threads = set_threads(args.threads)
    device = resolve_device(args.device)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in models if m not in SETUPS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(SETUPS)}")

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    print("# mailviz training-step benchmark")
    print(f"device: {device}{f' ({gpu})' if gpu else ''}; CPU: {_cpu_name()}; "
          f"torch threads: {threads}; torch {torch.__version__}; python "
          f"{platform.python_version()}")
    amp = _amp_dtype(_config("resnet18", "clean", str(device), args.steps), device)
    print(f"measured: median of {args.repeats} interleaved rounds (one step of every method per "
          f"round) after {args.warmup} warm-up rounds; PGD-{args.steps}; "
          f"autocast: {amp if amp is not None else 'off (fp32)'}; "
          f"batches: " + ", ".join(f"{m} {SETUPS[m][1]}" for m in models))
    print()

    for model_name in models:
        dataset, batch, eps, _ = SETUPS[model_name]
        t0 = time.perf_counter()
        times = bench_model(model_name, methods, device, args.repeats, args.warmup, args.steps)
        med = {m: statistics.median(v) for m, v in times.items()}
        print(f"## {model_name} (input shaped like {dataset}, batch {batch}, eps {eps:.4g}; "
              f"{time.perf_counter() - t0:.0f} s)")
        print(f"{'method':<13}{'median ms':>11}{'min ms':>9}{'max ms':>9}{'× clean':>9}")
        for m in methods:
            rel = f"{med[m] / med['clean']:.2f}" if "clean" in med else "-"
            print(f"{m:<13}{1e3 * med[m]:>11.2f}{1e3 * min(times[m]):>9.2f}"
                  f"{1e3 * max(times[m]):>9.2f}{rel:>9}")
        low = {m: min(v) for m, v in times.items()}
        checks = [
            ("MAIL-TRADES / TRADES", "mail_trades", "trades", 1.0, 1.03),
            ("MAIL-AT / AT", "mail_at", "at", 1.0, 1.03),
            (f"AT (PGD-{args.steps}) / ({args.steps + 1} × clean)", "at", "clean",
             args.steps + 1.0, 1.10),
            ("GAIRAT / AT", "gairat", "at", 1.0, None),
            ("weighted_at / AT", "weighted_at", "at", 1.0, None),
        ]
        print("ratios of medians (and of minima: the uncontended cost on a shared machine)")
        for label, num, den, factor, target in checks:
            value = _ratio(med, num, den, factor)
            if value is None:
                continue
            best = _ratio(low, num, den, factor)
            verdict = "" if target is None else (
                f"  target ≤ {target:.2f}: {'ok' if value <= target else 'MISSED'}")
            print(f"  {label:<32}{value:6.3f}  (min {best:6.3f}){verdict}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
