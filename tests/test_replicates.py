"""mailviz.replicates: seeds of the replicates, mean ± std tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mailviz import replicates


def test_seeds_and_profile_defaults() -> None:
    assert replicates.seeds(10, 3) == [10, 11, 12]
    assert replicates.default_replicates("quick") == 3
    assert replicates.default_replicates("paper") == 5  # MAIL's "5 trials"
    assert replicates.default_replicates("mnist") == 1
    for bad in [(-1, 3), (0, 0), (0.5, 3), (0, True), ("0", 3)]:
        with pytest.raises(ValueError, match="must be an integer"):
            replicates.seeds(*bad)
    with pytest.raises(ValueError, match="profile"):
        replicates.default_replicates("huge")


def test_summary_and_mean_std_cells() -> None:
    frame = pd.DataFrame({"model": ["a", "a", "a", "b"], "seed": [0, 1, 2, 0],
                          "acc": [60.0, 62.0, 64.0, 70.0]})  # fmt: skip
    s = replicates.summary(frame, ["model"], ["acc"]).set_index("model")
    assert s.loc["a", "acc_mean"] == 62.0 and s.loc["a", "acc_std"] == pytest.approx(2.0)
    assert math.isnan(s.loc["b", "acc_std"]) and s.loc["b", "acc_n"] == 1.0
    cells = replicates.mean_std(frame, ["model"], ["acc"], decimals=1)
    assert cells.loc["a", "acc"] == "62.0 ± 2.0" and cells.loc["b", "acc"] == "70.0"
    with pytest.raises(ValueError, match="lacks columns"):
        replicates.mean_std(frame, ["method"], ["acc"])
