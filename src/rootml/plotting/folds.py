"""The k-fold cross-validation figure: background rejection against signal efficiency of each fold run of a model,
with their mean and the band of one standard deviation over the folds."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rootml.metrics.binary import RocCurve
from rootml.plotting.roc import EFFICIENCY_LABEL, REJECTION_LABEL, draw_rejection, efficiency_grid, tagger_styles
from rootml.plotting.style import save_figure, use_style

FIGURE_INCHES = (8.0, 6.5)


def fold_spread(rejections: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation over the folds (rows) of the rejection at each efficiency; NaN where a
    fold has no finite rejection (no background jet left)."""
    finite = np.where(np.isfinite(rejections), rejections, np.nan)
    with warnings.catch_warnings():  # an efficiency without a finite rejection in any fold: NaN, drawn as a gap
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(finite, axis=0), np.nanstd(finite, axis=0, ddof=1)


def plot_fold_rocs(
    curves: Mapping[str, RocCurve], out_stem: str | os.PathLike[str], *, signal_label: str = "signal",
    background_label: str = "background", efficiency_range: tuple[float, float] = (0.1, 1.0),
) -> list[Path]:
    """Rejection vs signal efficiency of each fold run (name -> ROC of its test jets), their mean and ± 1 standard
    deviation band; written as out_stem.pdf and .png."""
    if len(curves) < 2:
        raise ValueError(f"the spread over folds needs at least two fold runs, got {list(curves)}")
    grid = efficiency_grid(efficiency_range)
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    styles = tagger_styles(list(curves), None)
    rejections = np.array([draw_rejection(ax, curve, grid, styles[name][0], styles[name][1], copy=True)[0]
                           for name, curve in curves.items()])
    mean, spread = fold_spread(rejections)
    ax.plot(grid, mean, color="black", linewidth=2, label=f"Mean of {len(curves)} folds")
    ax.fill_between(grid, mean - spread, mean + spread, color="black", alpha=0.2, linewidth=0,
                    label="± 1 std. dev. over folds")
    ax.plot(grid, 1.0 / grid, color="grey", linestyle="--", label="Random")
    ax.set_yscale("log")
    ax.set_xlabel(EFFICIENCY_LABEL)
    ax.set_ylabel(REJECTION_LABEL)
    ax.set_xlim(*efficiency_range)
    ax.legend(title=f"{signal_label} vs {background_label}", fontsize="small", title_fontsize="small")
    return save_figure(fig, out_stem)
