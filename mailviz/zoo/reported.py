"""The clean / robust accuracies RobustBench reports for a model (its README tables, JSON)."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from mailviz.zoo.registry import _canonical, _check_name

# --------------------------------------------------------------------------------------------
# Reported accuracies
# --------------------------------------------------------------------------------------------

_TABLE_DATASETS = {"CIFAR-10": "cifar10", "CIFAR-100": "cifar100", "ImageNet": "imagenet"}
_ACC_FIELD = {"Linf": "autoattack_acc", "L2": "autoattack_acc", "corruptions": "corruptions_acc"}
_CELL_MARKUP = re.compile(r"</?su[bp]>|\*")
_LINK = re.compile(r"^\[(?P<title>.*)\]\((?P<link>[^)]*)\)$")


def _robustbench_package_dir() -> Path | None:
    spec = importlib.util.find_spec("robustbench")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _parse_eps(heading: str) -> float | None:
    match = re.search(r"eps\s*=\s*([0-9.]+)(?:\s*/\s*([0-9.]+))?", heading)
    if match is None:
        return None
    value = float(match.group(1))
    return value / float(match.group(2)) if match.group(2) else value


def _percent(cell: str) -> float:
    return float(cell.rstrip("%"))


@functools.cache
def _readme_tables() -> dict[tuple[str, str, str], dict[str, Any]]:
    """The Model Zoo tables of the README shipped in robustbench's package metadata."""
    try:
        dist = importlib.metadata.distribution("robustbench")
    except importlib.metadata.PackageNotFoundError:
        return {}
    text = dist.read_text("METADATA") or ""
    version = dist.version
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    dataset: str | None = None
    threat: str | None = None
    eps: float | None = None
    for line in text.splitlines():
        if line.startswith(("# ", "## ", "### ")):
            title = line.lstrip("#").strip()
            dataset = _TABLE_DATASETS.get(title) if line.startswith("### ") else None
            threat = None
        elif line.startswith("#### ") and dataset is not None:
            heading = line[5:].strip()
            if heading.startswith("Linf"):
                threat = "Linf"
            elif heading.startswith("L2"):
                threat = "L2"
            elif "Corruptions" in heading:
                threat = "corruptions"
            else:
                threat = None
            eps = _parse_eps(heading)
        elif line.startswith("|") and dataset is not None and threat is not None:
            cells = [_CELL_MARKUP.sub("", c).strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 7 or not cells[3].endswith("%"):
                continue  # header or separator row
            paper = _LINK.match(cells[2])
            rows[(dataset, threat, cells[1])] = {
                "name": cells[1],
                "dataset": dataset,
                "threat_model": threat,
                "eps": eps,
                "clean_acc": _percent(cells[3]),
                _ACC_FIELD[threat]: _percent(cells[4]),
                "architecture": cells[5],
                "venue": cells[6],
                "paper": paper.group("title") if paper else cells[2],
                "link": paper.group("link") if paper else None,
                "source": f"robustbench {version} README (Model Zoo table in the package metadata)",
            }
    return rows


def _from_json(path: Path, name: str, dataset: str, threat_model: str) -> dict[str, Any]:
    info = json.loads(path.read_text())
    field = _ACC_FIELD[threat_model]
    robust = info.get("external", info.get(field)) if field == "autoattack_acc" else info.get(field)
    return {
        "name": name,
        "dataset": dataset,
        "threat_model": threat_model,
        "eps": None if info.get("eps") is None else float(info["eps"]),
        "clean_acc": None if info.get("clean_acc") is None else float(info["clean_acc"]),
        field: None if robust is None else float(robust),
        "architecture": info.get("architecture"),
        "venue": info.get("venue"),
        "paper": info.get("name"),
        "link": info.get("link"),
        "source": str(path),
    }


def reported_accuracy(
    name: str, dataset: str = "cifar10", threat_model: str = "Linf"
) -> dict[str, Any] | None:
    """Clean and robust accuracy (%) of a zoo entry as RobustBench reports them.

    Read from the installed package only (no network): a ``model_info/<dataset>/<threat>/
    <name>.json`` inside the robustbench package if one is shipped (robustbench 1.1.1 ships
    none), else the Model Zoo tables of RobustBench's README, which the wheel carries as its
    package description (``robustbench-*.dist-info/METADATA``). The robust accuracy is
    AutoAttack's (``"autoattack_acc"``; RobustBench's ``external`` evaluation when it differs)
    for ``Linf``/``L2`` and the corruption accuracy (``"corruptions_acc"``) for
    ``corruptions``.

    Returns:
        ``{"name", "dataset", "threat_model", "eps", "clean_acc", "autoattack_acc" |
        "corruptions_acc", "architecture", "venue", "paper", "link", "source"}`` with accuracies
        in percent, or ``None`` when the installed package lists no number for the entry (and
        always for ``corruptions_3d``, which the tables do not separate).

    Example:
        >>> reported_accuracy("Zhang2019Theoretically")["clean_acc"]
        84.92
    """
    name = _check_name(name)
    ds, tm = _canonical(dataset, threat_model)
    if tm == "corruptions_3d":
        return None
    package = _robustbench_package_dir()
    if package is not None:
        path = package / "model_info" / ds / tm / f"{name}.json"
        if path.is_file():
            return _from_json(path, name, ds, tm)
    row = _readme_tables().get((ds, tm, name))
    return None if row is None else dict(row)
