"""Feature-ranking figures: importance bars per method, SHAP summaries (shap's own plots), the comparison of
methods and the feature-selection curve."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rootml.plotting.style import save_figure, use_style
from rootml.seeds import seeded_global_numpy

BAR_INCHES_PER_FEATURE = 0.35
PANEL_WIDTH = 5.0
SHAP_MAX_DISPLAY = 20
BEESWARM_SEED = 0  # the dots' jitter: the same figure in every run


def _height(n_features: int) -> float:
    """Figure height (inches) that gives each feature's bar room for its label."""
    return max(4.0, 1.8 + BAR_INCHES_PER_FEATURE * n_features)


@contextmanager
def _pyplot_axes(out_stem: str | os.PathLike[str], written: list[Path]) -> Iterator[Axes]:
    """Current pyplot axes for shap's plotting functions (they draw on the current figure), saved and closed after.

    The style's automatic minor ticks are off: they fail on shap's irregular bar positions and its twin axes
    with ticks 1e-8 apart."""
    use_style()
    with matplotlib.rc_context({"xtick.minor.visible": False, "ytick.minor.visible": False}):
        fig = plt.figure()
        try:
            yield fig.subplots()
            fig.set_layout_engine("tight")
            written.extend(save_figure(fig, out_stem))
        finally:
            plt.close(fig)


def plot_importance_panels(
    table: pd.DataFrame, columns: Mapping[str, str], out_stem: str | os.PathLike[str], *,
    errors: Mapping[str, str] | None = None, title: str | None = None,
) -> list[Path]:
    """Horizontal bars of `table`'s columns (column -> axis label) side by side, one row per feature, ordered by
    the first column (most important on top); errors maps a column to the column of its error bars."""
    missing = [name for name in [*columns, *(errors or {}).values()] if name not in table.columns]
    if missing or table.empty:
        raise ValueError(f"cannot plot importances: table has columns {list(table.columns)}, "
                         f"{len(table)} rows; missing {missing}")
    first = next(iter(columns))
    ordered = table.sort_values(first, ascending=True, kind="stable")
    use_style()
    fig = Figure(figsize=(1.5 + PANEL_WIDTH * len(columns), _height(len(table))), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(columns), sharey=True))
    position = np.arange(len(ordered))
    for ax, (column, label) in zip(axes, columns.items()):
        error = ordered[errors[column]] if errors and column in errors else None
        ax.barh(position, ordered[column], xerr=error, color="tab:blue", alpha=0.8, capsize=2)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(label)
        ax.tick_params(axis="y", which="minor", left=False, right=False)
    axes[0].set_yticks(position, ordered.index, fontsize="small")
    axes[0].set_ylabel("Feature")
    if title:
        fig.suptitle(title, fontsize="medium")
    return save_figure(fig, out_stem)


def plot_shap_beeswarm(explanation: shap.Explanation, out_stem: str | os.PathLike[str], *,
                       title: str | None = None) -> list[Path]:
    """shap's beeswarm summary of one output's SHAP values (n, F): every jet's value per feature, coloured by
    the feature value."""
    written: list[Path] = []
    n_features = min(explanation.shape[1], SHAP_MAX_DISPLAY)
    with _pyplot_axes(out_stem, written) as ax:
        ax.figure.set_size_inches(9.0, _height(n_features))
        with seeded_global_numpy(BEESWARM_SEED):  # shap jitters the dots with numpy's global random state
            shap.plots.beeswarm(explanation, max_display=SHAP_MAX_DISPLAY, ax=ax, show=False, plot_size=None)
        if title:
            ax.set_title(title, fontsize="medium")
    return written


