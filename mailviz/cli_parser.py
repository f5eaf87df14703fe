"""The ``mailviz`` command's argument parser: subcommands, value types, one-line usage errors.

:func:`build_parser` is what :func:`mailviz.cli.main` parses with; every value type here raises
a one-line error naming the option and a good value.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, NoReturn

__all__ = ["build_parser"]


class _UsageError(Exception):
    """Raised by the parser instead of printing usage + exiting (so errors stay one line)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def _names() -> dict[str, tuple[str, ...]]:
    from mailviz import config, data, models, objectives

    return {
        "methods": tuple(objectives.METHODS),
        "datasets": tuple(data.DATASETS),
        "models": tuple(models.MODELS),
        "profiles": tuple(config.PROFILES),
    }


def _epilog() -> str:
    names = _names()
    lines = [f"{key}: {', '.join(values)}" for key, values in names.items()]
    lines.append(
        "settings: --set FIELD=VALUE for any ExperimentConfig field (eps=8/255, epochs=5, "
        "schedule=cosine, ...) and --set params.NAME=VALUE for method parameters"
    )
    return "\n".join(lines)


def _number(text: str) -> float:
    """``0.5``, ``2`` or a fraction such as ``8/255``; ValueError for anything else (``1/0``)."""
    from mailviz.config import _fraction

    return _fraction(text.strip())


def _csv_floats(text: str) -> list[float]:
    """Comma-separated finite numbers (``0.5,1,2``, ``8/255``); ``nan`` and ``inf`` refused."""
    try:
        values = [_number(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.5,1,2 or 8/255, got {text!r}"
        ) from None
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise argparse.ArgumentTypeError(
            f"expected finite numbers such as 0.5,1,2, got {bad[0]} in {text!r}"
        )
    return values


def _budgets(text: str) -> list[float]:
    """``--eps``: comma-separated budgets in (0, 1] (pixel scale)."""
    values = _csv_floats(text)
    bad = [v for v in values if not 0 < v <= 1]
    if bad or not values:
        shown = bad[0] if bad else repr(text)
        raise argparse.ArgumentTypeError(
            f"budgets must be in (0, 1] (pixel scale), got {shown} — e.g. --eps 8/255 or 0.1,0.2"
        )
    return values


def _int_at_least(minimum: int, example: str) -> Any:
    """An argparse type: an integer >= ``minimum`` (``2.7``, ``0`` or ``ten`` refused)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}, got {text!r} — e.g. {example}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}, got {value} — e.g. {example}"
            )
        return value

    return parse


def _step(text: str) -> float:
    """``--step-size``: a finite number > 0 (fractions such as 2/255 allowed)."""
    try:
        value = _number(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(
            f"expected a finite number > 0, got {text!r} — e.g. --step-size 2/255"
        )
    return value


def _csv_names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _attack_specs(text: str) -> list[str]:
    """``--attacks``: comma-separated specs, each checked against the grammar up front."""
    from mailviz.evaluate import parse_attack

    names = _csv_names(text)
    try:
        for name in names:
            parse_attack(name)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return names


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``mailviz`` command (subcommands train, eval, figures)."""
    epilog = _epilog()
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="mailviz",
        description="Instance-reweighted adversarial training (MAIL, weighted minimax risk): "
        "train, evaluate and regenerate the figures.",
        epilog=epilog,
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(
        dest="command", metavar="{train,eval,figures,prepare,site}", parser_class=_Parser
    )

    _add_train(sub, epilog, fmt)
    _add_eval(sub, epilog, fmt)
    _add_figures(sub, epilog, fmt)
    _add_prepare(sub, epilog, fmt)
    _add_site(sub, fmt)
    return parser


def _add_train(sub: Any, epilog: str, fmt: type[argparse.HelpFormatter]) -> None:
    """``mailviz train``: a profile, a method and ``--set`` overrides."""
    p = sub.add_parser(
        "train",
        help="train a model (or load it from the cache / resume it)",
        description="Train the experiment given by a profile, a method and --set overrides. "
        "The run is cached under <cache-dir>/<method>-<dataset>-<model>-<hash>/; rerunning the "
        "same command loads it, and an interrupted run resumes after its last finished epoch. "
        "Under torchrun the batch size is per process.",
        epilog=epilog,
        formatter_class=fmt,
    )
    p.add_argument("--profile", default="quick", help="settings profile (default: quick)")
    p.add_argument("--method", default=None, help="training method (default: the profile's)")
    p.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set eps=8/255 --set params.beta=6 (repeatable)",
    )
    p.add_argument("--cache-dir", default=None, help="model cache (default: data/cache)")
    p.add_argument("--data-root", default=None, help="dataset root (default: data)")
    p.add_argument("--no-resume", action="store_true", help="ignore checkpoint.pt, start over")
    p.add_argument("--no-cache", action="store_true", help="retrain even if model.pt exists")
    p.add_argument("--download", action="store_true", help="download the dataset if missing")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_eval(sub: Any, epilog: str, fmt: type[argparse.HelpFormatter]) -> None:
    """``mailviz eval``: attacks and non-uniform metrics of a trained model."""
    e = sub.add_parser(
        "eval",
        help="evaluate a trained model under attacks and non-uniform metrics",
        description="Accuracy under each attack (mailviz.evaluate.evaluate) and Zeng et al.'s "
        "A_rob / A_sa / A_tr per alpha_test (mailviz.evaluate.nonuniform_report). Accuracies "
        "are percentages.",
        epilog=f"attacks: nat, pgdK, cwK, aa, aa-fast (K = steps)\n{epilog}",
        formatter_class=fmt,
    )
    e.add_argument(
        "--checkpoint",
        required=True,
        metavar="RUN_DIR_OR_MODEL_PT",
        help="a run directory, its model.pt, or checkpoint.pt of an unfinished run",
    )
    e.add_argument(
        "--attacks",
        type=_attack_specs,
        default=["pgd20", "cw20"],
        help="comma-separated attacks (default: pgd20,cw20); nat is always included",
    )
    e.add_argument(
        "--alphas-test",
        type=_csv_floats,
        default=[0.0, 0.5, 1.0, 1.5, 2.0],
        help="alpha_test values for A_sa / A_tr (default: 0,0.5,1,1.5,2); empty string skips",
    )
    e.add_argument(
        "--eps",
        type=_budgets,
        default=None,
        help="budget(s), e.g. 8/255 or 0.1,0.2 (default: the training eps)",
    )
    e.add_argument(
        "--steps",
        type=_int_at_least(1, "--steps 20"),
        default=20,
        help="PGD steps of the non-uniform report",
    )
    e.add_argument("--step-size", type=_step, default=None, help="PGD/CW step (default 2.5·eps/K)")
    e.add_argument(
        "--restarts",
        type=_int_at_least(1, "--restarts 1"),
        default=1,
        help="random restarts of PGD/CW",
    )
    e.add_argument(
        "--n",
        type=_int_at_least(1, "--n 500"),
        default=None,
        help="evaluate the first N test examples",
    )
    e.add_argument("--batch-size", type=_int_at_least(1, "--batch-size 500"), default=500)
    e.add_argument("--seed", type=_int_at_least(0, "--seed 0"), default=0)
    e.add_argument("--device", default=None, help="auto, cpu, cuda, ... (default: the run's)")
    e.add_argument("--data-root", default=None, help="dataset root (default: data)")
    e.add_argument("--download", action="store_true", help="download the dataset if missing")
    e.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="write results: FILE.json holds both tables; FILE.csv the attack table and "
        "FILE_nonuniform.csv the non-uniform one",
    )


