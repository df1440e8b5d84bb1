"""The ROC figure: background rejection 1/eps_B against signal efficiency for several taggers on a log axis, with
binomial uncertainty bands and a ratio panel to a reference tagger."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import rcParams
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rootml.metrics.binary import RocCurve, rejection_at
from rootml.plotting.style import save_figure, use_style

FIGURE_INCHES = (8.0, 8.5)
N_POINTS = 200
EFFICIENCY_LABEL = r"Signal efficiency $\varepsilon_{\mathrm{S}}$"
REJECTION_LABEL = r"Background rejection $1/\varepsilon_{\mathrm{B}}$"


def efficiency_grid(efficiency_range: tuple[float, float]) -> np.ndarray:
    """Signal efficiencies at which the curves are drawn."""
    low, high = efficiency_range
    if not 0 < low < high <= 1:
        raise ValueError(f"efficiency_range must satisfy 0 < low < high <= 1, got {efficiency_range}")
    return np.linspace(low, high, N_POINTS)


def draw_rejection(ax: Axes, curve: RocCurve, grid: np.ndarray, label: str | None, color: str | None = None,
                   copy: bool = False) -> tuple[np.ndarray, np.ndarray, str]:
    """Draw one rejection curve, with its uncertainty band unless it is a further `copy` of a tagger (another
    seed: a thin line of the same colour, no band, no legend entry); return rejection, uncertainty and colour."""
    rejection, error = rejection_at(curve, grid)
    finite = np.isfinite(rejection) & np.isfinite(error)  # no background left at low efficiency: nothing to draw
    x, y, dy = grid[finite], rejection[finite], error[finite]
    (line,) = ax.plot(x, y, label=label, linewidth=1 if copy else 2, color=color, alpha=0.7 if copy else 1.0)
    if not copy:
        ax.fill_between(x, *rejection_band(y, dy, curve.n_background), color=line.get_color(), alpha=0.25,
                        linewidth=0)
    return rejection, error, line.get_color()


def rejection_band(rejection: np.ndarray, error: np.ndarray, n_background: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edge of the rejection band: 1/(eps_B +- sigma), the binomial band of eps_B seen through 1/x.

    Symmetric +-error on the rejection reaches zero once a few background jets pass (error ~ rejection), which a
    log axis draws as a band down to the bottom. Where eps_B - sigma <= 0 the upper edge is the largest
    rejection the background count can measure.
    """
    relative = error / rejection  # = sigma / eps_B
    ceiling = np.maximum(rejection, n_background)
    with np.errstate(divide="ignore"):
        upper = np.where(relative < 1, rejection / (1 - relative), np.inf)
    return rejection / (1 + relative), np.minimum(upper, ceiling)


def tagger_styles(names: Sequence[str], groups: Mapping[str, str] | None) -> dict[str, tuple[str | None, str, bool]]:
    """Run name -> (legend label or None, colour, is a further copy): one colour and one legend entry per tagger,
    where `groups` maps runs trained several times (seeds) to their tagger; every run its own tagger without it."""
    groups = dict(groups or {})
    colors = rcParams["axes.prop_cycle"].by_key()["color"]
    taggers = list(dict.fromkeys(groups.get(name, name) for name in names))
    sizes = Counter(groups.get(name, name) for name in names)
    styles, seen = {}, set()
    for name in names:
        tagger = groups.get(name, name)
        color = colors[taggers.index(tagger) % len(colors)]
        label = tagger if sizes[tagger] == 1 else f"{tagger} ({sizes[tagger]} trainings)"
        styles[name] = (None if tagger in seen else label, color, tagger in seen)
        seen.add(tagger)
    return styles


