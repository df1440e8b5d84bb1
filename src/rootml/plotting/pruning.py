"""The pruning figure: a performance metric against the fraction of pruned weights, several models on one axes."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from rootml.plotting.style import save_figure, use_style

FIGURE_INCHES = (8.0, 6.5)
REQUIRED_COLUMNS = ("sparsity", "metric")


def plot_metric_vs_sparsity(
    tables: Mapping[str, pd.DataFrame], out_stem: str | os.PathLike[str], *, metric_label: str = "AUC",
) -> list[Path]:
    """Metric vs measured weight sparsity of each model (name -> pruning table with sparsity, metric columns)."""
    if not tables:
        raise ValueError("no pruning tables to plot")
    for name, table in tables.items():
        missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
        if missing:
            raise ValueError(f"pruning table of model '{name}' lacks columns {missing}")
        if table.empty:
            raise ValueError(f"pruning table of model '{name}' has no rows")
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    for name, table in tables.items():
        ordered = table.sort_values("sparsity")
        ax.plot(100 * ordered["sparsity"], ordered["metric"], marker="o", label=name)
    ax.set_xlabel("Pruned weights [%]")
    ax.set_ylabel(metric_label)
    ax.set_xlim(0, 100)
    ax.legend(title="Model", fontsize="small")
    return save_figure(fig, out_stem)


def plot_class_metric_vs_sparsity(
    table: pd.DataFrame, classes: Sequence[str], out_stem: str | os.PathLike[str], *, model: str,
    prefix: str = "auc_", metric_label: str = "One-vs-rest AUC",
) -> list[Path]:
    """Per-class metric (columns {prefix}{class} of one model's pruning table) against the measured sparsity."""
    columns = [f"{prefix}{name}" for name in classes]
    missing = [column for column in ("sparsity", *columns) if column not in table.columns]
    if missing:
        raise ValueError(f"pruning table of model '{model}' lacks columns {missing}")
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    ordered = table.sort_values("sparsity")
    for name, column in zip(classes, columns):
        ax.plot(100 * ordered["sparsity"], ordered[column], marker="o", label=name)
    ax.set_xlabel("Pruned weights [%]")
    ax.set_ylabel(metric_label)
    ax.set_xlim(0, 100)
    # the AUCs fall with the sparsity, so the lower left corner stays free of curves
    ax.legend(title=f"{model}: class", fontsize="small", loc="lower left", ncols=min(len(classes), 3))
    return save_figure(fig, out_stem)
