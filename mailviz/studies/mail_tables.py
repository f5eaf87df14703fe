"""MAIL's results tables (Tables 4–7, notebooks 02 and 06): accuracies per run and beside the paper.

:func:`per_example_runs` attacks the trained :class:`~mailviz.studies.mail_runs.RunSpec` s with
the profile's :func:`~mailviz.studies.mail_runs.evaluation_plan` and keeps every example's
result (cached next to each model; :mod:`mailviz.claims` needs the pairs), :func:`accuracies` /
:func:`evaluate_runs` give the table's numbers, :func:`summarize` numeric mean ± std over
replicates, and :func:`paper_columns` the seeds' published numbers for
:func:`mailviz.plots.results_table`. Whether a difference is real is :mod:`mailviz.claims`'
question.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from mailviz.studies._frames import _as_xy
from mailviz.studies.mail_runs import RunSpec


def per_example_runs(
    runs: Mapping[tuple[str, int], Any],
    data: Any,
    attacks: Sequence[str] = ("nat", "pgd20", "aa-fast"),
    *,
    n: int | None = None,
    aa_n: int | None = None,
    step_size: float | None = None,
    seed: int | None = None,
    batch_size: int = 500,
    cache: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """Per-example correctness of every run under ``attacks`` at its own training ε.

    ``nat`` and ``pgdK``/``cwK`` see the first ``n`` examples of ``data``, AutoAttack
    (``aa``/``aa-fast``) the first ``aa_n`` (it is by far the most expensive). PGD/CW use
    ``step_size``, default the run's ``config.effective_eval_step_size`` (ε/4 at quick, 0.003 at
    paper: the training monitor's); CW uses κ_c = 50. Random starts are seeded with ``seed``,
    default each run's own training seed, so a replicate differs from another in its attack's
    random start too. The attacks are :func:`mailviz.evaluate.per_example`'s (the same as
    :func:`mailviz.evaluate.evaluate`'s). With ``cache`` each (run, attack) frame is stored in the
    run directory, so a rerun — or another notebook — only loads it.

    Returns:
        Tidy frame with columns ``model`` (the run's label), ``seed``, ``attack``, ``eps``,
        ``example``, ``correct``.
    """
    from mailviz import evaluate
    from mailviz.config import config_hash

    attack_specs = [attacks] if isinstance(attacks, str) else list(attacks)
    parsed = [evaluate.parse_attack(a) for a in attack_specs]
    if not runs:
        raise ValueError("runs is empty — build it with train_specs")
    size = len(_as_xy(data)[1])
    kinds = {"nat": "nat", "pgd": "pgd", "cw": "cw"}
    frames = []
    bar = _bar(len(runs) * len(parsed), "attacks", progress)
    for (label, run_seed), run in runs.items():
        cfg = run.config
        attack_seed = int(cfg.seed) if seed is None else int(seed)
        step = cfg.effective_eval_step_size if step_size is None else step_size
        for spec in parsed:
            count = aa_n if spec.kind == "aa" else n
            count = size if count is None else min(count, size)
            kind = ("aa-fast" if spec.version == "fast" else "aa") if spec.kind == "aa" else (
                kinds[spec.kind])  # fmt: skip
            key = dict(kind="per_example", model=config_hash(cfg), attack=spec.name, eps=cfg.eps,
                       step_size=step, n=count, seed=attack_seed,
                       data=getattr(data, "name", "pair"))  # fmt: skip

            def compute(kind=kind, spec=spec, count=count, step=step, run=run,
                        attack_seed=attack_seed) -> pd.DataFrame:  # fmt: skip
                got = evaluate.per_example(
                    run.model, data, None if kind == "nat" else run.config.eps, attack=kind,
                    steps=spec.steps or 1, step_size=None if kind in ("nat", "aa", "aa-fast")
                    else step, n=count, seed=attack_seed, batch_size=batch_size,
                )  # fmt: skip
                return got[["example", "correct"]]

            if cache and run.path is not None:
                got = evaluate.cached_eval(key, compute, root=run.path, name="per-example")
            else:
                got = compute()
            bar.update()
            frames.append(got.assign(model=label, seed=int(run_seed), attack=spec.name,
                                     eps=0.0 if kind == "nat" else float(cfg.eps)))  # fmt: skip
    bar.close()
    out = pd.concat(frames, ignore_index=True)
    out["correct"] = out["correct"].astype(bool)
    return out[["model", "seed", "attack", "eps", "example", "correct"]]


def _bar(total: int, desc: str, progress: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="run", leave=False, disable=not progress,
                dynamic_ncols=True)  # fmt: skip


def evaluate_runs(
    runs: Mapping[tuple[str, int], Any],
    data: Any,
    attacks: Sequence[str] = ("nat", "pgd20", "aa-fast"),
    *,
    n: int | None = None,
    aa_n: int | None = None,
    step_size: float | None = None,
    seed: int | None = None,
    batch_size: int = 500,
    cache: bool = True,
    specs: Iterable[RunSpec] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Accuracy (%) of every run under ``attacks`` at its own training ε, as one tidy frame.

    The accuracies of :func:`per_example_runs` (same arguments; cached per run), one row per
    (run, attack): ``A = (100/N)·Σ_i 1[f(x′_i) = y_i]``. ``specs`` (those given to
    :func:`train_specs`) adds their ``tags`` as columns.

    Returns:
        Columns ``model`` (the spec label), ``seed``, ``attack``, ``eps``, ``metric``, ``value``,
        ``n`` (examples evaluated), then one column per tag. :func:`per_example_runs` gives the
        per-example frame behind it (what :mod:`mailviz.claims` needs).

    Example:
        >>> plan = evaluation_plan("quick")  # doctest: +SKIP
        >>> evaluate_runs(runs, test, plan.attacks, aa_n=plan.aa_n)  # doctest: +SKIP
    """
    per = per_example_runs(runs, data, attacks, n=n, aa_n=aa_n, step_size=step_size, seed=seed,
                           batch_size=batch_size, cache=cache, progress=progress)  # fmt: skip
    return accuracies(per, specs=specs)


def accuracies(per: pd.DataFrame, *, specs: Iterable[RunSpec] | None = None) -> pd.DataFrame:
    """Accuracy (%) per (run, attack) of a :func:`per_example_runs` frame (see
    :func:`evaluate_runs` for the columns); ``specs`` adds their ``tags`` as columns."""
    missing = [c for c in ("model", "seed", "attack", "eps", "correct") if c not in per.columns]
    if missing:
        raise ValueError(f"per lacks columns {missing} — build it with per_example_runs")
    grouped = per.groupby(["model", "seed", "attack", "eps"], sort=False)["correct"]
    out = grouped.agg(value="mean", n="size").reset_index()
    out["value"] = 100.0 * out["value"]
    out["metric"] = "accuracy"
    out = out[["model", "seed", "attack", "eps", "metric", "value", "n"]]
    tags = {spec.label: dict(spec.tags) for spec in specs or []}
    for name in dict.fromkeys(k for t in tags.values() for k in t):
        out[name] = out["model"].map(lambda label, name=name: tags.get(label, {}).get(name))
    return out


def summarize(frame: pd.DataFrame, *, row: str = "model", col: str = "attack") -> pd.DataFrame:
    """Numeric mean, sample std (ddof 1; NaN for one seed) and count per (row, col).

    The numbers behind :func:`mailviz.plots.results_table`'s "mean ± std" cells, for checks.

    Returns:
        Frame indexed by ``row`` with a column MultiIndex ``(col value, "mean"|"std"|"count")``;
        ``summary[("pgd20", "mean")]["AT"]`` is AT's mean PGD-20 accuracy.

    Example:
        >>> frame = pd.DataFrame(dict(model="AT", attack="nat", value=[90.0, 92.0]))
        >>> float(summarize(frame).loc["AT", ("nat", "mean")])
        91.0
    """
    for column in (row, col, "value"):
        if column not in frame.columns:
            raise ValueError(f"frame has no column {column!r}; build it with evaluate_runs")
    df = frame[frame["metric"] == "accuracy"] if "metric" in frame.columns else frame
    stats = df.groupby([row, col], sort=False)["value"].agg(["mean", "std", "count"])
    wide = stats.unstack(col)
    wide = wide.swaplevel(axis=1)
    order = list(dict.fromkeys(df[col]))
    wide = wide.reindex(columns=pd.MultiIndex.from_product([order, ["mean", "std", "count"]]))
    return wide.reindex(list(dict.fromkeys(df[row])))


def paper_columns(
    paper: str,
    table: str,
    index: str,
    *,
    where: Mapping[str, Any] | None = None,
    columns: Sequence[str] = ("NAT", "PGD", "AA"),
    prefix: str = "",
    split: str | None = None,
) -> pd.DataFrame:
    """Published ``mean ± std`` cells of a seed's table, ready for ``results_table(paper=...)``.

    Args:
        paper, table: as in :func:`mailviz.paper.paper_table` (e.g. ``"mail"``, ``"table5"``).
        index: column of the published table that names the rows (``"method"``, ``"margin"``).
        where: keep only rows with these values (``{"objective": "AT"}`` for Table 7).
        columns: metrics to show; ``<metric>_std`` is used when present.
        prefix: put before each column name (``"SVHN "`` → ``"SVHN NAT"``).
        split: a column whose values become column blocks side by side, each prefixed with its
            value (``split="dataset"`` → ``"SVHN NAT" … "CIFAR-100 AA"`` for Table 4).

    Returns:
        Frame indexed by ``index`` with string cells such as ``"81.84 ± 0.18"``.

    Example:
        >>> paper_columns("mail", "table5", "margin").loc["PM", "AA"]
        '50.60 ± 0.22'
    """
    from mailviz.paper import paper_table

    if split is not None:
        frame = paper_table(paper, table)
        if split not in frame.columns:
            raise ValueError(
                f"{table} has no column {split!r}; columns: {', '.join(frame.columns)}"
            )
        blocks = [
            paper_columns(paper, table, index, where={**(where or {}), split: value},
                          columns=columns, prefix=f"{prefix}{value} ")
            for value in dict.fromkeys(frame[split])
        ]  # fmt: skip
        return pd.concat(blocks, axis=1)
    frame = paper_table(paper, table)
    for key, value in (where or {}).items():
        if key not in frame.columns:
            raise ValueError(f"{table} has no column {key!r}; columns: {', '.join(frame.columns)}")
        frame = frame[frame[key] == value]
    if frame.empty:
        raise ValueError(f"no row of {paper} {table} matches {dict(where or {})}")
    for column in (index, *columns):
        if column not in frame.columns:
            raise ValueError(
                f"{table} has no column {column!r}; columns: {', '.join(frame.columns)}"
            )
    out = pd.DataFrame(index=pd.Index(frame[index].tolist(), name=index))
    for column in columns:
        std = frame[f"{column}_std"].tolist() if f"{column}_std" in frame.columns else None
        out[f"{prefix}{column}"] = [
            f"{m:.2f} ± {s:.2f}" if std is not None else f"{m:.2f}"
            for m, s in zip(frame[column], std or [0.0] * len(frame), strict=True)
        ]
    return out