def plot_rejection(
    curves: Mapping[str, RocCurve], out_stem: str | os.PathLike[str], *, reference: str | None = None,
    signal_label: str = "signal", background_label: str = "background",
    efficiency_range: tuple[float, float] = (0.1, 1.0), groups: Mapping[str, str] | None = None,
) -> list[Path]:
    """Rejection vs signal efficiency of each tagger (name -> ROC) and its ratio to `reference` (default: the first);
    runs that `groups` maps to one tagger (seed copies) share a colour and a legend entry."""
    if not curves:
        raise ValueError("no ROC curves to plot")
    reference = next(iter(curves)) if reference is None else reference
    if reference not in curves:
        raise ValueError(f"reference model '{reference}' is not among the curves {list(curves)}")
    grid = efficiency_grid(efficiency_range)
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    styles = tagger_styles(list(curves), groups)
    drawn = {name: draw_rejection(top, curve, grid, *styles[name]) for name, curve in curves.items()}
    top.plot(grid, 1.0 / grid, color="grey", linestyle="--", label="Random")
    top.set_yscale("log")
    top.set_ylabel(REJECTION_LABEL)
    top.legend(title=f"{signal_label} vs {background_label}", fontsize="small", title_fontsize="small")
    reference_rejection = drawn[reference][0]
    highest = 1.0
    for name, (rejection, error, color) in drawn.items():
        copy = styles[name][2]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = rejection / reference_rejection
            band = ratio * error / rejection
        finite = np.isfinite(ratio) & np.isfinite(band)
        bottom.plot(grid[finite], ratio[finite], color=color, linewidth=1 if copy else 2, alpha=0.7 if copy else 1.0)
        highest = highest if copy else max(highest, float(ratio[finite].max(initial=0.0)))  # copies may run off
        if not copy:
            bottom.fill_between(grid[finite], (ratio - band)[finite], (ratio + band)[finite], color=color,
                                alpha=0.25, linewidth=0)
    bottom.axhline(1.0, color="black", linewidth=0.8)
    bottom.set_ylim(0.0, 1.2 * highest)  # the curves set the range; wide bands at low efficiency are cut
    bottom.set_ylabel(f"Ratio to {reference}", fontsize="small")
    bottom.set_xlabel(EFFICIENCY_LABEL)
    bottom.set_xlim(*efficiency_range)
    return save_figure(fig, out_stem)


def class_roc_figure(
    curves: Mapping[str, Mapping[str, RocCurve]], *, efficiency_range: tuple[float, float] = (0.1, 1.0),
    groups: Mapping[str, str] | None = None,
) -> Figure:
    """One panel per class (class -> model -> one-vs-rest ROC): rejection of the other classes vs efficiency; seed
    copies as in plot_rejection. One legend for all panels: in the first unused panel, else below the grid."""
    if not curves:
        raise ValueError("no per-class ROC curves to plot")
    grid = efficiency_grid(efficiency_range)
    use_style()
    n_cols = min(3, len(curves))
    n_rows = -(-len(curves) // n_cols)
    fig = Figure(figsize=(5.5 * n_cols, 5.0 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    entries: dict[str, Artist] = {}
    for ax, (name, models) in zip(axes, curves.items()):
        styles = tagger_styles(list(models), groups)
        for model, curve in models.items():
            draw_rejection(ax, curve, grid, *styles[model])
        ax.plot(grid, 1.0 / grid, color="grey", linestyle="--", label="Random")
        ax.set_yscale("log")
        ax.set_xlim(*efficiency_range)
        ax.set_title(f"{name} vs rest", fontsize="small")
        ax.set_xlabel(f"Efficiency of class {name}", fontsize="small")
        ax.set_ylabel(r"Rejection of the rest $1/\varepsilon_{\mathrm{B}}$", fontsize="small")
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    for ax in axes[len(curves):]:
        ax.set_axis_off()
    handles, labels = list(entries.values()), list(entries)
    if len(curves) < len(axes):
        axes[len(curves)].legend(handles, labels, loc="center", fontsize="small")
    else:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize="small")
    return fig


def plot_class_rocs(
    curves: Mapping[str, Mapping[str, RocCurve]], out_stem: str | os.PathLike[str], *,
    efficiency_range: tuple[float, float] = (0.1, 1.0), groups: Mapping[str, str] | None = None,
) -> list[Path]:
    """Save class_roc_figure as out_stem.{png,pdf}."""
    return save_figure(class_roc_figure(curves, efficiency_range=efficiency_range, groups=groups), out_stem)
