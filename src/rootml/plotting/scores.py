"""The score figure: a discriminant's distribution per class, test jets over train jets, as an overtraining check
with the Kolmogorov-Smirnov p-value of each class in the legend."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import hist
import mplhep
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.stats import ks_2samp

from rootml.plotting.style import save_figure, use_style

FIGURE_INCHES = (8.0, 6.5)
SCORE_EDGES = np.linspace(0.0, 1.0, 41)
# Weighted values of one class: (values, weights).
Sample = tuple[np.ndarray, np.ndarray]


def unit_area(sample: Sample, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Density (unit area over the axis, out-of-range jets dropped) of a weighted sample and its statistical error."""
    histogram = hist.Hist(hist.axis.Variable(edges), storage=hist.storage.Weight())
    histogram.fill(sample[0], weight=sample[1])
    scale = histogram.values().sum() * np.diff(edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        return histogram.values() / scale, np.sqrt(histogram.variances()) / scale


def ks_pvalue(train: np.ndarray, test: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov p-value of train vs test values (unweighted: the test assumes plain counts)."""
    return float(ks_2samp(train, test).pvalue)


def draw_distributions(ax: Axes, test: Mapping[str, Sample], edges: np.ndarray,
                       train: Mapping[str, Sample] | None = None) -> None:
    """Per class: test jets as points with error bars, train jets (when given) as a filled histogram of one colour."""
    for i, (name, sample) in enumerate(test.items()):
        color = f"C{i % 10}"
        label = name if train is None else f"{name} test"
        if train is not None and name in train and len(train[name][0]):
            density, _ = unit_area(train[name], edges)
            mplhep.histplot(density, edges, ax=ax, histtype="fill", alpha=0.3, color=color, label=f"{name} train")
            label += f" (KS $p$ = {ks_pvalue(train[name][0], sample[0]):.2f})"
        density, error = unit_area(sample, edges)
        mplhep.histplot(density, edges, yerr=error, ax=ax, histtype="errorbar", color=color, label=label,
                        markersize=4)


def plot_score_distributions(
    test: Mapping[str, Sample], out_stem: str | os.PathLike[str], *, train: Mapping[str, Sample] | None = None,
    xlabel: str = "Discriminant", title: str | None = None, edges: np.ndarray = SCORE_EDGES, log_y: bool = True,
) -> list[Path]:
    """Unit-area distribution of a score per class (name -> (values, weights)), train overlaid on test when given."""
    if not test or not any(len(sample[0]) for sample in test.values()):
        raise ValueError("no test scores to plot")
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    draw_distributions(ax, {name: s for name, s in test.items() if len(s[0])}, edges, train)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Fraction of jets / bin width")
    ax.set_xlim(edges[0], edges[-1])
    if log_y:
        ax.set_yscale("log")
        low, high = ax.get_ylim()
        ax.set_ylim(low, high * 100)  # headroom for the legend above the curves
    ax.legend(title=title, fontsize="x-small", title_fontsize="small", ncols=2)
    return save_figure(fig, out_stem)
