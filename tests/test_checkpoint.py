"""mailviz.checkpoint: atomic writes, weights-only reads and one-line errors."""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from mailviz import checkpoint
from mailviz.checkpoint import (
    CheckpointError,
    atomic_write,
    check_payload,
    load_checkpoint,
    load_state_dict_checked,
    save_checkpoint,
)


class _Evil:
    """Unpickling this would run a shell command; a weights-only load must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.marker}",))


class _Custom:
    pass


def _payload() -> dict:
    return {
        "epoch": 3,
        "model": OrderedDict(w=torch.arange(6.0).view(2, 3), b=torch.zeros(2, dtype=torch.int64)),
        "history": [{"epoch": 1.0, "loss": 0.5}, {"epoch": 2.0, "loss": float("nan")}],
        "rng": torch.get_rng_state(),
        "config": {"dataset": "digits", "milestones": [15], "threads": None, "amp": "auto"},
        "shape": (1, 8, 8),
    }


def test_round_trip_keeps_every_value(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "sub" / "c.pt", _payload())
    assert path == tmp_path / "sub" / "c.pt"
    out = load_checkpoint(path)
    ref = _payload()
    assert out["epoch"] == 3 and out["config"] == ref["config"] and out["shape"] == (1, 8, 8)
    assert torch.equal(out["model"]["w"], ref["model"]["w"])
    assert out["model"]["b"].dtype == torch.int64
    assert torch.equal(out["rng"], ref["rng"])
    assert out["history"][0] == {"epoch": 1.0, "loss": 0.5}
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["c.pt"]


def test_crash_mid_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})
    before = path.read_bytes()
    real_save = torch.save

    def crashing_save(obj, fh, *args, **kwargs):
        real_save({"epoch": 2, "w": torch.zeros(1000)}, fh)  # some bytes reach the temp file
        fh.flush()
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(checkpoint.torch, "save", crashing_save)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, {"epoch": 2, "w": torch.zeros(1000)})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1


def test_interrupt_mid_write_also_cleans_up(tmp_path: Path, monkeypatch) -> None:
    def interrupted_save(obj, fh, *args, **kwargs):
        fh.write(b"PK\x03\x04partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.torch, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "c.pt", {"epoch": 1})
    assert list(tmp_path.iterdir()) == []


def test_payload_must_be_plain(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"payload\['opt'\]\['fn'\] is a function"):
        save_checkpoint(tmp_path / "c.pt", {"opt": {"fn": lambda: 0}})
    with pytest.raises(ValueError, match="expects a dict payload"):
        save_checkpoint(tmp_path / "c.pt", [torch.ones(1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key of type tuple"):
        check_payload({(1, 2): 3})
    # subclasses of plain types pickle as their own class, which weights_only refuses
    with pytest.raises(ValueError, match=r"payload\['v'\] is a float64"):
        check_payload({"v": np.float64(0.5)})
    with pytest.raises(ValueError, match="TorchVersion"):
        check_payload({"torch": torch.__version__})
    assert not (tmp_path / "c.pt").exists()


def test_missing_file_names_path_and_how_to_produce_it(tmp_path: Path) -> None:
    missing = tmp_path / "run" / "checkpoint.pt"
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(missing)
    msg = str(info.value)
    assert str(missing) in msg and "mailviz train" in msg and "\n" not in msg


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("cut", [0, 10, 0.5])
def test_truncated_file(tmp_path: Path, cut: float) -> None:
    path = save_checkpoint(tmp_path / "c.pt", _payload())
    data = path.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else cut
    path.write_bytes(data[:n])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert "is truncated or not a torch checkpoint" in msg
    assert "delete it and retrain / resume" in msg and str(path) in msg and "\n" not in msg


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    path.write_text("this is not a checkpoint at all")
    with pytest.raises(CheckpointError, match="truncated or not a torch checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_arbitrary_pickle_is_refused_and_never_executed(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pt"
    if writer == "torch.save":
        torch.save({"model": _Evil(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert "contains arbitrary Python objects" in msg
    assert "mailviz only loads weights_only checkpoints" in msg
    assert "system" in msg and "\n" not in msg
    assert not marker.exists()


def test_custom_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "custom.pt"
    torch.save({"x": _Custom()}, path)
    with pytest.raises(CheckpointError, match=r"arbitrary Python objects \(.*_Custom\)"):
        load_checkpoint(path)


def test_non_dict_and_required_keys(tmp_path: Path) -> None:
    path = tmp_path / "t.pt"
    torch.save(torch.ones(2), path)
    with pytest.raises(CheckpointError, match="holds a Tensor"):
        load_checkpoint(path)
    save_checkpoint(path, {"epoch": 1})
    with pytest.raises(CheckpointError, match=r"lacks key\(s\) \['model'\]"):
        load_checkpoint(path, required=("epoch", "model"))


def test_state_dict_mismatch_is_one_line(tmp_path: Path) -> None:
    net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))
    other = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 3))
    with pytest.raises(CheckpointError) as info:
        load_state_dict_checked(net, other.state_dict(), what="model", source="m.pt")
    msg = str(info.value)
    assert msg.startswith("m.pt: model state does not fit (size mismatch")
    assert "\n" not in msg
    with pytest.raises(CheckpointError, match="Unexpected key"):
        load_state_dict_checked(net, {**net.state_dict(), "extra": torch.ones(1)}, what="model",
                                source="m.pt")
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(CheckpointError, match="optimizer state does not fit"):
        load_state_dict_checked(opt, {"state": {}, "param_groups": []}, what="optimizer",
                                source="m.pt")
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_state_dict_checked(net, [1, 2], what="model", source="m.pt")
    load_state_dict_checked(net, net.state_dict(), what="model", source="m.pt")


def test_a_killed_writers_temporaries_go_with_the_next_write(tmp_path: Path) -> None:
    import os
    import time

    target = tmp_path / "results.csv"
    old = tmp_path / ".results.csv.k1ll3d.tmp"  # SIGKILL mid-write leaves this
    young = tmp_path / ".results.csv.l1v3.tmp"  # a writer that may still be running
    other = tmp_path / ".other.csv.k1ll3d.tmp"  # another target's: not ours to judge
    for p in (old, young, other):
        p.write_bytes(b"")
    past = time.time() - 3600
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    atomic_write(target, lambda fh: fh.write("a\n"))
    assert target.read_text() == "a\n"
    assert not old.exists() and young.exists() and other.exists()
