"""Which verdicts may a lesson assert? Run the lessons at several base seeds and thread counts.

A lesson asserts a claim's verdict only when it is the same (and not *inconclusive*) for base
seeds 0, 10 and 20 at one torch thread and for base seed 0 at two threads
(:data:`mailviz.claims.STABILITY_RUNS`). This script produces that evidence: for each
``SEED:THREADS`` it runs every lesson at the quick profile with 3 replicates (``mailviz figures
-p SEED …``) in its own model cache and figure folder, reads the lessons' ``claims.csv`` files
and writes all verdicts to ``mailviz/claims/stability.json`` — the registry
:func:`mailviz.claims.asserted` reads.

Usage (from the repository root; each run trains its models from scratch unless its cache is
warm — about a quarter of an hour on two cores)::

    python benchmarks/verdict_stability.py --runs 0:1 10:1 20:1 0:2
    python benchmarks/verdict_stability.py --runs 0:1 --figures 0:1=figures   # reuse a run

``--figures SEED:THREADS=DIR`` takes the claims of an existing run from DIR instead of running
it (e.g. the committed ``figures/`` of ``make figures``). Two-thread runs use one worker process
(two processes with two threads each would fight over two cores). Each run's wall time is
printed and stored in the registry.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailviz.checkpoint import atomic_write  # noqa: E402
from mailviz.claims import STABILITY_FILE, STABILITY_RUNS, asserted, collect  # noqa: E402
from mailviz.claims.report import STABILITY_PROFILE, STABILITY_REPLICATES  # noqa: E402


def _pair(text: str) -> tuple[int, int]:
    seed, _, threads = text.partition(":")
    try:
        pair = int(seed), int(threads or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected SEED:THREADS such as 10:1, got {text!r}") from None
    if pair[0] < 0 or pair[1] < 1:
        raise argparse.ArgumentTypeError(f"SEED must be >= 0 and THREADS >= 1, got {text!r}")
    return pair


def _existing(text: str) -> tuple[tuple[int, int], Path]:
    key, _, folder = text.partition("=")
    if not folder:
        raise argparse.ArgumentTypeError(f"expected SEED:THREADS=DIR, got {text!r}")
    return _pair(key), Path(folder)


def run_lessons(seed: int, threads: int, workdir: Path) -> tuple[Path, float]:
    """``mailviz figures`` at ``seed`` with ``threads`` torch threads -> (figures dir, seconds)."""
    tag = f"seed{seed}-threads{threads}"
    figures = workdir / f"figures-{tag}"
    env = {**os.environ, "MAILVIZ_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MAILVIZ_CACHE": str(workdir / f"cache-threads{threads}"),
           "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}  # fmt: skip
    workers = 2 if threads == 1 else 1
    cmd = [sys.executable, "-m", "mailviz.cli", "figures", "--profile", STABILITY_PROFILE,
           "-p", "SEED", str(seed), "-p", "REPLICATES", str(STABILITY_REPLICATES),
           "--workers", str(workers), "--figures-dir", str(figures),
           "--out-dir", str(workdir / f"notebooks-{tag}")]  # fmt: skip
    print(f"== {tag}: {' '.join(cmd[2:])}", flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    seconds = time.perf_counter() - start
    print(f"== {tag}: {seconds:.0f} s", flush=True)
    return figures, seconds


def verdicts_of(folder: Path) -> dict[str, str]:
    table = collect(folder)
    if table.empty:
        raise SystemExit(f"{folder} holds no <lesson>/claims.csv — run the lessons first")
    return dict(zip(table["id"], table["verdict"], strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", type=_pair, default=list(STABILITY_RUNS),
                        metavar="SEED:THREADS", help="runs to make (default: the registry's four)")
    parser.add_argument("--figures", nargs="*", type=_existing, default=[],
                        metavar="SEED:THREADS=DIR", help="take these runs' claims from DIR")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "stability",
                        help="caches, figures and executed notebooks of the runs")
    parser.add_argument("--out", type=Path, default=STABILITY_FILE, help="registry to update")
    args = parser.parse_args(argv)
    given = dict(args.figures)
    registry = json.loads(args.out.read_text()) if args.out.is_file() else {"runs": []}
    runs = {(r["seed"], r["threads"]): r for r in registry.get("runs", [])
            if r.get("profile") == STABILITY_PROFILE}  # fmt: skip
    for seed, threads in args.runs:
        if (seed, threads) in given:
            folder, seconds = given[(seed, threads)], None
        else:
            folder, seconds = run_lessons(seed, threads, args.workdir)
        runs[(seed, threads)] = dict(
            seed=seed, threads=threads, profile=STABILITY_PROFILE,
            replicates=STABILITY_REPLICATES, date=dt.date.today().isoformat(),
            wall_seconds=None if seconds is None else round(seconds, 1),
            verdicts=verdicts_of(folder),
        )  # fmt: skip
        registry = {"about": "verdicts of the lessons' claims per (base seed, torch threads); "
                             "written by benchmarks/verdict_stability.py",
                    "runs": [runs[k] for k in sorted(runs)]}  # fmt: skip
        text = json.dumps(registry, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        atomic_write(args.out, lambda fh, text=text: fh.write(text))
    fixed = asserted(args.out)
    print(f"{args.out}: {len(runs)} runs; {len(fixed)} verdicts stable across "
          f"{', '.join(f'{s}:{t}' for s, t in STABILITY_RUNS)}:")
    for claim_id, verdict in sorted(fixed.items()):
        print(f"  {verdict:12s} {claim_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