def plot_shap_bar(explanations: Mapping[str, shap.Explanation], out_stem: str | os.PathLike[str]) -> list[Path]:
    """shap's bar plot of mean |SHAP| per feature, one bar per output (label -> its (n, F) Explanation)."""
    if not explanations:
        raise ValueError("no SHAP explanations to plot")
    written: list[Path] = []
    first = next(iter(explanations.values()))
    n_features = min(first.shape[1], SHAP_MAX_DISPLAY)
    with _pyplot_axes(out_stem, written) as ax:
        ax.figure.set_size_inches(9.0, _height(n_features * max(1, len(explanations) // 2)))
        cohorts = dict(explanations) if len(explanations) > 1 else first
        shap.plots.bar(cohorts, max_display=SHAP_MAX_DISPLAY, ax=ax, show=False)
        ax.set_xlabel(r"mean $|$SHAP value$|$")
    return written


def plot_shap_waterfall(explanation: shap.Explanation, out_stem: str | os.PathLike[str], *,
                        title: str | None = None) -> list[Path]:
    """shap's waterfall of one jet's explanation (F,): from the base value to the model output feature by feature."""
    written: list[Path] = []
    with _pyplot_axes(out_stem, written) as ax:
        shap.plots.waterfall(explanation, max_display=SHAP_MAX_DISPLAY, show=False)
        ax.figure.set_size_inches(9.0, _height(min(explanation.shape[0], SHAP_MAX_DISPLAY)))
        if title:
            ax.figure.suptitle(title, fontsize="medium")
    return written


def plot_ranking_comparison(table: pd.DataFrame, out_stem: str | os.PathLike[str]) -> list[Path]:
    """The methods side by side (a `compare_rankings` table): normalised importance bars per method, and the
    ranks as a grid, features ordered by mean rank."""
    methods = [column.removeprefix("rank_") for column in table.columns if column.startswith("rank_")]
    if not methods or table.empty:
        raise ValueError(f"not a ranking comparison table: columns {list(table.columns)}, {len(table)} rows")
    use_style()
    n_features = len(table)
    fig = Figure(figsize=(9.0 + 1.1 * len(methods), 3.0 + 0.6 * n_features), layout="constrained")
    bars, grid = fig.subplots(1, 2, sharey=True, width_ratios=[8.0, 1.1 * len(methods)])
    position = np.arange(n_features)[::-1]
    width = 0.8 / len(methods)
    colours = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    for i, method in enumerate(methods):
        bars.barh(position + 0.4 - (i + 0.5) * width, table[f"importance_{method}"], height=width,
                  color=colours(i), label=method)
    bars.axvline(0.0, color="black", linewidth=0.8)
    bars.set_yticks(position, table.index, fontsize="small")
    bars.tick_params(axis="y", which="minor", left=False, right=False)
    bars.set_xlabel("Normalised importance")
    bars.set_ylabel("Feature (ordered by mean rank)")
    fig.legend(*bars.get_legend_handles_labels(), loc="outside upper center", ncols=min(3, len(methods)),
               fontsize="x-small", title="Method (importance / its largest value)", title_fontsize="small")
    ranks = table[[f"rank_{method}" for method in methods]].to_numpy(dtype=float)
    grid.imshow(ranks, aspect="auto", cmap="viridis_r", vmin=1, vmax=n_features,
                extent=(-0.5, len(methods) - 0.5, -0.5, n_features - 0.5))
    for row, column in np.ndindex(ranks.shape):
        if np.isfinite(ranks[row, column]):
            grid.text(column, position[row], f"{ranks[row, column]:.0f}", ha="center", va="center",
                      fontsize="x-small", color="white" if ranks[row, column] > n_features / 2 else "black")
    grid.set_xticks(np.arange(len(methods)), methods, rotation=60, ha="right", fontsize="x-small")
    grid.tick_params(which="both", bottom=False, top=False, left=False, right=False)
    grid.set_title("Rank per method", fontsize="small")
    return save_figure(fig, out_stem)


def plot_selection_curves(
    curves: Mapping[str, pd.DataFrame], out_stem: str | os.PathLike[str], *, metric_label: str = "AUC",
) -> list[Path]:
    """Test metric against the number of top-ranked features a model is retrained on (name -> selection table).

    With one curve, each tick names the feature added at that k."""
    if not curves or any(curve.empty for curve in curves.values()):
        raise ValueError("no selection curves to plot")
    use_style()
    fig = Figure(figsize=(8.0, 6.5), layout="constrained")
    ax = fig.subplots()
    for name, curve in curves.items():
        ax.plot(curve["k"], curve["metric"], marker="o", label=name)
    if len(curves) == 1:
        curve = next(iter(curves.values()))
        ax.set_xticks(curve["k"], [f"{k}: +{added}" for k, added in zip(curve["k"], curve["added"])],
                      rotation=60, ha="right", fontsize="x-small")
        ax.tick_params(axis="x", which="minor", bottom=False, top=False)
    ax.set_xlabel("Top-ranked features used")
    ax.set_ylabel(metric_label)
    ax.legend(title="Model", fontsize="small")
    return save_figure(fig, out_stem)