def _add_figures(sub: Any, epilog: str, fmt: type[argparse.HelpFormatter]) -> None:
    """``mailviz figures``: the notebooks through papermill."""
    f = sub.add_parser(
        "figures",
        help="run the notebooks with papermill and write figures/",
        description="Execute the notebooks at a profile (mailviz.figures.run_notebooks).",
        epilog=epilog,
        formatter_class=fmt,
    )
    f.add_argument("--profile", default="quick", help="profile injected as PROFILE")
    f.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="NAME",
        help="notebook stems or prefixes, e.g. --only 00 03_margins",
    )
    f.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="another notebook parameter, e.g. -p SEED 1 -p DEVICE cpu (values are "
        "read as Python literals: 1, 0.5, True, None, [0, 1]; else strings)",
    )
    f.add_argument(
        "--out-dir",
        default=None,
        metavar="DIR",
        help="where the executed notebooks go (default build/notebooks)",
    )
    f.add_argument(
        "--figures-dir",
        default=None,
        metavar="DIR",
        help="where plots.save writes (default figures/; sets MAILVIZ_FIGURES) — "
        "keeps a non-quick run from overwriting the committed figures",
    )
    f.add_argument(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="processes for the model preparation and notebooks run side by side "
        "(default 2: both cores of a laptop; one torch thread each)",
    )
    f.add_argument(
        "--no-prepare",
        action="store_true",
        help="skip `mailviz prepare` (the notebooks then train what is missing)",
    )
    f.add_argument(
        "--list",
        action="store_true",
        help="list every figure as <lesson>/<name> with the cell that saves it, and exit",
    )
    f.add_argument(
        "--figure",
        default=None,
        metavar="NAME",
        help="regenerate one figure (name or lesson/name, see --list): run its lesson up to "
        "its cell at --profile and write only NAME.png/.svg into the figures folder",
    )


def _add_prepare(sub: Any, epilog: str, fmt: type[argparse.HelpFormatter]) -> None:
    """``mailviz prepare``: the lessons' models and evaluations in parallel."""
    pr = sub.add_parser(
        "prepare",
        help="train the lessons' models and run their cached evaluations in parallel",
        description="Train every model the lessons need (all replicates) and run the "
        "evaluations they read, in worker processes (mailviz.catalogue.prepare). "
        "`make figures` and `make test` run this first.",
        epilog=epilog,
        formatter_class=fmt,
    )
    pr.add_argument("--profile", default="quick", help="profile (default quick)")
    pr.add_argument("--seed", type=int, default=0, help="base seed SEED (default 0)")
    pr.add_argument(
        "--replicates",
        type=int,
        default=None,
        help="replicates per model (default: the profile's, quick 3, paper 5)",
    )
    pr.add_argument(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="worker processes (default 2), one torch thread each",
    )
    pr.add_argument(
        "--times",
        default=None,
        metavar="FILE.csv",
        help="write where the time went (one row per model) to this CSV",
    )


def _add_site(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """``mailviz site``: the offline course site from the executed lessons."""
    si = sub.add_parser(
        "site",
        help="build the static course site from the executed lessons (make site)",
        description="Build the offline course site (Sphinx, myst-nb) from the lessons `make "
        "figures` executed (mailviz.site.build_site): widgets become their saved snapshots, "
        "solutions are folded. Open <out>/index.html in a browser; nothing is fetched online.",
        formatter_class=fmt,
    )
    si.add_argument(
        "--notebooks",
        default=None,
        metavar="DIR",
        help="the executed lessons (default build/notebooks, written by `make figures`)",
    )
    si.add_argument("--out", default=None, metavar="DIR", help="the site (default build/site)")
