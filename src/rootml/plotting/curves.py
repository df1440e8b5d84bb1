"""The training-curve figure: train and validation loss, validation accuracy and AUC, and learning rate per epoch."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rootml.plotting.style import save_figure, use_style

PANEL_INCHES = (6.0, 5.0)
# Panel -> (history columns drawn in it, y label, log scale); a panel whose columns hold no values is left out.
PANELS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "loss": (("train_loss", "val_loss"), "Loss", False),
    "accuracy": (("val_accuracy",), "Validation accuracy", False),
    "auc": (("val_auc",), "Validation AUC", False),
    "lr": (("lr",), "Learning rate", True),
}
LINE_LABELS = {"train_loss": "Training", "val_loss": "Validation"}


def column_values(history: pd.DataFrame, column: str) -> np.ndarray:
    """A history column as floats (NaN for missing values, all NaN for a missing column)."""
    if column not in history.columns:
        return np.full(len(history), np.nan)
    return pd.to_numeric(history[column], errors="coerce").to_numpy(np.float64)


def plot_training_curves(history: pd.DataFrame, out_stem: str | os.PathLike[str], *, title: str | None = None,
                         x_label: str = "Epoch") -> list[Path]:
    """One panel per quantity of the history (one row per epoch) that has values, against the epoch."""
    if "epoch" not in history.columns or history.empty:
        raise ValueError("history needs an 'epoch' column and at least one row")
    epoch = history["epoch"].to_numpy()
    panels = {name: spec for name, spec in PANELS.items()
              if any(np.isfinite(column_values(history, column)).any() for column in spec[0])}
    if not panels:
        raise ValueError(f"history has none of the columns {[c for spec in PANELS.values() for c in spec[0]]}")
    use_style()
    n_columns = min(2, len(panels))
    n_rows = -(-len(panels) // n_columns)
    fig = Figure(figsize=(PANEL_INCHES[0] * n_columns, PANEL_INCHES[1] * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_columns, squeeze=False).ravel()
    for spare in axes[len(panels):]:
        spare.remove()
    for ax, (columns, ylabel, log) in zip(axes, panels.values()):
        for column in columns:
            values = column_values(history, column)
            finite = np.isfinite(values)
            ax.plot(epoch[finite], values[finite], marker="o" if len(epoch) <= 30 else None, markersize=4,
                    label=LINE_LABELS.get(column, column))
        if len(columns) > 1:
            ax.legend(fontsize="small")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel(x_label)
        ax.set_ylabel(ylabel)
    if title is not None:
        fig.suptitle(title)
    return save_figure(fig, out_stem)
