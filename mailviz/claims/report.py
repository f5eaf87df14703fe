"""Claims as a table, as "What we saw" prose, on disk, and as assertions.

* :func:`frame` — one row per claim (source, statement, paper, ours mean ± std, interval,
  verdict, whether the lesson asserts it);
* :func:`what_we_saw` — the lesson's closing section rendered from that table (an IPython
  Markdown object), so no run-dependent number is ever typed into a notebook;
* :func:`save` / :func:`collect` — each lesson writes ``figures/<lesson>/claims.csv``; the
  figure runner gathers them into ``figures/claims.md``;
* :func:`check` — asserts every invariant, and the verdicts the stability registry
  (:func:`asserted`) shows to be the same for base seeds 0, 10, 20 and for 1 and 2 torch threads.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mailviz.claims.record import Claim

__all__ = [
    "frame",
    "what_we_saw",
    "save",
    "collect",
    "collect_markdown",
    "asserted",
    "check",
    "STABILITY_FILE",
    "STABILITY_RUNS",
]

#: The stability registry: the verdicts of every claim in the runs listed in it.
STABILITY_FILE = Path(__file__).with_name("stability.json")
#: (base seed, torch threads) of the runs a verdict must agree across before a lesson asserts it.
STABILITY_RUNS: tuple[tuple[int, int], ...] = ((0, 1), (10, 1), (20, 1), (0, 2))
#: The profile and replicate count the stability runs used; assertions apply only there.
STABILITY_PROFILE, STABILITY_REPLICATES = "quick", 3

_COLUMNS = ["lesson", "id", "source", "statement", "kind", "paper", "mean", "std", "low", "high",
            "unit", "replicates", "examples", "verdict", "asserted", "detail"]  # fmt: skip


def _fmt(value: float, decimals: int, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"


def _check_claims(claims: Iterable[Claim]) -> list[Claim]:
    items = list(claims)
    bad = [type(c).__name__ for c in items if not isinstance(c, Claim)]
    if bad:
        raise ValueError(f"claims must be Claim objects (mailviz.claims), got {bad[:3]}")
    ids = [c.id for c in items]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"claim ids must be unique, repeated: {dup}")
    return items


def frame(claims: Iterable[Claim], *, registry: dict[str, str] | None = None) -> pd.DataFrame:
    """The claims as a tidy table (one row each), in the order given.

    ``asserted`` is True for invariants and for claims whose verdict the stability registry
    fixes (``registry``, default :func:`asserted`).
    """
    items = _check_claims(claims)
    fixed = asserted() if registry is None else registry
    rows = []
    for c in items:
        e = c.estimate
        rows.append(dict(
            lesson=c.lesson, id=c.id, source=c.source, statement=c.statement, kind=c.kind,
            paper=c.paper, mean=e.mean if e else math.nan, std=e.std if e else math.nan,
            low=e.low if e else math.nan, high=e.high if e else math.nan, unit=c.unit,
            replicates=e.replicates if e else 0, examples=e.examples if e else 0,
            verdict=c.verdict, asserted=c.kind == "invariant" or c.id in fixed, detail=c.detail,
        ))  # fmt: skip
    out = pd.DataFrame(rows, columns=_COLUMNS)
    out.attrs["decimals"] = {c.id: c.decimals for c in items}
    return out


def _ours(row: pd.Series, decimals: int) -> str:
    if row["kind"] == "invariant":
        return row["detail"] or row["verdict"]
    spread = "" if not math.isfinite(row["std"]) else f" ± {_fmt(row['std'], decimals)}"
    return (f"{_fmt(row['mean'], decimals, sign=True)}{spread} {row['unit']} "
            f"[{_fmt(row['low'], decimals, True)}, {_fmt(row['high'], decimals, True)}]")


def _basis(table: pd.DataFrame) -> str:
    comp = table[table["kind"] != "invariant"]
    if comp.empty:
        return ""
    reps = sorted(set(comp["replicates"].astype(int)))
    n = sorted(set(comp.loc[comp["examples"] > 0, "examples"].astype(int)))
    sampled = (f"test-set sampling (paired bootstrap over the {' / '.join(map(str, n))} "
               "evaluated examples)") if n else ""  # fmt: skip
    if reps == [1]:
        return ("Intervals (95 %): one replicate, so they rest on **test-set sampling alone** — "
                f"{sampled or 'none'}; seed-to-seed variation is not measured.")  # fmt: skip
    seeds = " or ".join(map(str, reps))
    both = f" and {sampled}" if sampled else ""
    return (f"Intervals: {seeds} replicates (training seeds); ours = mean ± std over the "
            f"replicates, [95 % interval] covering seed-to-seed variation{both}.")


def what_we_saw(table: pd.DataFrame | Iterable[Claim]) -> Any:
    """The "What we saw" section of a lesson, generated from its claims (IPython Markdown).

    One bullet per claim — verdict, source, statement, our effect (mean ± std over replicates
    and the interval), the paper's number beside it — then a line saying how the intervals
    were made. Every number in it comes from the table.
    """
    from IPython.display import Markdown

    if not isinstance(table, pd.DataFrame):
        table = frame(table)
    decimals = table.attrs.get("decimals", {})
    counts = table[table["kind"] != "invariant"]["verdict"].value_counts()
    inv = table[table["kind"] == "invariant"]
    head = ", ".join(f"{counts.get(v, 0)} {v}" for v in ("reproduced", "contradicted",
                                                         "inconclusive"))  # fmt: skip
    held = f" Invariants: {int((inv['verdict'] == 'holds').sum())} of {len(inv)} hold." if len(
        inv) else ""  # fmt: skip
    lines = [f"**Claims of the papers: {head}.{held}**", ""]
    for _, row in table.iterrows():
        d = int(decimals.get(row["id"], 2))
        mark = " *(asserted)*" if row["asserted"] and row["kind"] != "invariant" else ""
        paper = f"; paper: {row['paper']}" if row["paper"] else ""
        detail = f" — {row['detail']}" if row["detail"] and row["kind"] != "invariant" else ""
        lines.append(f"- **{row['verdict']}**{mark} · {row['source']} · {row['statement']}: "
                     f"ours {_ours(row, d)}{paper}{detail}")  # fmt: skip
    basis = _basis(table)
    if basis:
        lines += ["", basis]
    return Markdown("\n".join(lines))


def save(table: pd.DataFrame, notebook: str | None = None,
         root: str | os.PathLike[str] | None = None) -> Path:  # fmt: skip
    """Write the claims table as ``<figures root>/<notebook>/claims.csv`` (atomically)."""
    from mailviz.checkpoint import atomic_write
    from mailviz.paths import figures_root

    notebook = notebook or os.environ.get("MAILVIZ_NOTEBOOK") or "misc"
    folder = Path(root if root is not None else figures_root()) / notebook
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "claims.csv"
    out = table.copy()
    for col in ("mean", "std", "low", "high"):
        out[col] = out[col].map(lambda v: "" if not math.isfinite(v) else f"{v:.6g}")
    atomic_write(path, lambda fh: out.to_csv(fh, index=False))
    return path


def collect(root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Every lesson's ``claims.csv`` under the figure root, concatenated in lesson order."""
    from mailviz.paths import figures_root

    folder = Path(root if root is not None else figures_root())
    files = sorted(folder.glob("[0-9][0-9]_*/claims.csv"))
    if not files:
        return pd.DataFrame(columns=_COLUMNS)
    tables = [pd.read_csv(f, dtype={"lesson": str, "paper": str, "detail": str},
                          keep_default_na=False) for f in files]  # fmt: skip
    out = pd.concat(tables, ignore_index=True)
    for col in ("mean", "std", "low", "high"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out


def collect_markdown(root: str | os.PathLike[str] | None = None, *, title: str = "") -> str:
    """``figures/claims.md``: the verdict table of every lesson, generated by the last run."""
    table = collect(root)
    lines = [f"# {title or 'Verdicts of the last `make figures` run'}", "",
             "Generated by `mailviz figures` from each lesson's `claims.csv`; do not edit by "
             "hand. *ours*: mean ± std over replicates, then the 95 % interval (seed-to-seed "
             "variation and paired test-set bootstrap). *asserted*: the lesson fails if this "
             "verdict changes (invariants, and verdicts shown stable across base seeds 0, 10, "
             "20 and 1 and 2 torch threads).", ""]  # fmt: skip
    if table.empty:
        return "\n".join([*lines, "No lesson has written claims yet."]) + "\n"
    lines += ["| lesson | source | claim | paper | ours | verdict | asserted |",
              "|---|---|---|---|---|---|---|"]
    for _, row in table.iterrows():
        d = 3 if row["unit"] in ("Spearman ρ", "nats", "share") else 2
        ours = _ours(row, d).replace("|", "/")
        lines.append(f"| {row['lesson']} | {row['source']} | {row['statement']} | "
                     f"{row['paper'] or '—'} | {ours} | {row['verdict']} | "
                     f"{'yes' if str(row['asserted']) == 'True' else 'no'} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _load_registry(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {"runs": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not readable JSON ({err}) — regenerate it with "
                         "benchmarks/verdict_stability.py") from None  # fmt: skip
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise ValueError(f"{path} must hold {{'runs': [...]}} — regenerate it with "
                         "benchmarks/verdict_stability.py")  # fmt: skip
    return data


def asserted(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """``{claim id: verdict}`` of the claims whose verdict a lesson may assert.

    A claim qualifies when the registry holds a run for every (base seed, threads) of
    :data:`STABILITY_RUNS` at the quick profile with 3 replicates, and its verdict is the same,
    and not *inconclusive*, in all of them.
    """
    data = _load_registry(Path(path) if path is not None else STABILITY_FILE)
    runs = {}
    for run in data["runs"]:
        if (run.get("profile") == STABILITY_PROFILE
                and run.get("replicates") == STABILITY_REPLICATES):  # fmt: skip
            runs[(int(run["seed"]), int(run["threads"]))] = run.get("verdicts", {})
    if any(key not in runs for key in STABILITY_RUNS):
        return {}
    first = runs[STABILITY_RUNS[0]]
    out = {}
    for claim_id, v in first.items():
        same = all(runs[key].get(claim_id) == v for key in STABILITY_RUNS)
        if same and v in ("reproduced", "contradicted"):
            out[claim_id] = v
    return out


def check(table: pd.DataFrame | Sequence[Claim], *, profile: str, replicates: int) -> list[str]:
    """Assert what a lesson may assert; return the ids it asserted.

    Every invariant must hold, at every profile. A comparison's verdict is asserted only at the
    profile and replicate count of the stability runs (quick, 3 replicates) and only when the
    registry fixes it (:func:`asserted`); everything else is reported, never asserted.

    Raises:
        AssertionError: naming each claim that broke.
    """
    if not isinstance(table, pd.DataFrame):
        table = frame(table)
    failures, checked = [], []
    for _, row in table[table["kind"] == "invariant"].iterrows():
        checked.append(row["id"])
        if row["verdict"] != "holds":
            failures.append(f"invariant {row['id']} fails: {row['statement']} ({row['detail']})")
    if profile == STABILITY_PROFILE and replicates == STABILITY_REPLICATES:
        fixed = asserted()
        for _, row in table[table["kind"] != "invariant"].iterrows():
            want = fixed.get(row["id"])
            if want is None:
                continue
            checked.append(row["id"])
            if row["verdict"] != want:
                failures.append(
                    f"{row['id']}: verdict {row['verdict']!r}, stable runs gave {want!r} — "
                    f"{row['statement']} (ours {row['mean']:+.3g}, "
                    f"interval [{row['low']:+.3g}, {row['high']:+.3g}])"
                )
    if failures:
        raise AssertionError("; ".join(failures))
    return checked
