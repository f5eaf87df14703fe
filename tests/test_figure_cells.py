"""mailviz.figure_cells: which cell saves which figure, and regenerating one figure."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from mailviz import figure_cells as fc
from mailviz.figures import list_notebooks

ROOT = Path(__file__).resolve().parents[1]


def test_constant_names_and_keyword_and_no_save() -> None:
    calls = fc.save_calls('fig = f()\nplots.save(fig, "weights_fig5", notebook=NOTEBOOK)\n'
                          'plots.save(fig2, name="other")')
    assert calls == [fc.SaveCall("weights_fig5", False), fc.SaveCall("other", False)]
    assert fc.save_calls("claims.save(verdicts, notebook=NOTEBOOK)\nx = 1") == []
    assert fc.save_calls("%matplotlib inline\nprint('save')") == []


def test_f_strings_and_loops_become_names_or_patterns() -> None:
    loop = 'for name in ("sigmoid", "hinge"):\n    plots.save(fig, f"explorer_{name}")'
    assert [c.name for c in fc.save_calls(loop)] == ["explorer_sigmoid", "explorer_hinge"]
    zipped = ('for name, eps in zip(("a5", "a6"), grid, strict=True):\n'
              '    plots.save(fig, name, notebook=NOTEBOOK)')
    assert [c.name for c in fc.save_calls(zipped)] == ["a5", "a6"]
    unknown = 'for name, ds in sets.items():\n    plots.save(fig, f"samples_{name}")'
    assert fc.save_calls(unknown) == [fc.SaveCall("samples_*", True)]
    assert fc.save_calls("plots.save(fig, name)") == [fc.SaveCall("*", True)]


def _notebook(folder: Path, stem: str, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = folder / f"{stem}.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_synthetic_lessons_map_patterns_to_known_files(tmp_path) -> None:
    nbs, figs = tmp_path / "nb", tmp_path / "fig"
    nbs.mkdir()
    _notebook(nbs, "00_demo", ["x = 1", 'for k, v in d.items():\n    plots.save(f, f"s_{k}")',
                               'plots.save(f, "curve")'])  # fmt: skip
    _notebook(nbs, "01_other", ['plots.save(f, "curve")', 'plots.save(f, f"p_{i}")'])
    (figs / "00_demo").mkdir(parents=True)
    for stem in ("s_a", "s_b", "curve", "unrelated"):
        (figs / "00_demo" / f"{stem}.png").write_bytes(b"")
    cells = fc.figure_cells(nbs, figs)
    assert [(c.key, c.cell, c.pattern) for c in cells] == [
        ("00_demo/s_a", 1, False), ("00_demo/s_b", 1, False), ("00_demo/curve", 2, False),
        ("01_other/curve", 0, False), ("01_other/p_*", 1, True)]  # fmt: skip
    assert fc.find_figure("00_demo/curve", cells).cell == 2
    assert fc.find_figure("s_b", cells).lesson == "00_demo"
    assert fc.find_figure("p_7", cells) == fc.FigureCell("01_other", "p_7", 1)
    with pytest.raises(ValueError, match="several lessons: 00_demo/curve, 01_other/curve"):
        fc.find_figure("curve", cells)
    with pytest.raises(ValueError, match=r"unknown figure 's_c'; close matches: .*00_demo/s_a"):
        fc.find_figure("s_c", cells)
    assert "00_demo/s_a" in fc.listing(cells) and "cell 2" in fc.listing(cells)


def test_every_committed_figure_maps_to_exactly_one_cell() -> None:
    cells = fc.figure_cells()
    keys = [c.key for c in cells if not c.pattern]
    committed = sorted(f"{p.parent.name}/{p.stem}" for p in (ROOT / "figures").glob("*/*.png")
                       if p.parent.name != "mnist")  # fmt: skip
    assert committed, "no committed figures"
    for key in committed:
        assert keys.count(key) == 1, f"{key}: {keys.count(key)} cells"
        assert fc.find_figure(key, cells).key == key
    lessons = {nb.stem for nb in list_notebooks()}
    assert {c.lesson for c in cells} <= lessons


def test_unknown_figure_is_one_clear_line() -> None:
    with pytest.raises(ValueError) as err:
        fc.find_figure("weights_fig8", fc.figure_cells())
    message = str(err.value)
    assert "\n" not in message and "weights_fig5" in message and "--list" in message


@pytest.mark.slow
def test_regenerate_one_cheap_figure_at_smoke(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MAILVIZ_FIGURES", str(tmp_path))
    monkeypatch.setenv("MAILVIZ_THREADS", os.environ.get("MAILVIZ_THREADS", "1"))
    written, seconds = fc.regenerate("03_weight_functions/weight_functions", "smoke",
                                     verbose=False)  # fmt: skip
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["03_weight_functions/weight_functions.png",
                     "03_weight_functions/weight_functions.svg"]  # fmt: skip
    assert sorted(written) == sorted(tmp_path / f for f in files) and seconds > 0
    assert "<text" in (tmp_path / files[1]).read_text()  # the slide style: editable text
