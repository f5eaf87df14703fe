"""The PGD playground: PGD (or LM-PGD) paths of 2-D points over a model's decision regions.

Each point's κ (GAIRAT's least PGD steps) and PM are shown next to its path; the numbers come
from :func:`playground_state`.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import torch
from torch import Tensor, nn

from mailviz import attacks, margins
from mailviz.widgets._common import PLAYGROUND_STARTS, _close, _model_device, _png, _table_html

#: The LM-PGD checkbox's label (shown whole: see the checkbox in :class:`PGDPlayground`).
LM_LABEL = "LM-PGD (momentum + line search)"

# --------------------------------------------------------------------------------------------
# PGD playground: pure compute
# --------------------------------------------------------------------------------------------


def playground_points(
    dataset: str = "moons", n_points: int = 6, seed: int = 0, split: str = "test"
) -> tuple[Tensor, Tensor]:
    """``n_points`` examples of a 2-D dataset, half from each class, drawn with ``seed``.

    Example:
        >>> x, y = playground_points("moons", n_points=4)
        >>> x.shape, y.tolist()
        (torch.Size([4, 2]), [0, 0, 1, 1])
    """
    from mailviz.data import load_dataset

    if isinstance(n_points, bool) or not isinstance(n_points, int) or not 1 <= n_points <= 50:
        raise ValueError(f"n_points must be an int in [1, 50], got {n_points!r} — e.g. n_points=6")
    ds = load_dataset(dataset, split)
    if tuple(ds.input_shape) != (2,):
        raise ValueError(
            f"the PGD playground draws 2-D inputs; dataset {dataset!r} has shape "
            f"{tuple(ds.input_shape)} — use dataset='moons'"
        )
    x, y = ds.x, ds.y
    gen = torch.Generator().manual_seed(seed)
    classes = torch.unique(y)
    n_classes = len(classes)
    per_class = [n_points // n_classes + (i < n_points % n_classes) for i in range(n_classes)]
    chosen = []
    for c, n in zip(classes.tolist(), per_class, strict=True):
        idx = torch.nonzero(y == c).squeeze(1)
        chosen.append(idx[torch.randperm(idx.numel(), generator=gen)[:n]])
    index = torch.cat(chosen)
    return x[index].clone(), y[index].clone()


def playground_state(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float = 0.08,
    step_size: float = 0.02,
    steps: int = 10,
    start: str = "uniform",
    lm: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """One recorded attack on a few points: paths, κ and PM, for :class:`PGDPlayground`.

    PGD (MAIL appendix eq. 11, :func:`mailviz.attacks.pgd` with ``record=True``) or, with
    ``lm=True``, LM-PGD (eq. 12–14, :func:`mailviz.attacks.lm_pgd`) with the appendix's step
    range scaled to ε (``α ∈ [ε/2, 3ε/4]``, 4/255 and 6/255 at ε = 8/255, momentum 0.8); LM-PGD
    picks its own step by line search, so ``step_size`` is ignored. κ is counted along the path
    the attack took, ``κ_i = Σ_{t<K} 1[pred(x_i^{(t)}) = y_i]``
    (:func:`mailviz.margins.kappa_from_predictions`; for PGD this equals ``AttackResult.kappa``);
    PM is :func:`mailviz.margins.probabilistic_margin` at the clean point and at ``x^{(K)}``.
    The random start is drawn from a generator seeded with ``seed``, so a replay is identical.

    Returns:
        dict with ``x``, ``y``, ``path`` ``[K+1, B, 2]``, ``path_pred`` ``[K+1, B]``, ``kappa``
        ``[B]``, ``pm_clean`` ``[B]``, ``pm_adv`` ``[B]``, ``correct`` ``[B]`` (at ``x^{(K)}``),
        ``x_adv`` and the settings.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Linear(2, 2))
        >>> s = playground_state(model, torch.rand(3, 2), torch.tensor([0, 1, 0]), steps=5)
        >>> s["path"].shape, s["kappa"].shape
        (torch.Size([6, 3, 2]), torch.Size([3]))
    """
    if start not in PLAYGROUND_STARTS:
        raise ValueError(f"unknown start {start!r}; choose one of {', '.join(PLAYGROUND_STARTS)}")
    device = _model_device(model)
    x, y = x.to(device), y.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    if lm:
        res = attacks.lm_pgd(
            model, x, y, eps, steps=steps, start=start, record=True, generator=gen,
            return_result=True,
        )  # fmt: skip
    else:
        res = attacks.pgd(
            model, x, y, eps, step_size, steps, start=start, record=True, generator=gen,
            return_result=True,
        )  # fmt: skip
    assert res.path is not None and res.path_pred is not None and res.logits is not None
    kappa = margins.kappa_from_predictions(res.path_pred[:-1], y)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            pm_clean = margins.probabilistic_margin(model(x), y)
    finally:
        model.train(was_training)
    return dict(
        x=x.cpu(),
        y=y.cpu(),
        x_adv=res.x_adv.cpu(),
        path=res.path.cpu(),
        path_pred=res.path_pred.cpu(),
        kappa=kappa.cpu(),
        pm_clean=pm_clean.cpu(),
        pm_adv=margins.probabilistic_margin(res.logits, y).cpu(),
        correct=(res.logits.argmax(dim=1) == y).cpu(),
        eps=eps,
        step_size=step_size,
        steps=steps,
        start=start,
        lm=lm,
    )


class PGDPlayground(widgets.VBox):
    """Sliders for ε, step size, steps; start dropdown; LM-PGD checkbox → paths + κ/PM table.

    Built by :func:`pgd_playground`. Attributes: ``controls`` (``"eps"``, ``"step_size"``,
    ``"steps"``, ``"start"``, ``"lm"``), ``state`` (the last :func:`playground_state` dict),
    ``image``, ``table`` (``ipywidgets.HTML``), ``renders``.
    """

    latency_control = "eps"

    def __init__(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        *,
        eps: float = 0.08,
        step_size: float = 0.02,
        steps: int = 10,
        start: str = "uniform",
        lm: bool = False,
        seed: int = 0,
        dpi: float = 80.0,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch nn.Module, got {type(model).__name__}")
        self.model, self.x, self.y, self.seed = model, x, y, seed
        self._dpi = dpi
        self.renders = 0
        style = {"description_width": "5em"}

        def layout() -> widgets.Layout:
            return widgets.Layout(width="360px")

        self.controls: dict[str, widgets.ValueWidget] = {
            "eps": widgets.FloatSlider(value=eps, min=0.01, max=0.3, step=0.01, description="ε",
                                       readout_format=".2f", style=style, layout=layout()),
            "step_size": widgets.FloatSlider(value=step_size, min=0.005, max=0.1, step=0.005,
                                             description="step size", readout_format=".3f",
                                             style=style, layout=layout()),
            "steps": widgets.IntSlider(value=steps, min=1, max=50, description="steps",
                                       style=style, layout=layout()),
            "start": widgets.Dropdown(options=list(PLAYGROUND_STARTS), value=start,
                                      description="start", style=style),
            # no indent and an auto width: the default 300 px box minus the indent cut the label
            "lm": widgets.Checkbox(value=lm, description=LM_LABEL, indent=False,
                                   style={"description_width": "initial"},
                                   layout=widgets.Layout(width="auto")),
        }  # fmt: skip
        for name, control in self.controls.items():
            control.add_class(f"mailviz-{name}")
        self.image = widgets.Image(format="png")
        self.image.add_class("mailviz-plot")
        self.table = widgets.HTML()
        self.table.add_class("mailviz-table")
        super().__init__(
            [
                widgets.HBox(
                    [
                        widgets.VBox([self.controls[n] for n in ("eps", "step_size", "steps")]),
                        widgets.VBox([self.controls["start"], self.controls["lm"]]),
                    ]
                ),
                # the table wraps below the plot when the output area is too narrow for both
                widgets.HBox([self.image, self.table], layout=widgets.Layout(flex_flow="row wrap")),
            ]
        )
        self.add_class("mailviz-pgd-playground")
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.controls["step_size"].disabled = lm
        self.update()

    def _on_change(self, change: dict[str, Any]) -> None:
        # LM-PGD line-searches its step: the step-size slider has no effect while it is on
        self.controls["step_size"].disabled = bool(self.controls["lm"].value)
        self.update()

    def parameters(self) -> dict[str, Any]:
        """The current control values as keyword arguments of :func:`playground_state`."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> dict[str, Any]:
        """Rerun the attack with the current controls and redraw the paths and the table."""
        from mailviz import plots

        state = playground_state(self.model, self.x, self.y, seed=self.seed, **self.parameters())
        self.state = state
        fig = plots.lps_paths(
            self.model, state["x"], state["path"], path_pred=state["path_pred"],
            kappa=state["kappa"], labels=state["y"], eps=state["eps"],
        )  # fmt: skip
        try:
            self.image.value = _png(fig, self._dpi)
        finally:
            _close(fig)
        self.table.value = _table_html(state)
        self.renders += 1
        return state


