"""The model catalogue: every model the lessons train, and the cached evaluations they read.

The lessons share their models (the AT model of lesson 01 is the AT row of lesson 06 and the
PGD baseline of lesson 05), and each replicate is a separate model. Trained one after another
in the lessons' kernels that is a long serial job; :func:`prepare` does the same work first, in
``workers`` processes with one torch thread each, so both cores of a laptop (or CI machine) are
busy, and the lessons then only load from the cache (``data/cache``).

:func:`entries` lists the catalogue: one :class:`Entry` per model (config and seed), with the
evaluations the lessons will ask for. Each evaluation calls the *same* library function with
the same arguments as the lesson (``analysis.per_example_runs``, ``nonuniform.nonuniform_table``
…), so the lesson's call is a cache hit; nothing here computes anything the lessons do not.
``make figures`` and ``make test`` run it before the notebooks (``mailviz prepare``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Entry", "TASKS", "entries", "prepare", "run_entry"]

#: Evaluations an entry may carry (the lessons that read them):
#: ``mail`` NAT / PGD-20 / AA per example (02, 06); ``weights`` the objective's own ω on the
#: training set (06); ``weights_mm`` MAIL-TRADES' ω under the MM objective (02); ``zeng`` the
#: A_rob / A_sa / A_tr grid and A_nat (04, 05, 07); ``strong`` Table 9's attacks (05);
#: ``standin`` lesson 08's evaluation of the quick stand-ins; ``paths`` κ and PM under lesson
#: 01's five attack settings; ``pgd20`` the per-example PGD-20 run of lesson 03; ``audit``
#: lesson 09's gradient-masking attacks (:func:`mailviz.audit.audit_per_example`).
TASKS: tuple[str, ...] = ("mail", "weights", "weights_mm", "zeng", "strong", "standin", "paths",
                          "pgd20", "audit")  # fmt: skip
#: The lessons that read each evaluation (what ``--only`` keeps).
TASK_LESSONS: dict[str, frozenset[str]] = {
    "mail": frozenset({"02", "06"}), "weights": frozenset({"06"}),
    "weights_mm": frozenset({"02"}), "zeng": frozenset({"04", "05", "07"}),
    "strong": frozenset({"05"}), "standin": frozenset({"08"}), "paths": frozenset({"01"}),
    "pgd20": frozenset({"03"}), "audit": frozenset({"09"}),
}  # fmt: skip
#: Lessons that load a model without reading any of its evaluations here (the moons toy).
_TOY_LESSONS = frozenset({"01", "03"})


@dataclass(frozen=True)
class Entry:
    """One model of the catalogue and the evaluations the lessons read from its run folder.

    Attributes:
        config: its :class:`~mailviz.config.ExperimentConfig` (seed included).
        label: a readable name (``"MAIL-TRADES, seed 1"``).
        tasks: the evaluations (:data:`TASKS`) to run after training.
        zeng: ``(family, alpha_train)`` of its :class:`~mailviz.nonuniform.ZengModel`.
    """

    config: Any
    label: str
    tasks: frozenset[str] = field(default_factory=frozenset)
    zeng: tuple[str, float | None] | None = None

    @property
    def cost(self) -> float:
        """A rough relative cost (to start the longest jobs first)."""
        weight = {"mail": 0.5, "weights": 0.05, "weights_mm": 0.05, "zeng": 0.6, "strong": 0.8,
                  "standin": 0.3, "paths": 0.2, "pgd20": 0.05, "audit": 1.5}  # fmt: skip
        return 1.0 + sum(weight[t] for t in self.tasks)


def entries(
    profile: str = "quick", seeds: Sequence[int] = (0, 1, 2), *,
    lessons: Sequence[str] | None = None,
) -> list[Entry]:  # fmt: skip
    """The catalogue of lessons 01–09 at ``profile`` for the replicate ``seeds``.

    Models come from the same spec functions the lessons call
    (:func:`mailviz.analysis.mail_table_specs`, :func:`mailviz.nonuniform.zeng_catalogue`), and
    entries with the same config (the AT row of Table 4 and Zeng's PGD baseline) are merged.
    ``lessons`` (two-digit numbers, e.g. ``["04", "05"]``) keeps only the evaluations those
    lessons read (:data:`TASK_LESSONS`) and the models they need; ``None`` keeps everything.

    Example:
        >>> len({e.config.method for e in entries("quick", [0])}) > 8
        True
    """
    from mailviz import analysis, audit, nonuniform
    from mailviz.config import config_hash
    from mailviz.experiments import MOONS_TOY, method_config

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed, e.g. seeds=[0, 1, 2]")
    found: dict[str, dict[str, Any]] = {}

    def add(cfg: Any, label: str, tasks: set[str], zeng: tuple[str, float | None] | None = None,
            ) -> None:  # fmt: skip
        key = config_hash(cfg) + f"-{cfg.seed}"
        item = found.setdefault(key, {"config": cfg, "label": label, "tasks": set(), "zeng": None})
        item["tasks"] |= tasks
        if zeng is not None:
            item["zeng"] = zeng

    for table in analysis.MAIL_TABLES:
        for spec in analysis.mail_table_specs(table):
            tasks = {"mail"}
            if table in ("table4", "table6"):
                tasks.add("weights")
            if spec.method == "mail_trades" and not spec.params and spec.attack_loss is None:
                tasks.add("weights_mm")
            if spec.method in ("trades", "mart", "gairat") and table == "table4":
                tasks.add("standin")
            if spec.method == "at" and table == "table4":
                tasks |= {"paths", "pgd20"}
            for s in seeds:
                add(spec.config(profile, s), f"{spec.label}, seed {s}", tasks)
    for m in nonuniform.zeng_catalogue():
        tasks = {"zeng", "strong"} if m.headline else {"zeng"}
        for s in seeds:
            add(m.config(profile, seed=s), f"{m.name}, seed {s}", tasks, (m.family, m.alpha_train))
    for s in seeds:  # lesson 09 audits models of lessons 05 and 06 (merged by config)
        for label, cfg in audit.audit_configs(profile, s).items():
            add(cfg, f"{label}, seed {s}", {"audit"})
    for s in seeds:  # the 2-D toy of lessons 01 and 03 (quick settings at every profile)
        add(method_config("clean", "quick", seed=s, **MOONS_TOY), f"moons MLP, seed {s}", set())
    out = [Entry(v["config"], v["label"], frozenset(v["tasks"]), v["zeng"])
           for v in found.values()]  # fmt: skip
    if lessons is None:
        return out
    wanted = {str(x) for x in lessons}
    kept = []
    for e in out:
        tasks = frozenset(t for t in e.tasks if TASK_LESSONS[t] & wanted)
        if tasks or (not e.tasks and _TOY_LESSONS & wanted):
            kept.append(Entry(e.config, e.label, tasks, e.zeng))
    return kept


def mm_objective(config: Any) -> Any:
    """MAIL-TRADES' config with the logit margin MM instead of PM (Table 5; lesson 02)."""
    return config.replace(params={**config.params, "margin": "mm"})


def training_subset(profile: str) -> int | None:
    """Training examples the weight analyses read: 10,000 at ``paper``, else all."""
    return 10_000 if profile == "paper" else None


def run_entry(entry: Entry) -> dict[str, Any]:
    """Train ``entry`` (or load it) and run its evaluations; returns what it cost (seconds).

    The evaluations are the lessons' own calls, so the lessons find them in the cache. Torch
    runs with the config's ``threads`` (training sets it; the evaluations keep it).
    """
    from mailviz import analysis, audit, nonuniform
    from mailviz.data import load_dataset
    from mailviz.train import train

    cfg = entry.config
    start = time.perf_counter()
    run = train(cfg, progress=False)
    trained_s = time.perf_counter() - start
    if not entry.tasks:
        return dict(label=entry.label, method=cfg.method, seed=int(cfg.seed),
                    from_cache=bool(run.from_cache), train_s=trained_s, eval_s=0.0,
                    pid=os.getpid())  # fmt: skip
    test = load_dataset(cfg.dataset, "test")
    profile = cfg.profile
    if "mail" in entry.tasks:
        plan = analysis.evaluation_plan(profile)
        analysis.per_example_runs({(entry.label, cfg.seed): run}, test, plan.attacks, n=plan.n,
                                  aa_n=plan.aa_n)  # fmt: skip
    if entry.tasks & {"weights", "weights_mm"}:
        train_set = load_dataset(cfg.dataset, "train")
        n = training_subset(profile)
        if "weights" in entry.tasks:
            analysis.cached_objective_weights(run, train_set, n=n)
        if "weights_mm" in entry.tasks:
            analysis.cached_objective_weights(run, train_set, objective=mm_objective(cfg), n=n)
    plan_z = nonuniform.plan_for(profile)
    if entry.zeng is not None and "zeng" in entry.tasks:
        key = {(nonuniform.ZengModel(*entry.zeng), int(cfg.seed)): run}
        nonuniform.nonuniform_table(key, test, plan_z, progress=False)
        nonuniform.uniform_table(key, test, plan_z, progress=False)
        if "strong" in entry.tasks:
            nonuniform.attack_table(key, test, plan_z, progress=False)
    if "standin" in entry.tasks:
        nonuniform.standin_tables({(entry.label, int(cfg.seed)): run}, test, plan_z)
    if "paths" in entry.tasks:
        analysis.cached_kappa_pm_table(run, test, analysis.path_settings(cfg.eps, cfg.steps),
                                       n=1000 if profile == "paper" else None)  # fmt: skip
    if "pgd20" in entry.tasks:
        nonuniform.attack_run(run, test, cfg.eps, steps=20, seed=int(cfg.seed))
    if "audit" in entry.tasks:
        audit.audit_per_example({(entry.label, int(cfg.seed)): run}, test,
                                audit.plan_for(profile))  # fmt: skip
    return dict(label=entry.label, method=cfg.method, seed=int(cfg.seed),
                from_cache=bool(run.from_cache), train_s=trained_s,
                eval_s=time.perf_counter() - start - trained_s, pid=os.getpid())  # fmt: skip


def _job(entry: Entry) -> dict[str, Any]:
    try:
        return run_entry(entry)
    except Exception as err:  # carried to the parent with the entry's name
        raise RuntimeError(f"{entry.label}: {type(err).__name__}: {err}") from None


def prepare(
    profile: str = "quick",
    *,
    seed: int = 0,
    replicates: int | None = None,
    workers: int = 2,
    lessons: Sequence[str] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Train every catalogue model that is missing and run its evaluations, in parallel.

    Args:
        profile: ``smoke``, ``quick``, ``mnist`` or ``paper``.
        seed: base seed ``SEED``; the replicates are ``SEED … SEED + REPLICATES − 1``.
        replicates: default :func:`mailviz.replicates.default_replicates` of the profile.
        workers: processes (1: in this process). Each trains with the config's ``threads``
            (``MAILVIZ_THREADS``, default 1): on a 2-core machine two one-thread workers use
            both cores, while two threads per worker would fight over them.
        lessons: prepare only what these lessons read (``None``: every lesson).
        progress: a bar over the entries.

    Returns:
        One row per entry: ``label, method, seed, from_cache, train_s, eval_s, pid`` — where
        the time went.
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    from tqdm.auto import tqdm

    from mailviz.config import PROFILES, ConfigError
    from mailviz.replicates import default_replicates, seeds

    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    count = default_replicates(profile) if replicates is None else replicates
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r} — e.g. workers=2")
    todo = sorted(entries(profile, seeds(seed, count), lessons=lessons), key=lambda e: -e.cost)
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(todo), desc=f"prepare {profile}", unit="model", disable=not progress,
               dynamic_ncols=True)  # fmt: skip
    if workers == 1:
        for entry in todo:
            rows.append(_job(entry))
            bar.update()
    else:
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
        try:
            futures = [pool.submit(_job, entry) for entry in todo]
            for fut in as_completed(futures):
                rows.append(fut.result())
                bar.update()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    bar.close()
    columns = ["label", "method", "seed", "from_cache", "train_s", "eval_s", "pid"]
    return pd.DataFrame(rows, columns=columns)
