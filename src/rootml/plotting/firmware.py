"""The firmware figures: a model's emulated metric against the fixed-point precision, with the float model's."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from rootml.plotting.style import save_figure, use_style

FIGURE_INCHES = (8.0, 6.5)
REQUIRED_COLUMNS = ("precision", "width", "integer_bits", "metric", "float_metric")
X_LABEL = "Fixed-point precision W,I of ap_fixed<W,I>"


def ordered_rows(table: pd.DataFrame, model: str, columns: Sequence[str]) -> pd.DataFrame:
    """The firmware table's rows by total then integer bits; ValueError if it is empty or lacks `columns`."""
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"firmware table of model '{model}' lacks columns {missing}")
    if table.empty:
        raise ValueError(f"firmware table of model '{model}' has no rows")
    return table.sort_values(["width", "integer_bits"], kind="stable").reset_index(drop=True)


def tick_labels(ordered: pd.DataFrame) -> list[str]:
    """'W,I' of each row (the scan's precision without its type name)."""
    return [f"{width},{integer}" for width, integer in zip(ordered["width"], ordered["integer_bits"])]


def plot_metric_vs_precision(
    table: pd.DataFrame, out_stem: str | os.PathLike[str], *, model: str, metric_label: str = "AUC",
) -> list[Path]:
    """Emulated metric at each precision of one model's firmware table, the float metric as a dashed line."""
    ordered = ordered_rows(table, model, REQUIRED_COLUMNS)
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    positions = range(len(ordered))
    ax.plot(positions, ordered["metric"], marker="o", label=f"{model}: emulated")
    ax.axhline(float(ordered["float_metric"].iloc[0]), color="black", linestyle="--", label=f"{model}: float")
    ax.set_xticks(list(positions), tick_labels(ordered), rotation=45, ha="right", fontsize="small")
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(metric_label)
    ax.legend(fontsize="small", loc="lower right")
    return save_figure(fig, out_stem)


def plot_class_metric_vs_precision(
    table: pd.DataFrame, classes: Sequence[str], out_stem: str | os.PathLike[str], *, model: str,
    prefix: str = "auc_", metric_label: str = "One-vs-rest AUC",
) -> list[Path]:
    """Per-class emulated metric (columns {prefix}{class} of one model's firmware table) at each precision."""
    columns = [f"{prefix}{name}" for name in classes]
    ordered = ordered_rows(table, model, ("precision", "width", "integer_bits", *columns))
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    positions = range(len(ordered))
    for name, column in zip(classes, columns):
        ax.plot(positions, ordered[column], marker="o", label=name)
    ax.set_xticks(list(positions), tick_labels(ordered), rotation=45, ha="right", fontsize="small")
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(metric_label)
    # the metrics rise with the precision, so the lower right corner stays free of curves
    ax.legend(title=f"{model}: class", fontsize="small", loc="lower right", ncols=min(len(classes), 3))
    return save_figure(fig, out_stem)
