"""``mailviz`` command line: ``train``, ``eval``, ``figures``, ``prepare`` and ``site``.

Examples::

    mailviz train --profile quick --method mail_trades
    mailviz train --profile quick --method at --set eps=0.1 --set params.beta=6 --quiet
    torchrun --standalone --nproc_per_node 2 -m mailviz.cli train --profile quick
    mailviz eval --checkpoint data/cache/at-digits-digits_cnn-0123456789ab \\
        --attacks pgd20,cw20,aa --alphas-test 0.5,1,1.5,2 --out results.csv
    mailviz figures --profile quick --only 03 05
    mailviz figures --profile mnist --only 05 -p SEED 1 --figures-dir build/figures-mnist
    mailviz figures -p SEED 10                 # the lessons at another base seed
    mailviz prepare --profile quick --workers 2   # train the lessons' models first
    mailviz site                                  # the course site -> build/site/

Errors in what was asked (a bad ``--set``, an unknown method, a damaged checkpoint, a dataset
that is not downloaded, a full or read-only disk, a run that diverged, a notebook parameter no
notebook declares) print one line ``mailviz: error: ...`` to stderr and exit with status 2;
set ``MAILVIZ_DEBUG=1`` to get the traceback instead. Arguments are checked before any work
starts (``eval --steps 0`` or ``--alphas-test inf`` never attack first), and a failed command
leaves nothing cached or half-written.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mailviz.cli_parser import _UsageError, build_parser

__all__ = ["main", "build_parser", "notebook_parameters"]

_EXIT_USAGE = 2


class _NotebookFailed(RuntimeError):
    """A notebook cell raised under ``mailviz figures`` (one line: notebook, cell, error)."""


# ------------------------------------------------------------------------------------------
# commands


def _cmd_train(args: argparse.Namespace) -> int:
    from mailviz.config import apply_overrides, get_profile
    from mailviz.train import train

    overrides = {} if args.method is None else {"method": args.method}
    cfg = get_profile(args.profile, **overrides)
    if args.assignments:
        cfg = apply_overrides(cfg, args.assignments)
    run = train(
        cfg,
        cache_dir=args.cache_dir,
        resume=not args.no_resume,
        use_cache=not args.no_cache,
        progress=not args.quiet,
        data_root=args.data_root,
        download=args.download,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        source = "loaded from cache" if run.from_cache else f"trained {len(run.history)} epochs"
        print(
            f"{cfg.method} on {cfg.dataset}/{cfg.model} ({source}): "
            f"NAT {run.nat_acc:.2f}%  PGD-{cfg.eval_steps} {run.pgd_acc:.2f}%  "
            f"(eps={cfg.eps:g}, {len(run.history)} epochs)"
        )
        print(f"run directory: {run.path}")
    return 0


def _check_writable(path: Path, what: str) -> None:
    """Refuse up front a destination that cannot be written (a parent that is a file, a folder
    without write permission), so no attack runs for results that cannot be saved."""
    parent = path.parent if path.parent != Path("") else Path(".")
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file name, e.g. {path}/results.csv")
    if not existing.is_dir():
        raise ValueError(f"{what} {path}: {existing} is a file, not a folder — choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path}: no permission to write in {existing}")


def _cmd_eval(args: argparse.Namespace) -> int:
    import pandas as pd

    from mailviz import data, evaluate
    from mailviz.train import load_model_file

    if args.out:
        _check_writable(Path(args.out), "--out")
    run = load_model_file(args.checkpoint, device=args.device)
    cfg = run.config
    eps = args.eps if args.eps else [cfg.eps]
    root = args.data_root
    if root is None:
        from mailviz.paths import data_root

        root = data_root()
    test = data.load_dataset(cfg.dataset, "test", root=root, download=args.download)
    attacks = ["nat"] + [a for a in args.attacks if a.lower() != "nat"]
    name = run.path.name if run.path is not None else cfg.method
    table = evaluate.evaluate(
        run.model, test, attacks=attacks, eps=eps, step_size=args.step_size,
        restarts=args.restarts, batch_size=args.batch_size, n=args.n, model_name=name,
        seed=args.seed,
    )
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        print(f"{name}: accuracy (%) on {cfg.dataset} test" + (f"[:{args.n}]" if args.n else ""))
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        report = None
        if args.alphas_test:
            report = evaluate.nonuniform_report(
                run.model, test, eps, args.alphas_test, steps=args.steps,
                step_size=args.step_size, restarts=args.restarts, batch_size=args.batch_size,
                n=args.n, seed=args.seed,
            )
            print("\nnon-uniform accuracies (%), Zeng et al. eq. 17-19:")
            print(report.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if args.out:
        for written in _write_eval(Path(args.out), table, report):
            print(f"wrote {written}")
    return 0


def _write_eval(out: Path, table: Any, report: Any) -> list[Path]:
    """Write the tables atomically (:func:`mailviz.checkpoint.atomic_write`): a full disk or a
    kill leaves the previous file or none, never a 0-byte or half-written one."""
    from mailviz.checkpoint import atomic_write

    if out.suffix.lower() == ".json":
        blob = {
            "attacks": table.to_dict(orient="records"),
            "nonuniform": [] if report is None else report.to_dict(orient="records"),
        }
        text = json.dumps(blob, indent=2, default=float) + "\n"
        atomic_write(out, lambda fh: fh.write(text))
        return [out]
    atomic_write(out, lambda fh: table.to_csv(fh, index=False))
    written = [out]
    if report is not None:
        other = out.with_name(f"{out.stem}_nonuniform{out.suffix or '.csv'}")
        atomic_write(other, lambda fh: report.to_csv(fh, index=False))
        written.append(other)
    return written


def notebook_parameters(pairs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """``[[NAME, VALUE], ...]`` from ``-p`` as papermill parameters (values as Python literals).

    Example:
        >>> notebook_parameters([["SEED", "1"], ["DEVICE", "cpu"], ["SEEDS", "[0, 1]"]])
        {'SEED': 1, 'DEVICE': 'cpu', 'SEEDS': [0, 1]}
    """
    import ast

    out: dict[str, Any] = {}
    for name, raw in pairs:
        if not name.isidentifier():
            raise ValueError(f"-p {name!r}: a parameter name must be a Python identifier (SEED)")
        if name == "PROFILE":
            raise ValueError("-p PROFILE: use --profile to choose the profile")
        try:
            out[name] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[name] = raw
    return out


def _cmd_figures(args: argparse.Namespace) -> int:
    from mailviz.figures import run_notebooks

    parameters = notebook_parameters(args.parameter)
    if args.figures_dir is not None:
        os.environ["MAILVIZ_FIGURES"] = str(Path(args.figures_dir).resolve())
    from mailviz.figures import NotebookFailed

    if args.list or args.figure:
        from mailviz import figure_cells

        if args.list:
            print(figure_cells.listing(figure_cells.figure_cells()))
            return 0
        try:
            figure_cells.regenerate(args.figure, args.profile, parameters=parameters,
                                    prepare=not args.no_prepare, workers=args.workers)  # fmt: skip
        except NotebookFailed as err:
            raise _NotebookFailed(str(err)) from None
        return 0
    try:
        paths = run_notebooks(profile=args.profile, only=args.only, parameters=parameters,
                              out_dir=args.out_dir, workers=args.workers,
                              prepare=not args.no_prepare)  # fmt: skip
    except NotebookFailed as err:
        raise _NotebookFailed(str(err)) from None
    for p in paths:
        print(p)
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    import time

    from mailviz.catalogue import prepare

    start = time.perf_counter()
    times = prepare(args.profile, seed=args.seed, replicates=args.replicates,
                    workers=args.workers)  # fmt: skip
    fresh = times[~times["from_cache"]]
    print(f"prepare {args.profile}: {len(times)} models ({len(fresh)} trained) in "
          f"{time.perf_counter() - start:.1f} s wall; process time: training "
          f"{times['train_s'].sum():.0f} s, evaluations {times['eval_s'].sum():.0f} s")
    if args.times:
        from mailviz.checkpoint import atomic_write

        Path(args.times).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(Path(args.times), lambda fh: times.to_csv(fh, index=False))
        print(f"wrote {args.times}")
    return 0


def _cmd_site(args: argparse.Namespace) -> int:
    from mailviz.site import build_site

    print(build_site(notebooks_dir=args.notebooks, out_dir=args.out))
    return 0


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror and err.filename is not None:
        # "[Errno 28] No space left on device: 'x'" -> "cannot write x: No space left on device"
        text = f"{err.filename}: {err.strerror}"
        if err.filename2 is not None:
            text = f"{err.filename} -> {err.filename2}: {err.strerror}"
        hint = _OS_HINTS.get(err.errno or 0)
        return f"{text}{' — ' + hint if hint else ''}"
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, FileNotFoundError) and err.filename and str(err.filename) not in text:
        text = f"{text}: {err.filename}"
    return text


_OS_HINTS = {
    errno.ENOSPC: "free some disk space or choose another folder (--cache-dir / --out)",
    errno.EACCES: "choose a folder you can write to",
    errno.EROFS: "the file system is read-only: choose another folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EEXIST: "a file is in the way: choose another path",
    errno.EISDIR: "the path is a folder: give a file name",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mailviz`` console script; returns the exit status.

    Example:
        >>> main(["train", "--profile", "smoke", "--set", "nonsense"])  # doctest: +SKIP
        mailviz: error: --set expects key=value, got 'nonsense'
        2
    """
    from mailviz.checkpoint import CheckpointError
    from mailviz.config import ConfigError
    from mailviz.train import TrainingError

    debug = os.environ.get("MAILVIZ_DEBUG") == "1"
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(list(argv) if argv is not None else None)
        except SystemExit as done:  # --help / --version print and "exit" 0
            return int(done.code or 0)
        if args.command is None:
            parser.print_help()
            return _EXIT_USAGE
        handler = {"train": _cmd_train, "eval": _cmd_eval, "figures": _cmd_figures,
                   "prepare": _cmd_prepare, "site": _cmd_site}
        return handler[args.command](args)
    except _UsageError as err:
        print(f"mailviz: error: {_one_line(err)}", file=sys.stderr)
        return _EXIT_USAGE
    # Every failure a user can fix is one line: bad settings, damaged files, missing data,
    # a diverged run, a full or read-only disk, a missing optional package, a failed notebook.
    except (ConfigError, CheckpointError, ValueError, OSError, TrainingError, ImportError,
            _NotebookFailed) as err:  # fmt: skip
        if debug:
            raise
        print(f"mailviz: error: {_one_line(err)}", file=sys.stderr)
        return _EXIT_USAGE
    except KeyboardInterrupt:
        print(
            "mailviz: interrupted; rerun the same command to resume after the last finished "
            "epoch", file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