def pgd_playground(
    model: nn.Module,
    dataset: str = "moons",
    n_points: int = 6,
    seed: int = 0,
    *,
    eps: float = 0.08,
    step_size: float = 0.02,
    steps: int = 10,
    start: str = "uniform",
    lm: bool = False,
    dpi: float = 80.0,
) -> PGDPlayground:
    """Watch PGD / LM-PGD move a handful of 2-D points across a model's decision regions.

    Sliders set ε, the step size and the number of steps, a dropdown the start
    (``uniform``/``normal``/``none``), a checkbox switches to LM-PGD (which line-searches its
    step in ``[ε/2, 3ε/4]``, so the step-size slider is disabled while it is on). The figure is
    :func:`mailviz.plots.lps_paths` (paths over the decision regions); the table lists each
    point's label, κ (least PGD steps along the path it took), PM before and after the attack,
    and whether it is still classified correctly. Numbers: :func:`playground_state`.

    Args:
        model: a classifier of 2-D inputs in [0, 1]² (e.g. the ``mlp`` trained on ``moons``).
        dataset: a 2-D dataset of :mod:`mailviz.data` (``"moons"``); points from its test split.
        n_points: how many points (half per class), 1–50.
        seed: picks the points and seeds the random start.
        eps, step_size, steps, start, lm: initial control values.
        dpi: resolution of the rendered PNG.

    Returns:
        a :class:`PGDPlayground` (an ``ipywidgets.VBox``).

    Example:
        >>> pg = pgd_playground(trained.model, "moons", n_points=6)  # doctest: +SKIP
        >>> pg.controls["lm"].value = True; pg.state["kappa"]         # doctest: +SKIP
    """
    x, y = playground_points(dataset, n_points, seed)
    return PGDPlayground(
        model, x, y, eps=eps, step_size=step_size, steps=steps, start=start, lm=lm, seed=seed,
        dpi=dpi,
    )  # fmt: skip
